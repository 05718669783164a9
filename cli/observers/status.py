"""``byoc status``: what is deployed — outputs, whether the secret has a value (never the
value), who may read it through which endpoint, and the service: desired and running tasks,
the rollout's state, healthy targets and the last stopped task's reason.

Read-only. The result is a ``Status`` that renders itself for people (``human``) and scripts
(``as_json``, whose shape is an API: keys are added, never renamed or removed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cli.core.session import Session, output_lines
from cli.observers.secret import SecretState, read_policy, secret_state
from cli.observers.service import ServiceState, service_state


@dataclass(frozen=True)
class Status:
    project: str
    region: str
    outputs: dict[str, Any]
    secret_arn: str
    secret: SecretState
    readers: list[str] | None
    vpc_endpoints: list[str] | None
    service: ServiceState | None

    def as_json(self) -> str:
        return json.dumps({
            "project": self.project,
            "region": self.region,
            "outputs": dict(self.outputs),
            "secret": {"arn": self.secret_arn, "has_value": self.secret.usable, "kms_key_id": self.secret.kms_key_id,
                       "scheduled_for_deletion": self.secret.deleted_date},
            "lockdown": {"locked": self.readers is not None, "readers": self.readers or [],
                         "vpc_endpoints": self.vpc_endpoints or []},
            "service": self.service.as_dict() if self.service else None,
        }, indent=2, sort_keys=True)

    def human(self) -> list[str]:
        lines = output_lines(self.outputs)
        problem = self.secret.problem(self.secret_arn)
        lines.append("Secret value: set" if problem is None else f"Secret value: NOT USABLE — {problem[0]}: {problem[1]}")
        if self.readers is not None:
            lines.append("Locked down: only " + ", ".join(self.readers) + " may read")
        else:
            lines.append("Locked down: no — run `byoc lockdown` after `byoc secret put`")
        if self.vpc_endpoints:
            lines.append(f"Reads only through VPC endpoint {', '.join(self.vpc_endpoints)}")
        if self.service is None:
            lines.append("Service: not found (run `byoc deploy`)")
        else:
            lines.append(f"Service: {self.service.running} of {self.service.desired} tasks running, rollout "
                         f"{self.service.rollout_state}, {self.service.healthy_targets} healthy targets")
            if self.service.last_stopped_reason:
                lines.append(f"Last stopped task: {self.service.last_stopped_reason}")
        return lines


def status(s: Session) -> Status:
    d = s.deployed()
    arn = d.outputs["byoc_secret_arn"]
    policy = read_policy(d.target, arn)
    service = None
    if d.outputs.get("ecs_cluster_name") and d.outputs.get("ecs_service_name"):
        service = service_state(d.target, d.outputs["ecs_cluster_name"], d.outputs["ecs_service_name"])
    return Status(project=str(s.project.root), region=d.region, outputs=dict(d.outputs), secret_arn=arn,
                  secret=secret_state(d.target, arn), readers=policy.readers, vpc_endpoints=policy.endpoints,
                  service=service)
