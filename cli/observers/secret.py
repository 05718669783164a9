"""The secret as byoc reads it (read-only, never its value): whether it has a value a task can
read, and its resource policy — who may read, through which endpoint.

"Has a value" is answered here only, for every command: the secret exists, is not scheduled
for deletion (``DeletedDate``: Secrets Manager refuses every read of such a secret, "You can't
perform this operation on the secret because it was marked for deletion"), and has a version
labelled AWSCURRENT (what ``valueFrom`` reads). ``DescribeSecret`` answers all three; the value
itself is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.policy import LockdownReport, SecretPolicy, check_lockdown

CURRENT = "AWSCURRENT"


@dataclass(frozen=True)
class SecretState:
    exists: bool
    arn: str | None = None
    #: ``DeletedDate`` of a secret scheduled for deletion (restorable until then), else None.
    deleted_date: str | None = None
    #: The version labelled AWSCURRENT, if any.
    current_version: str | None = None
    kms_key_id: str | None = None
    #: version id -> its staging labels.
    stages: dict[str, list[str]] | None = None

    @property
    def usable(self) -> bool:
        """Whether a task start can read a value from it."""
        return self.exists and self.deleted_date is None and self.current_version is not None

    def problem(self, secret_id: str) -> tuple[str, str] | None:
        """(why a task start cannot read it, the command that mends it); None when usable."""
        if not self.exists:
            return "the secret does not exist", "run `byoc deploy` to create it"
        if self.deleted_date is not None:
            return (f"the secret is scheduled for deletion ({self.deleted_date}) and cannot be read",
                    f"restore it with `aws secretsmanager restore-secret --secret-id {self.arn or secret_id}`")
        if self.current_version is None:
            return "the secret has no current value", "store it with `byoc secret put` (it writes {\"PINECONE_API_KEY\": \"...\"})"
        return None


def secret_state(target: AwsTarget, secret_id: str) -> SecretState:
    """The secret's state by ``DescribeSecret`` (ResourceNotFoundException: it does not exist)."""
    from botocore.exceptions import ClientError

    try:
        described = target.client("secretsmanager").describe_secret(SecretId=secret_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return SecretState(exists=False)
        raise aws_error(exc, "describing the secret") from None
    except aws_errors() as exc:
        raise aws_error(exc, "describing the secret") from None
    stages = {v: list(labels) for v, labels in (described.get("VersionIdsToStages") or {}).items()}
    deleted = described.get("DeletedDate")
    return SecretState(exists=True, arn=described.get("ARN"), deleted_date=str(deleted) if deleted else None,
                       current_version=next((v for v, labels in stages.items() if CURRENT in labels), None),
                       kms_key_id=described.get("KmsKeyId"), stages=stages)


def has_version(target: AwsTarget, secret_id: str, version_id: str) -> bool:
    """Whether the secret holds this version, with staging labels or without (a deprecated
    version stays readable until Secrets Manager deletes it): ListSecretVersionIds with
    ``IncludeDeprecated``, every page (``NextToken``; API reference, ListSecretVersionIds)."""
    kwargs = {"SecretId": secret_id, "IncludeDeprecated": True, "MaxResults": 100}
    client = target.client("secretsmanager")
    try:
        while True:
            page = client.list_secret_version_ids(**kwargs)
            if any(v.get("VersionId") == version_id for v in page.get("Versions", [])):
                return True
            if not page.get("NextToken"):
                return False
            kwargs["NextToken"] = page["NextToken"]
    except aws_errors() as exc:
        raise aws_error(exc, "listing the secret's versions") from None


def read_policy(target: AwsTarget, secret_arn: str) -> SecretPolicy:
    try:
        resp = target.client("secretsmanager").get_resource_policy(SecretId=secret_arn)
    except aws_errors() as exc:
        raise aws_error(exc, "reading the secret policy") from None
    return SecretPolicy.parse(resp.get("ResourcePolicy"))


def lockdown_report(target: AwsTarget, outputs: dict[str, Any], principals: list[str]) -> LockdownReport:
    """Everything ``byoc lockdown`` promises, checked on the policy read back from AWS."""
    policy = read_policy(target, outputs["byoc_secret_arn"])
    return check_lockdown(policy, execution_role=outputs["ecs_execution_role_arn"],
                          task_role=outputs["ecs_task_role_arn"], expected_vpce=outputs["secretsmanager_vpce_id"],
                          extra_readers=principals)


def describe_lockdown(report: LockdownReport) -> list[str]:
    lines = ["Secret policy (read back from AWS):"]
    if report.locked:
        lines.append("  may read PINECONE_API_KEY: " + ", ".join(report.readers))
    else:
        # Of this account only: a principal of another account needs an Allow in the secret policy
        # (cross-account rule, cli/core/policy.py), which byoc never writes.
        lines.append("  not locked to principals: any principal of this account with IAM permission may read")
    if report.endpoints:
        lines.append(f"  only through VPC endpoint {', '.join(report.endpoints)}; reads from anywhere else are denied")
    else:
        lines.append("  reads are NOT restricted to the VPC endpoint")
    return lines
