"""``byoc lockdown``: phase two — only the task and execution roles (plus ``--principal``) may
read the secret, retried while IAM propagates, then verified on the policy read back from AWS."""

from __future__ import annotations

import re
from typing import Any, Callable

from cli.aws import AwsTarget, aws_error
from cli.config import check
from cli.errors import ByocError, InputError
from cli.policy import LockdownReport, SecretPolicy, check_lockdown
from cli.session import Session, say
from stacks.inputs import PRINCIPAL_ARN_RE

#: The input lockdown owns: the principals the secret policy lets read.
READERS = "app_reader_principal_arns"
#: What AWS says while a just-created role is not yet visible to the service (IAM is
#: eventually consistent); worth a retry, unlike any other failure.
_PROPAGATION = re.compile(r"invalid principal|MalformedPolicyDocument.*principal|principal.*does not exist",
                          re.IGNORECASE)
RETRY_DELAYS = (5, 10, 20, 40)


def check_principals(principals: list[str]) -> None:
    for arn in principals:
        if not re.fullmatch(PRINCIPAL_ARN_RE, arn):
            raise InputError(f"--principal: {arn!r} is not an IAM principal ARN; give one such as "
                             "arn:aws:iam::123456789012:role/reader-role.")


def lockdown(s: Session, principals: list[str], *, auto_approve: bool) -> LockdownReport:
    check_principals(principals)
    values = dict(s.deployed_inputs())
    region = values["aws_region"]
    tf = s.prepare(region)
    outputs = s.outputs(tf)
    task_role, execution_role = outputs["ecs_task_role_arn"], outputs["ecs_execution_role_arn"]
    readers = list(dict.fromkeys([task_role, execution_role, *principals]))
    values[READERS] = readers
    check(values)
    say("Readers: " + ", ".join(readers))

    approved = False

    def attempt() -> None:
        nonlocal approved
        if auto_approve or approved:  # nobody is asked (again): plan and apply in one process
            s.project.save_inputs(values)
            if s.apply_now(tf, values, show_plan=not approved).empty:
                say("No changes: the secret is already locked down to these readers.")
            return
        summary, plan_file = s.plan(tf, values)
        if summary.empty:
            plan_file.unlink(missing_ok=True)
            s.project.save_inputs(values)
            say("No changes: the secret is already locked down to these readers.")
            return
        s.approve(summary, auto_approve, "Lock the secret down to these readers?")
        approved = True
        s.project.save_inputs(values)
        s.apply(tf, plan_file, summary)

    retry_on_propagation(attempt, sleep=s.sleep)
    report = verify_lockdown(s, outputs, region, principals)
    for line in describe_lockdown(report):
        say(line)
    if report.problems:
        raise ByocError("lockdown verification failed: " + "; ".join(report.problems) +
                        ". Check the secret policy with `byoc status` and re-run `byoc lockdown`.")
    return report


def retry_on_propagation(attempt: Callable[[], None], *, sleep: Callable[[float], None]) -> None:
    """Run ``attempt``; when AWS rejects a just-created role as a principal (IAM is eventually
    consistent), say so and try again after 5, 10, 20, 40 s. Any other failure is final."""
    for n, delay in enumerate((*RETRY_DELAYS, None)):
        try:
            attempt()
            return
        except ByocError as exc:
            if delay is None or not _PROPAGATION.search(f"{exc}\n{exc.detail}"):
                raise
            say(f"AWS does not accept a new role as a principal yet (IAM propagation); retrying in {delay}s "
                f"({n + 2}/{len(RETRY_DELAYS) + 1}) ...")
            sleep(delay)


def read_policy(target: AwsTarget, secret_arn: str) -> SecretPolicy:
    try:
        resp = target.client("secretsmanager").get_resource_policy(SecretId=secret_arn)
    except Exception as exc:
        raise aws_error(exc, "reading the secret policy") from None
    return SecretPolicy.parse(resp.get("ResourcePolicy"))


def verify_lockdown(s: Session, outputs: dict[str, Any], region: str, principals: list[str]) -> LockdownReport:
    policy = read_policy(s.target(region), outputs["byoc_secret_arn"])
    return check_lockdown(policy, execution_role=outputs["ecs_execution_role_arn"],
                          task_role=outputs["ecs_task_role_arn"], expected_vpce=outputs["secretsmanager_vpce_id"],
                          extra_readers=principals)


def describe_lockdown(report: LockdownReport) -> list[str]:
    lines = ["Secret policy (read back from AWS):"]
    if report.locked:
        lines.append("  may read PINECONE_API_KEY: " + ", ".join(report.readers))
    else:
        lines.append("  not locked to principals: any principal with IAM permission may read")
    if report.endpoints:
        lines.append(f"  only through VPC endpoint {', '.join(report.endpoints)}; reads from anywhere else are denied")
    else:
        lines.append("  reads are NOT restricted to the VPC endpoint")
    return lines
