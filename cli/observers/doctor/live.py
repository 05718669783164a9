"""Live checks: the deployed stack, read with boto3. Read-only.

The order is the path a task start takes (AWS's runbook ``AWSSupport-TroubleshootECSTaskFailedToStart``
and the ECS guide "Verifying stopped task connectivity" walk it the same way): the network from
the task's subnets to the endpoints (``network``), who may read the secret and decrypt it
(``access``, then AWS's own evaluator in ``evaluator``), then what ECS did with it (``runtime``),
and last the posture (``posture``: rotation, flow logs, retention).

Severity: FAIL only for what stops a task starting, breaks the running service or exposes the
key; what only weakens the posture is a WARN, so doctor exits 0 on it. Each check is one question
with its fix; one that cannot be answered (an AWS error) is that check's failure — a WARN for a
posture check — never the run's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

from cli.observers.doctor import FAIL, WARN, Check
from cli.observers.service import active_service
from cli.observers.vpc import NetworkPath


@dataclass
class Deployed:
    """The deployment doctor looks at: its outputs, the inputs it was applied with, and the AWS
    reads several checks share (each made once)."""

    target: Any
    outputs: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    #: ``--check-value``: read the secret's plaintext to check its JSON key (a CloudTrail read).
    check_value: bool = False

    def client(self, service: str):
        return self.target.client(service)

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def account(self) -> str:
        return self.outputs["ecs_task_role_arn"].split(":")[4]

    @cached_property
    def service(self) -> dict | None:
        return active_service(self.client("ecs"), self.outputs["ecs_cluster_name"], self.outputs["ecs_service_name"])

    @property
    def _awsvpc(self) -> dict:
        return ((self.service or {}).get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}

    @cached_property
    def network(self) -> NetworkPath:
        """The tasks' network path (``cli/observers/vpc.py``): from the service's subnets and
        security groups to the VPC's endpoints, each read made once for every check."""
        return NetworkPath(self.client("ec2"), self.outputs["vpc_id"], self.region,
                           tuple(self._awsvpc.get("subnets") or ()), tuple(self._awsvpc.get("securityGroups") or ()))

    @cached_property
    def task_definitions(self) -> list[dict]:
        """The service's task definition and, when newer, the family's latest ACTIVE revision
        (what the next deployment, or a console "update", takes). The latest is asked for by
        family alone (DescribeTaskDefinition: "if a revision isn't specified, the latest ACTIVE
        revision is used"), not read from ListTaskDefinitions, which pages (newest last, and a
        family prefix that matches other families too)."""
        ecs = self.client("ecs")
        current = self.service["taskDefinition"] if self.service else None
        if current is None:
            return []
        definition = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]
        latest = ecs.describe_task_definition(taskDefinition=definition["family"])["taskDefinition"]
        return [definition] if latest["taskDefinitionArn"] == definition["taskDefinitionArn"] else [definition, latest]


def _safe(name: str, fn: Callable[[Deployed], Check], deployed: Deployed) -> Check:
    """One check's answer; an AWS error while checking is that check's failure (a posture
    check's warning), not the run's."""
    from cli.core.aws import aws_errors
    from cli.core.errors import ByocError
    from cli.observers.doctor import posture

    try:
        return fn(deployed)
    except (*aws_errors(), ByocError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(name, WARN if name in dict(posture.CHECKS) else FAIL, f"could not check: {first}",
                     "check credentials and permissions, then re-run")


def all_checks() -> list[tuple[str, Callable[[Deployed], Check]]]:
    """(name, check) in the order a task start needs them."""
    from cli.observers.doctor import access, evaluator, network, posture, runtime

    return [*network.CHECKS, *access.CHECKS, *evaluator.CHECKS, *runtime.CHECKS, *posture.CHECKS]


def live_checks(target, outputs: dict[str, Any], inputs: dict[str, Any] | None = None, *,
                check_value: bool = False) -> list[Check]:
    deployed = Deployed(target, outputs, dict(inputs or {}), check_value)
    return [_safe(name, fn, deployed) for name, fn in all_checks()]
