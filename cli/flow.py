"""The seed README's two-phase flow as operations: deploy, secret put, lockdown, status, destroy.

Commands in cli/main.py parse arguments and call these; ``byoc demo`` calls the same ones
against the embedded emulator, so the demo exercises exactly what users run.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import typer

from cli.aws import AwsTarget, aws_error
from cli.config import Project, check
from cli.errors import ByocError, InputError
from cli.policy import LockdownReport, SecretPolicy, check_lockdown
from cli.progress import ApplyProgress, PlanSummary, summarize_plan
from cli.synth import ensure_synth
from cli.terraform import Terraform, terraform_binary
from stacks import SECRET_JSON_KEY
from stacks.inputs import PRINCIPAL_ARN_RE
from stacks.pinecone import API_KEY_ENV

READERS = "app_reader_principal_arns"
#: What AWS says while a just-created role is not yet visible to the service (IAM is
#: eventually consistent); worth a retry, unlike any other failure.
_PROPAGATION = re.compile(r"invalid principal|MalformedPolicyDocument.*principal|principal.*does not exist",
                          re.IGNORECASE)
RETRY_DELAYS = (5, 10, 20, 40)


def say(text: str = "") -> None:
    typer.echo(text)


@dataclass
class Session:
    """One command's view of a project: where, which AWS, how to get the provider."""

    project: Project
    endpoint_url: str | None = None
    provider_mirror: Path | None = None
    command: str = "byoc"
    confirm: Callable[[str], bool] = field(default=lambda prompt: typer.confirm(prompt, default=False))
    sleep: Callable[[float], None] = time.sleep

    def target(self, region: str) -> AwsTarget:
        return AwsTarget(region=region, endpoint_url=self.endpoint_url)

    def terraform(self, region: str) -> Terraform:
        return Terraform(self.project.stack_dir, self.target(region).terraform_env(),
                         log_path=self.project.log_file(self.command))

    # -- shared steps ---------------------------------------------------------------------
    def prepare(self, region: str) -> Terraform:
        """Synth when something changed, and ``terraform init`` when the folder needs it."""
        terraform_binary()  # fail before any work when terraform is missing
        self.target(region).require_credentials()
        if self.project.pinecone is not None and not os.environ.get(API_KEY_ENV, "").strip():
            # The Pinecone provider reads its key from the environment only: never argv, never state.
            raise InputError(f"{API_KEY_ENV}: not set, and byoc.toml's [pinecone] manages indexes with the Pinecone "
                             f"provider, which reads the key from the environment: export {API_KEY_ENV} "
                             "(e.g. `read -s PINECONE_API_KEY && export PINECONE_API_KEY`), never pass it as an argument.")
        if self.project.backend is not None and _has_resources(self.project.state_file):
            raise ByocError(f"the state is still local ({self.project.state_file.name}) but byoc.toml names the "
                            f"S3 backend {self.project.backend.url}: run `byoc backend migrate` first.")
        result = ensure_synth(self.project)
        if result.cached:
            say("Synth: up to date (nothing changed since the last synth).")
        else:
            say(f"Synth: wrote {self.project.stack_dir.relative_to(self.project.root)} in {result.seconds:.1f}s.")
        tf = self.terraform(region)
        if not result.cached or not (self.project.stack_dir / ".terraform").is_dir():
            if self.project.pinecone is not None:
                say("Pinecone indexes: managed with pinecone-io/pinecone, which terraform init downloads from "
                    "registry.terraform.io (needs registry access).")
            say("Terraform: init ...")
            tf.init(self.provider_mirror, on_notice=say)
        return tf

    def plan(self, tf: Terraform, values: dict[str, Any], *, destroy: bool = False) -> tuple[PlanSummary, Path]:
        self.project.state_dir.mkdir(parents=True, exist_ok=True)
        var_file = self.project.state_dir / "pending.tfvars.json"
        var_file.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        plan_file = self.project.state_dir / "byoc.tfplan"
        args = ["plan", "-json", "-input=false", "-lock-timeout=0s", f"-var-file={var_file}", f"-out={plan_file}"]
        if destroy:
            args.append("-destroy")
        try:
            summary = summarize_plan(tf.stream(*args, on_notice=say))
        finally:
            var_file.unlink(missing_ok=True)
        return summary, plan_file

    def apply(self, tf: Terraform, plan_file: Path, summary: PlanSummary) -> None:
        progress = ApplyProgress(summary.total)
        try:
            tf.stream("apply", "-json", "-input=false", "-lock-timeout=0s", str(plan_file),
                      on_message=progress.handle, on_notice=say)
        finally:
            plan_file.unlink(missing_ok=True)
        progress.finish()

    def approve(self, summary: PlanSummary, auto_approve: bool, question: str) -> None:
        for line in summary.lines():
            say(line)
        self.ask(question, auto_approve)

    def ask(self, question: str, auto_approve: bool) -> None:
        """Go on only with a yes (or --auto-approve); no answer (no terminal) is a no."""
        if auto_approve:
            return
        try:
            ok = self.confirm(question)
        except (typer.Abort, EOFError):
            ok = False
        if not ok:
            raise ByocError("Nothing was changed (not confirmed). Pass --auto-approve to skip the question.")

    def outputs(self, tf: Terraform) -> dict[str, Any]:
        """The deployment's outputs. With the local backend they are read from the state file
        itself (what `terraform output` does, without starting terraform: ~1 s saved on
        every lockdown/status/secret put)."""
        local = self.project.local_outputs()
        if local is not None:
            return local
        if not (self.project.stack_dir / ".terraform").is_dir():  # e.g. cdktf.out was deleted
            ensure_synth(self.project)
            tf.init(self.provider_mirror, on_notice=say)
        return tf.outputs()

    def deployed_inputs_raw(self) -> dict[str, Any]:
        saved = self.project.saved_inputs()
        if saved is None:
            raise ByocError(f"no deployment inputs found in {self.project.state_dir}: run `byoc deploy` first.")
        return saved

    def deployed_inputs(self) -> dict[str, Any]:
        saved = self.project.saved_inputs()
        if saved is None or not self.project.has_deployment():
            raise ByocError(f"no deployment found in {self.project.root}: run `byoc deploy` first "
                            "(or pass --project-dir to the project you deployed).")
        return saved


