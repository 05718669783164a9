"""What of the stack is billed by the hour or month, counted in cdk.tf.json with each
resource's ``count``/``for_each`` evaluated from the inputs (see ``cli.observers.cost``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cli.core.tfexpr import Evaluator, ExprError

_AWS_SERVICE = re.compile(r"^com\.amazonaws\.(?!vpce\.)[a-z0-9-]+\.(.+)$")


@dataclass
class Endpoint:
    service: str
    azs: int
    aws: bool  # an AWS service (com.amazonaws.<region>.<name>), not PrivateLink to a third party


@dataclass
class Tasks:
    service: str
    count: int
    vcpu: float
    gb: float
    arch: str  # "x86" or "arm"
    max_count: int | None = None


@dataclass
class Inventory:
    nat_gateways: int = 0
    public_ipv4: int = 0
    endpoints: list[Endpoint] = field(default_factory=list)
    load_balancers: list[str] = field(default_factory=list)
    kms_keys: int = 0
    secrets: int = 0
    hosted_zones: int = 0
    alarms: int = 0  # alarm metrics (what CloudWatch bills), not alarms
    tasks: list[Tasks] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Resources:
    """The stack's resources expanded into instances; what cannot be evaluated becomes a warning."""

    def __init__(self, stack: dict, values: dict[str, Any]) -> None:
        self.ev = Evaluator(stack, values)
        self.by_type: dict[str, dict] = stack.get("resource") or {}
        self.warnings: list[str] = []

    def instances(self, *types: str):
        """``(address, body, ctx)`` per instance a plan would create of these resource types."""
        for rtype in types:
            for name, body in (self.by_type.get(rtype) or {}).items():
                try:
                    contexts = self.ev.instances(body)
                except ExprError as exc:
                    self.warnings.append(f"{rtype}.{name}: count/for_each not evaluated ({exc}); counted once")
                    contexts = [self.ev.context()]
                for ctx in contexts:
                    yield f"{rtype}.{name}", body, ctx

    def count(self, *types: str) -> int:
        return sum(1 for _ in self.instances(*types))

    def attr(self, address: str, body: dict, ctx: dict, key: str, fallback: Any, shown: str = "") -> Any:
        """``body[key]`` evaluated for this instance; ``fallback`` when absent or not evaluable."""
        if key not in body:
            return fallback
        try:
            return self.ev.value(body[key], ctx)
        except ExprError as exc:
            self.warnings.append(f"{address}.{key} not evaluated ({exc}); assumed {shown or fallback}")
            return fallback


def _alarm_metrics(body: dict) -> int:
    """Alarm metrics CloudWatch bills for one alarm: each metric a metric-math alarm reads, else 1."""
    queries = body.get("metric_query")
    if isinstance(queries, list) and queries:
        return max(1, sum(1 for q in queries if isinstance(q, dict) and "metric" in q))
    return 1


def inventory(stack: dict, values: dict[str, Any]) -> Inventory:
    """What of the stack is billed by the hour or month, counted as described in the module doc."""
    res = _Resources(stack, values)
    inv = Inventory(nat_gateways=res.count("aws_nat_gateway"), public_ipv4=res.count("aws_eip"),
                    kms_keys=res.count("aws_kms_key"), secrets=res.count("aws_secretsmanager_secret"),
                    hosted_zones=res.count("aws_route53_zone"),
                    alarms=sum(_alarm_metrics(body) for _a, body, _c in res.instances("aws_cloudwatch_metric_alarm")))
    for address, body, ctx in res.instances("aws_lb", "aws_alb"):
        inv.load_balancers.append(str(res.attr(address, body, ctx, "load_balancer_type", "application")))
    for address, body, ctx in res.instances("aws_vpc_endpoint"):
        if str(res.attr(address, body, ctx, "vpc_endpoint_type", "Gateway")).lower() != "interface":
            continue  # Gateway endpoints (S3, DynamoDB) cost nothing
        name = str(res.attr(address, body, ctx, "service_name", address))
        aws = _AWS_SERVICE.match(name)
        subnets = body.get("subnet_ids")  # a list of references: its length is the AZ count
        if not isinstance(subnets, list):
            subnets = res.attr(address, body, ctx, "subnet_ids", [None, None], shown="2 AZs")
        inv.endpoints.append(Endpoint(aws.group(1) if aws else name, len(subnets), aws is not None))
    inv.tasks = _fargate_tasks(res)
    inv.warnings = res.warnings
    return inv


def _fargate_tasks(res: _Resources) -> list[Tasks]:
    """Per Fargate service: desired_count (within its ECS autoscaling target's min/max) and the
    size and CPU architecture of the task definition it references."""
    limits: dict[str, tuple[int, int]] = {}
    for address, body, ctx in res.instances("aws_appautoscaling_target"):
        service = re.search(r"aws_ecs_service\.([A-Za-z0-9_-]+)", str(body.get("resource_id", "")))
        if service and body.get("service_namespace") == "ecs":
            limits[service.group(1)] = (int(res.attr(address, body, ctx, "min_capacity", 0)),
                                        int(res.attr(address, body, ctx, "max_capacity", 0)))
    found = []
    for address, body, ctx in res.instances("aws_ecs_service"):
        providers = [str(p.get("capacity_provider", "")) for p in body.get("capacity_provider_strategy") or []]
        default_launch = "FARGATE" if any("FARGATE" in p for p in providers) else "EC2"
        launch = res.attr(address, body, ctx, "launch_type", default_launch)
        if launch != "FARGATE":
            res.warnings.append(f"{address} runs on {launch}, not Fargate: its compute is not priced here")
            continue
        ref = re.search(r"aws_ecs_task_definition\.([A-Za-z0-9_-]+)", str(body.get("task_definition", "")))
        task_address = f"aws_ecs_task_definition.{ref.group(1)}" if ref else ""
        task_instance = next((i for i in res.instances("aws_ecs_task_definition") if i[0] == task_address), None)
        if task_instance is None:
            res.warnings.append(f"{address}: its task definition is not in the JSON; its compute is not priced")
            continue
        _, task, task_ctx = task_instance
        cpu = float(res.attr(task_address, task, task_ctx, "cpu", 256))
        memory = float(res.attr(task_address, task, task_ctx, "memory", 512))
        platform = task.get("runtime_platform") or {}
        platform = platform[0] if isinstance(platform, list) and platform else platform
        arch = str(res.attr(task_address, platform, task_ctx, "cpu_architecture", "X86_64")) if platform else "X86_64"
        desired = int(res.attr(address, body, ctx, "desired_count", 0))
        low, high = limits.get(address.split(".", 1)[1], (desired, None))
        running = max(desired, low) if high is None else min(max(desired, low), high)
        found.append(Tasks(address, running, cpu / 1024, memory / 1024,
                           "arm" if arch.upper() == "ARM64" else "x86", high))
    return found


