"""``byoc status``: what is deployed — outputs, whether the secret has a value (never the
value), who may read it through which endpoint, and the service: desired and running tasks,
the rollout's state, healthy targets and the last stopped task's reason; which revision runs and
which key version its tasks hold; that the last change failed and was rolled back, when ECS did;
and AWSCURRENT when the running tasks do not hold it (stored but not deployed), with the command
that deploys it.

Read-only. The result is a ``Status`` that renders itself for people (``human``) and scripts
(``as_json``, whose shape is an API: keys are added, never renamed or removed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cli.core.aws import aws_error, aws_errors
from cli.core.config import deploy_command
from cli.core.session import Session, output_lines
from cli.observers.revisions import Revisions, read_revisions
from cli.observers.secret import SecretState, read_policy, secret_state
from cli.observers.service import ServiceState, active_service, service_state


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
    revisions: Revisions | None = None
    #: ``byoc deploy`` with what this project needs to re-deploy (the image, the environment).
    redeploy: str = "byoc deploy"

    @property
    def undeployed_key(self) -> str | None:
        """AWSCURRENT when tasks run and every one holds a pinned version other than it."""
        rev, current = self.revisions, self.secret.current_version
        if rev is None or not rev.running or current is None or not self.secret.usable:
            return None
        pinned = rev.keys
        return current if None not in pinned and "" not in pinned and current not in pinned else None

    def key_lines(self) -> list[str]:
        rev = self.revisions
        if rev is None or not rev.running:
            return []
        lines = []
        held = ", ".join(f"{r.revision} reads " + ("AWSCURRENT as it was when each task started (not pinned)"
                                                   if r.key_version == "" else f"key version {r.key_version}")
                         for r in rev.running if r.key_version is not None)
        if held:
            lines.append(f"Key: {held}")
        if rev.rolled_back:
            lines.append(f"LAST CHANGE FAILED AND WAS ROLLED BACK: ECS's circuit breaker took {rev.latest}"
                         f"{_key(rev.latest_key)} back; the service runs {rev.primary}. ECS: \"{rev.ecs_says}\"")
        elif rev.behind:
            lines.append(f"WARNING: the service runs {rev.primary}, not the newest revision {rev.latest}; "
                         "`byoc deploy` puts the stack's revision back on it.")
        current = self.undeployed_key
        if current is not None:
            held = ", ".join(sorted(str(k) for k in rev.keys))
            if rev.rolled_back and current == rev.latest_key:
                lines.append(f"WARNING: AWSCURRENT is version {current}, the key ECS rolled back; the running tasks "
                             f"hold {held}. `byoc secret rollback` makes that key current again (or store a good one "
                             "with `byoc secret put`).")
            else:
                lines.append(f"WARNING: AWSCURRENT is version {current}, which the running tasks do not hold (they "
                             f"hold {held}): it was stored but not deployed. Deploy it with `{self.redeploy} "
                             f"--secret-version-id {current}` (a failing key is rolled back by ECS).")
        return lines

    def as_json(self) -> str:
        return json.dumps({
            "project": self.project,
            "region": self.region,
            "outputs": dict(self.outputs),
            "secret": {"arn": self.secret_arn, "has_value": self.secret.usable, "kms_key_id": self.secret.kms_key_id,
                       "scheduled_for_deletion": self.secret.deleted_date,
                       "current_version": self.secret.current_version, "undeployed_current_version": self.undeployed_key},
            "revisions": self.revisions.as_dict() if self.revisions else None,
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
            lines.extend(self.key_lines())
            if self.service.last_stopped_reason:
                lines.append(f"Last stopped task: {self.service.last_stopped_reason}")
        return lines


def _key(version: str | None) -> str:
    return f" (key version {version})" if version else ""


def status(s: Session) -> Status:
    d = s.deployed()
    arn = d.outputs["byoc_secret_arn"]
    policy = read_policy(d.target, arn)
    service = revisions = None
    if d.outputs.get("ecs_cluster_name") and d.outputs.get("ecs_service_name"):
        cluster, name = d.outputs["ecs_cluster_name"], d.outputs["ecs_service_name"]
        service = service_state(d.target, cluster, name)
        if service is not None:
            ecs = d.target.client("ecs")
            try:
                svc = active_service(ecs, cluster, name)
                revisions = read_revisions(ecs, svc) if svc else None
            except aws_errors() as exc:
                raise aws_error(exc, "reading the service's task definitions") from None
    return Status(project=str(s.project.root), region=d.region, outputs=dict(d.outputs), secret_arn=arn,
                  secret=secret_state(d.target, arn), readers=policy.readers, vpc_endpoints=policy.endpoints,
                  service=service, revisions=revisions, redeploy=deploy_command(s.project, d.values))