# -- deploy ------------------------------------------------------------------------------

def network_warnings(values: dict[str, Any]) -> list[str]:
    """What the chosen network options cut off, said before anything is planned."""
    if values.get("nat_mode") != "none":
        return []
    region = values.get("pinecone_privatelink_region") or ""
    data_plane = (f"over PrivateLink (pinecone_privatelink_region = {region})" if region else
                  "only over PrivateLink, and pinecone_privatelink_region is not set: the tasks cannot reach "
                  "Pinecone at all")
    return [f"WARNING: nat_mode = none: the tasks have no internet access. Pinecone's control plane (index "
            f"management, api.pinecone.io) is on the public internet and unreachable from them; only its data "
            f"plane (index hosts) is reachable, {data_plane}."]


def deploy(s: Session, values: dict[str, Any], *, auto_approve: bool) -> dict[str, Any]:
    for warning in network_warnings(values):
        say(warning)
    tf = s.prepare(values["aws_region"])
    say("Terraform: plan ...")
    summary, plan_file = s.plan(tf, values)
    if summary.empty:
        say("No changes: the deployment already matches these inputs.")
        plan_file.unlink(missing_ok=True)
    else:
        s.approve(summary, auto_approve, "Apply these changes?")
        # From here on these are the inputs of the last deploy (even if apply stops midway,
        # destroy and lockdown must see what was being applied).
        s.project.save_inputs(values)
        say("Terraform: apply ...")
        s.apply(tf, plan_file, summary)
    outputs = s.outputs(tf)
    print_outputs(outputs)
    if not values.get(READERS):
        say("")
        say("Next: store the API key (`byoc secret put`), then run `byoc lockdown` to limit reads to the "
            "task and execution roles.")
    return outputs


def print_outputs(outputs: dict[str, Any]) -> None:
    say("Outputs:")
    for name in sorted(outputs):
        value = outputs[name]
        shown = ", ".join(value) if isinstance(value, list) else ("(none)" if value is None else value)
        say(f"  {name} = {shown}")


# -- secret put ----------------------------------------------------------------------------

def check_secret_value(value: str) -> str:
    """The key without surrounding whitespace (a pasted newline is not part of it); never empty."""
    value = value.strip()
    if not value:
        raise InputError("secret value: the input was empty or only whitespace; pipe the key on stdin "
                         "(byoc secret put < key.txt) or type it at the prompt.")
    return value


