"""`byoc demo`: the whole two-phase flow against the embedded emulator, every step verified.

It runs the same operations as the commands (``cli/actions/``: deploy, secret, lockdown,
destroy; ``cli/observers/status.py``) in a fresh project folder, with
a generated dummy API key, and checks what a careful operator would check after each step.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import typer

from cli.actions import deploy, destroy, lockdown, secret
from cli.actions.rollout import RollOptions, roll
from cli.core.evaluator import Evaluator, ensure
from cli.observers import status, verdicts
from cli.observers.doctor.diagnose import diagnose
from cli.observers.service import RolloutFailed
from cli.core.config import Project, resolve
from cli.emulator import running
from cli.emulator.ecs_tasks import PHASE_ENV
from cli.core.errors import ByocError
from cli.core.session import Session, print_outputs
from cli.core.synth import ensure_synth

DEMO_IMAGE = "public.ecr.aws/nginx/nginx:1.27"


class Steps:
    def __init__(self) -> None:
        self.n = 0
        self.start = time.monotonic()

    def __call__(self, title: str) -> None:
        self.n += 1
        typer.secho(f"\n== {self.n}. {title}", bold=True)

    def ok(self, text: str) -> None:
        typer.secho(f"   ✓ {text}", fg=typer.colors.GREEN)

    def note(self, text: str) -> None:
        typer.echo(f"     {text}")


def run_demo(project_dir: Path | None, mirror: Path | None) -> None:
    step = Steps()
    with ExitStack() as stack:
        if project_dir is None:
            project_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="byoc-demo-")))
        project_dir.mkdir(parents=True, exist_ok=True)
        step("Start the embedded AWS emulator (moto on 127.0.0.1; policies judged by its evaluator)")
        # Half-second task phases (ECS's own take minutes): every rollout of the demo is the
        # emulator's model of one, and nothing in it depends on the phase's length.
        phase = {PHASE_ENV: os.environ.get(PHASE_ENV) or "0.5"}
        emu = stack.enter_context(running(say=step.note))
        saved_env = {k: os.environ.get(k) for k in (*emu.env(), PHASE_ENV)}
        os.environ.update({**emu.env(), **phase})
        stack.callback(_restore_env, saved_env)
        info = emu.info()
        if info["policies"] != "evaluated":
            raise ByocError(f"demo: the emulator does not evaluate policies ({info['why_not']}); the demo shows them "
                            "judged, so it stops here")
        step.ok(f"listening on {emu.endpoint_url}; policies evaluated by {info['evaluator']}")

        s = Session(Project(project_dir), endpoint_url=emu.endpoint_url, provider_mirror=mirror,
                         command="demo")
        step("Synthesize the stack")
        result = ensure_synth(s.project)
        step.ok(f"cdktf.out/stacks/byoc/cdk.tf.json ({'cached' if result.cached else f'{result.seconds:.1f}s'})")

        step("Deploy (phase one: terraform init, plan, apply)")
        values = resolve(s.project, {"container_image": DEMO_IMAGE})
        outputs = deploy.deploy(s, values, auto_approve=True)
        for name in ("byoc_secret_arn", "ecs_task_role_arn", "ecs_execution_role_arn", "secretsmanager_vpce_id"):
            if not outputs.get(name):
                raise ByocError(f"demo: the deploy produced no {name} output")
        step.ok("deployed; secret shell created without a value; the service waits for it with 0 tasks")

        step("Store a dummy API key (byoc secret put): the service's tasks start with it")
        version = secret.put_secret(s, "demo-" + secrets.token_urlsafe(24))
        state_text = s.project.state_file.read_text()
        if "demo-" in state_text:
            raise ByocError("demo: the secret value reached the Terraform state")
        step.ok(f"stored as version {version}; the value is not in the Terraform state; tasks running")

        step("Lock the secret down (phase two: byoc lockdown)")
        report = lockdown.lockdown(s, [], auto_approve=True)
        for role in ("ecs_task_role_arn", "ecs_execution_role_arn"):
            if outputs[role] not in report.readers:
                raise ByocError(f"demo: the secret policy does not name {outputs[role]}")
        step.ok("the policy names the task and execution roles and only the VPC endpoint path; new tasks "
                "started under it")

        step("Who may read: the policies AWS holds, judged by an evaluator that is not byoc")
        with Evaluator(ensure(say=step.note)) as judge:
            cells = verdicts.reader_matrix(s.target(values["aws_region"]), outputs, judge)
        for cell in cells:
            step.note(f"{cell.who:<34} {cell.action:<15} {cell.path:<32} {cell.decision:<8} "
                      f"{'; '.join(cell.decided_by)}")
        readers = ("execution role", "task role")
        # kms:Decrypt through Secrets Manager only ever follows a read Secrets Manager allowed; the
        # key trusts this account (its IAM policies decide), never another.
        allowed = {(who, "GetSecretValue", f"through {outputs['secretsmanager_vpce_id']}") for who in readers} | {
            (who, "kms:Decrypt", "via Secrets Manager") for who in (*readers, "an admin role of this account")}
        wrong = [c for c in cells if ((c.who, c.action, c.path) in allowed) != (c.decision == "allowed")]
        if wrong:
            raise ByocError(f"demo: the evaluated policies do not say what the lockdown promises: {wrong}")
        step.ok("only the execution and task roles read, only through the endpoint; every other role, of this account "
                "or another, is denied the read")

        step("The seed's step 5 taken literally: the reader list narrowed to the task role by hand")
        narrowed = _task_role_only(s, outputs)
        try:
            roll(s, s.deployed_inputs(), outputs, RollOptions(timeout=120), why="the next deployment")
        except RolloutFailed as exc:
            step.ok(f"the next deployment's tasks stop: {exc.reason}")
        else:
            raise ByocError("demo: tasks started although the policy shuts out the execution role")
        report = diagnose(s)
        failing = [c for c in report.live or [] if c.result == "fail"]
        for check in failing:
            step.note(f"doctor: FAIL {check.name}: {check.detail}")
        if not any("is not on the reader list" in c.detail for c in failing):
            raise ByocError(f"demo: byoc doctor did not name the execution role's absence ({narrowed})")
        step.ok("byoc doctor exits 1 and names the execution role missing from the readers (root cause 1)")

        step("byoc lockdown repairs it: the execution role back on the list, new tasks started under it")
        lockdown.lockdown(s, [], auto_approve=True)
        step.ok("repaired and proven by new tasks")

        step("Verify: a further plan shows no changes")
        tf = s.terraform(values["aws_region"])
        summary, plan_file = s.plan(tf, s.project.saved_inputs())
        plan_file.unlink(missing_ok=True)
        if not summary.empty:
            raise ByocError("demo: the plan after lockdown is not empty: " + "; ".join(summary.lines()))
        step.ok("no changes")

        step("Status: the seed's step 6, the service healthy behind its load balancer")
        info = status.status(s)
        if not info.secret.usable or info.readers is None:
            raise ByocError(f"demo: status does not show a locked secret with a value: {info.as_json()}")
        service = info.service
        if service is None or not service.desired or service.running != service.desired \
                or service.healthy_targets < service.desired:
            raise ByocError(f"demo: the service's tasks are not all running and healthy: {service}")
        print_outputs(info.outputs)
        step.ok(f"secret has a value; locked down; {service.running} of {service.desired} tasks running, "
                f"{service.healthy_targets} healthy targets")

        step("Destroy")
        destroy.destroy(s, auto_approve=True, force_delete_secret=True)
        if s.project.has_deployment():
            raise ByocError("demo: resources remain in the state after destroy")
        step.ok("everything destroyed")

        step("Stop the emulator")
    step.ok(f"demo passed in {time.monotonic() - step.start:.0f}s")


def _restore_env(saved: dict[str, str | None]) -> None:
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _task_role_only(s: Session, outputs: dict) -> str:
    """What an operator following seed 000 step 5 by hand writes (`aws secretsmanager
    put-resource-policy`): the stack's two Deny statements, the reader list holding the task role
    only. Returns the execution role it leaves out."""
    import json

    from constructs_lib.catalog import SECRET_READ_ACTION

    arn = outputs["byoc_secret_arn"]
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": SECRET_READ_ACTION, "Resource": arn}
    policy = {"Version": "2012-10-17", "Statement": [
        {**deny, "Sid": "DenyReadOutsideVpcEndpoint",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": outputs["secretsmanager_vpce_id"]}}},
        {**deny, "Sid": "DenyReadToUnlistedPrincipals",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [outputs["ecs_task_role_arn"]]}}}]}
    s.target(s.deployed_inputs()["aws_region"]).client("secretsmanager").put_resource_policy(
        SecretId=arn, ResourcePolicy=json.dumps(policy))
    return outputs["ecs_execution_role_arn"]
