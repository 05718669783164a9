"""``byoc status``: what is deployed — outputs, whether the secret has a value (never the
value), who may read it through which endpoint, and the service: desired and running tasks,
the rollout's state, healthy targets and the last stopped task's reason."""

from __future__ import annotations

from typing import Any

from cli.aws import aws_error, aws_errors
from cli.lockdown import read_policy
from cli.rollout import service_state
from cli.session import Session


def status(s: Session) -> dict[str, Any]:
    values = s.deployed_inputs()
    region = values["aws_region"]
    target = s.target(region)
    target.require_credentials()
    outputs = s.outputs(s.terraform(region))
    arn = outputs.get("byoc_secret_arn")
    try:
        described = target.client("secretsmanager").describe_secret(SecretId=arn)
    except aws_errors() as exc:
        raise aws_error(exc, "describing the secret") from None
    has_value = any("AWSCURRENT" in stages for stages in (described.get("VersionIdsToStages") or {}).values())
    policy = read_policy(target, arn)
    state = None
    if outputs.get("ecs_cluster_name") and outputs.get("ecs_service_name"):
        state = service_state(target, outputs["ecs_cluster_name"], outputs["ecs_service_name"])
    return {
        "project": str(s.project.root),
        "region": region,
        "outputs": outputs,
        "secret": {"arn": arn, "has_value": has_value, "kms_key_id": described.get("KmsKeyId")},
        "lockdown": {"locked": policy.readers is not None, "readers": policy.readers or [],
                     "vpc_endpoints": policy.endpoints or []},
        "service": state.as_dict() if state else None,
    }