def put_secret(s: Session, value: str) -> str:
    """Store {"PINECONE_API_KEY": value}; returns the new version id. Never prints the value."""
    value = check_secret_value(value)
    values = s.deployed_inputs()
    tf = s.terraform(values["aws_region"])
    target = s.target(values["aws_region"])
    target.require_credentials()
    arn = s.outputs(tf).get("byoc_secret_arn")
    if not arn:
        raise ByocError("the deployment has no byoc_secret_arn output: run `byoc deploy` and try again.")
    try:
        resp = target.client("secretsmanager").put_secret_value(
            SecretId=arn, SecretString=json.dumps({SECRET_JSON_KEY: value}))
    except Exception as exc:  # botocore errors -> one line
        raise aws_error(exc, "storing the secret value") from None
    return resp.get("VersionId", "?")


# -- lockdown ------------------------------------------------------------------------------

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
        summary, plan_file = s.plan(tf, values)
        if summary.empty:
            plan_file.unlink(missing_ok=True)
            s.project.save_inputs(values)
            say("No changes: the secret is already locked down to these readers.")
            return
        if not approved:
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


# -- status --------------------------------------------------------------------------------

def status(s: Session) -> dict[str, Any]:
    values = s.deployed_inputs()
    region = values["aws_region"]
    target = s.target(region)
    target.require_credentials()
    outputs = s.outputs(s.terraform(region))
    arn = outputs.get("byoc_secret_arn")
    try:
        described = target.client("secretsmanager").describe_secret(SecretId=arn)
    except Exception as exc:
        raise aws_error(exc, "describing the secret") from None
    has_value = any("AWSCURRENT" in stages for stages in (described.get("VersionIdsToStages") or {}).values())
    policy = read_policy(target, arn)
    return {
        "project": str(s.project.root),
        "region": region,
        "outputs": outputs,
        "secret": {"arn": arn, "has_value": has_value, "kms_key_id": described.get("KmsKeyId")},
        "lockdown": {"locked": policy.readers is not None, "readers": policy.readers or [],
                     "vpc_endpoints": policy.endpoints or []},
    }


# -- destroy -------------------------------------------------------------------------------

def destroy(s: Session, *, auto_approve: bool, force_delete_secret: bool) -> None:
    values = dict(s.deployed_inputs())
    tf = s.prepare(values["aws_region"])
    # Settings that must be in AWS/state before the destroy; applied only after the user said yes.
    before: dict[str, Any] = {}
    if force_delete_secret and values.get("secret_recovery_window_days") != 0:
        # The recovery window used at deletion is the one in state: record 0 first (a state-only
        # change, no AWS call).
        before["secret_recovery_window_days"] = 0
    if values.get("alb_deletion_protection", True) is not False:
        # AWS refuses to delete a protected load balancer, and `terraform destroy` would stop
        # there with everything around it already gone: turn the protection off first.
        before["alb_deletion_protection"] = False
    summary, plan_file = s.plan(tf, values, destroy=True)
    window = 0 if "secret_recovery_window_days" in before else values.get("secret_recovery_window_days", 7)
    if window == 0:
        say("The secret and all its versions are deleted at once (no recovery window).")
    else:
        say(f"The secret is scheduled for deletion with a {window}-day recovery window: restore it with "
            "`aws secretsmanager restore-secret`, or pass --force-delete-secret to delete it at once.")
    s.approve(summary, auto_approve, "Destroy these resources?")
    if before:
        plan_file.unlink(missing_ok=True)  # stale once the settings below are applied
        values.update(before)
        prep, prep_file = s.plan(tf, values)
        # In-place updates only: the two settings, and what reads the secret's attributes (its
        # policy documents are re-read after the secret changes, so their users show as updates).
        # A create or replace means the deployment is behind this version of the stack, and
        # building resources only to destroy them is not what was approved.
        unexpected = [f"{action} {addr}" for action, addr in prep.changes if action != "update"]
        if unexpected:
            prep_file.unlink(missing_ok=True)
            raise ByocError("nothing was destroyed: the deployment differs from this version of the stack ("
                            + ", ".join(unexpected[:3]) + (", ..." if len(unexpected) > 3 else "")
                            + "); run `byoc deploy` first, then `byoc destroy`.")
        s.project.save_inputs(values)
        if prep.empty:
            prep_file.unlink(missing_ok=True)
        else:
            say("Before destroying: " + ", ".join(
                {"alb_deletion_protection": "turning off the load balancer's deletion protection",
                 "secret_recovery_window_days": "setting the secret's recovery window to 0"}[k] for k in before) + ".")
            s.apply(tf, prep_file, prep)
        summary, plan_file = s.plan(tf, values, destroy=True)
    s.apply(tf, plan_file, summary)
    s.project.inputs_file.unlink(missing_ok=True)
    say("Destroyed.")


# -- remote state ----------------------------------------------------------------------------

def _has_resources(state_file: Path) -> bool:
    try:
        return bool(json.loads(state_file.read_text()).get("resources"))
    except (OSError, ValueError):
        return False


def bootstrap_backend(s: Session, *, auto_approve: bool) -> list[str]:
    """Create (or check and complete) the state bucket named in byoc.toml: versioning on,
    encrypted by default (SSE-KMS with backend.kms_key_id, else SSE-S3), public access blocked,
    bucket-owner-enforced, HTTPS only. Safe to run again."""
    backend = s.project.backend
    if backend is None:
        raise InputError("backend: byoc.toml has no [backend] table; add one with bucket and region "
                         "(see the README's remote state section).")
    target = s.target(backend.region)
    target.require_credentials()
    s3 = target.client("s3")
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=backend.bucket)
        exists = True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("403", "AccessDenied"):
            raise ByocError(f"the bucket {backend.bucket} exists but is not yours (or not readable): choose "
                            "another backend.bucket in byoc.toml.") from None
        exists = False
    verb = "Check and complete the settings of" if exists else "Create"
    s.ask(f"{verb} the state bucket {backend.bucket} in {backend.region}?", auto_approve)
    done = []
    try:
        if not exists:
            kwargs = {} if backend.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": backend.region}}
            s3.create_bucket(Bucket=backend.bucket, ObjectOwnership="BucketOwnerEnforced", **kwargs)
            done.append(f"created s3://{backend.bucket}")
        s3.put_public_access_block(Bucket=backend.bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        done.append("public access blocked")
        s3.put_bucket_versioning(Bucket=backend.bucket, VersioningConfiguration={"Status": "Enabled"})
        done.append("versioning on (every state version kept)")
        rule = ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": backend.kms_key_id} if backend.kms_key_id
                else {"SSEAlgorithm": "AES256"})
        s3.put_bucket_encryption(Bucket=backend.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": True}]})
        done.append("default encryption " + ("SSE-KMS" if backend.kms_key_id else "SSE-S3"))
        s3.put_bucket_policy(Bucket=backend.bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": [f"arn:aws:s3:::{backend.bucket}", f"arn:aws:s3:::{backend.bucket}/*"],
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        done.append("HTTPS only")
    except Exception as exc:
        raise aws_error(exc, f"preparing the state bucket {backend.bucket}") from None
    return done


def migrate_backend(s: Session, *, auto_approve: bool) -> int:
    """Move the local state into the S3 backend; returns the number of resources moved."""
    backend = s.project.backend
    if backend is None:
        raise InputError("backend: byoc.toml has no [backend] table; add one before migrating.")
    local = s.project.state_file
    if not _has_resources(local):
        raise ByocError(f"there is no local state with resources at {local.name}: nothing to migrate.")
    resources = sum(len(r.get("instances", [])) for r in json.loads(local.read_text())["resources"])
    values = s.deployed_inputs_raw()
    target = s.target(values.get("aws_region", backend.region))
    target.require_credentials()
    s.ask(f"Move the state ({resources} resource instances) from {local.name} to {backend.url}?", auto_approve)
    ensure_synth(s.project)
    tf = s.terraform(values.get("aws_region", backend.region))
    say(f"Terraform: init -migrate-state ({local.name} -> {backend.url}) ...")
    tf.init(s.provider_mirror, extra=("-migrate-state", "-force-copy"), on_notice=say)
    moved = tf.run("state", "list").stdout.split()
    if len(moved) < len([r for r in json.loads(local.read_text())["resources"] if r.get("mode") == "managed"]):
        raise ByocError(f"the state in {backend.url} lists {len(moved)} resources, fewer than the local state: "
                        f"the local file {local.name} is kept; check the log {s.project.log_file(s.command)}.")
    backup = local.with_name(local.name + ".migrated")
    local.replace(backup)
    say(f"Moved to {backend.url}; the local copy is kept as {backup.name}.")
    return resources
