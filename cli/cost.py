"""`byoc cost`: the estimated fixed monthly cost of the synthesized stack, at list prices.

Everything is counted in ``cdktf.out/stacks/byoc/cdk.tf.json``, so a change to the stack shows up
without touching this file. Each resource is expanded into the instances a plan would create —
its ``count``, or one per element of its ``for_each`` — evaluated from the inputs by
``cli.tfexpr`` (``var.*``, ``local.*``, ``each.*``). That is also how the cost options are read:
a NAT count or an endpoint set driven by a variable is evaluated with that variable's value.

- NAT gateways: ``aws_nat_gateway`` instances; public IPv4 addresses: ``aws_eip`` instances.
- Interface endpoints: ``aws_vpc_endpoint`` instances of type Interface, each × its
  ``subnet_ids`` (one ENI, billed per hour, per AZ). Gateway endpoints (S3) are free.
- Load balancers: ``aws_lb``/``aws_alb`` instances by ``load_balancer_type``.
- KMS keys, secrets, Route 53 zones: instances × the monthly price. CloudWatch alarms are billed
  per metric they watch: a metric-math alarm costs one alarm metric per metric it reads.
- Fargate: per ``aws_ecs_service`` instance, its task definition's cpu/1024 vCPU and
  memory/1024 GB × desired_count (kept within the ECS autoscaling target's min/max).

Anything that cannot be evaluated is counted as one (two AZs for an endpoint) and reported as a
warning — never silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Any

from cli.config import Project, resolve
from cli.errors import ByocError, InputError
from cli.tfexpr import Evaluator, ExprError
from stacks.inputs import defaults

FALLBACK_REGION = "us-east-1"
# Issue 7's endpoint sets. "full" is the seed's set (constructs_lib/network.py's
# AWS_INTERFACE_SERVICES plus secretsmanager and kms, not imported: that module loads jsii).
FULL_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "ssm", "ec2", "sts", "secretsmanager", "kms")
MINIMAL_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
_AWS_SERVICE = re.compile(r"^com\.amazonaws\.(?!vpce\.)[a-z0-9-]+\.(.+)$")
# A valid image for pricing when none is configured yet: cost does not depend on the image.
PLACEHOLDER_IMAGE = "public.ecr.aws/byoc/cost-estimate:latest"


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


@dataclass
class Line:
    key: str
    item: str
    quantity: float  # units billed (NATs, endpoint-AZs, vCPUs, ...)
    detail: str
    unit_price: float
    unit: str  # "hour" or "month"
    monthly: float


@dataclass
class Option:
    key: str
    option: str
    saves_monthly: float
    detail: str
    current: bool


@dataclass
class Estimate:
    region: str
    prices_region: str
    region_in_table: bool
    prices_as_of: str
    currency: str
    hours_per_month: int
    inputs_from: str
    lines: list[Line]
    options: list[Option]
    not_included: list[str]
    warnings: list[str]
    sources: dict[str, str]

    @property
    def total_monthly(self) -> float:
        return sum(line.monthly for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for line in data["lines"]:
            line["monthly"] = round(line["monthly"], 2)
        for option in data["options"]:
            option["saves_monthly"] = round(option["saves_monthly"], 2)
        data["total_monthly"] = round(self.total_monthly, 2)
        return data


def load_prices() -> dict[str, Any]:
    try:
        prices = json.loads(resources.files("cli").joinpath("prices.json").read_text())
        prices["regions"][FALLBACK_REGION]
        return prices
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ByocError(f"the price table cli/prices.json is missing or broken ({exc}); reinstall byoc.") from None


def estimate(stack: dict, values: dict[str, Any], prices: dict[str, Any], *, inputs_from: str = "") -> Estimate:
    region = str(values.get("aws_region") or FALLBACK_REGION)
    in_table = region in prices["regions"]
    table_region = region if in_table else FALLBACK_REGION
    p: dict[str, float] = prices["regions"][table_region]
    hours = prices["hours_per_month"]
    inv = inventory(stack, values)
    warnings = list(inv.warnings)
    if not in_table:
        warnings.insert(0, f"aws_region {region} is not in the price table (it has {', '.join(prices['regions'])}): "
                           f"these are {FALLBACK_REGION} prices, labelled as such; {region}'s differ")

    def hourly(key: str, item: str, quantity: float, detail: str, rate: str) -> Line:
        return Line(key, item, quantity, detail, p[rate], "hour", quantity * p[rate] * hours)

    def monthly(key: str, item: str, quantity: float, rate: str) -> Line:
        return Line(key, item, quantity, f"{_n(quantity)}", p[rate], "month", quantity * p[rate])

    endpoint_azs = sum(e.azs for e in inv.endpoints)
    az_counts = sorted({e.azs for e in inv.endpoints})
    private_link = sum(1 for e in inv.endpoints if not e.aws)
    others = f" ({len(inv.endpoints) - private_link} AWS, {private_link} PrivateLink)" if private_link else ""
    lines = [
        hourly("nat_gateway", "NAT gateways", inv.nat_gateways, f"{inv.nat_gateways} × {hours} h", "nat_gateway_hour"),
        hourly("public_ipv4", "Public IPv4 addresses (NAT EIPs)", inv.public_ipv4, f"{inv.public_ipv4} × {hours} h",
               "public_ipv4_hour"),
        hourly("interface_endpoints", "Interface endpoints (per AZ)", endpoint_azs,
               f"{_count(len(inv.endpoints), 'endpoint')}{others} × {'/'.join(map(str, az_counts)) or 0} AZs"
               f" × {hours} h",
               "interface_endpoint_az_hour"),
    ]
    for kind, rate in (("application", "alb_hour"), ("network", "nlb_hour")):
        n = inv.load_balancers.count(kind)
        if n or kind == "application":
            lines.append(hourly(f"{kind}_load_balancer", f"{kind.capitalize()} Load Balancer", n,
                                f"{n} × {hours} h", rate))
    for kind in sorted(set(inv.load_balancers) - {"application", "network"}):
        warnings.append(f"{_count(inv.load_balancers.count(kind), kind + ' load balancer')}: no price in the table, "
                        "not included")
    lines += [monthly("kms_key", "KMS keys", inv.kms_keys, "kms_key_month"),
              monthly("secret", "Secrets Manager secrets", inv.secrets, "secret_month")]
    for arch in sorted({t.arch for t in inv.tasks}, reverse=True) or ["x86"]:
        label = {"x86": "Linux/x86", "arm": "Linux/ARM"}[arch]
        group = [t for t in inv.tasks if t.arch == arch]
        vcpu = "; ".join(f"{_count(t.count, 'task')} × {_n(t.vcpu)} vCPU" for t in group) or "0 tasks"
        gb = "; ".join(f"{_count(t.count, 'task')} × {_n(t.gb)} GB" for t in group) or "0 tasks"
        lines += [hourly(f"fargate_{arch}_vcpu", f"Fargate vCPU ({label})", sum(t.count * t.vcpu for t in group),
                         f"{vcpu} × {hours} h", f"fargate_linux_{arch}_vcpu_hour"),
                  hourly(f"fargate_{arch}_memory", f"Fargate memory ({label})", sum(t.count * t.gb for t in group),
                         f"{gb} × {hours} h", f"fargate_linux_{arch}_gb_hour")]
    if inv.hosted_zones:
        lines.append(monthly("route53_zone", "Route 53 hosted zones", inv.hosted_zones, "route53_hosted_zone_month"))
    if inv.alarms:
        lines.append(monthly("cloudwatch_alarm", "CloudWatch alarm metrics", inv.alarms, "cloudwatch_alarm_month"))
    return Estimate(region, table_region, in_table, prices["as_of"], prices.get("currency", "USD"), hours,
                    inputs_from, lines, _options(inv, values, p, hours), _not_included(inv, p, hours), warnings,
                    dict(prices.get("sources", {})))


def _options(inv: Inventory, values: dict[str, Any], p: dict[str, float], hours: int) -> list[Option]:
    """What each of issue 7's cost options would save against this estimate (0 when already chosen).
    "Current" is the input's own value (nat_mode, endpoint_set, load_balancer_type), not a guess
    from the counts; the savings come from the counts."""
    nat, ips = inv.nat_gateways, min(inv.public_ipv4, inv.nat_gateways)  # one EIP per NAT
    nat_cost = p["nat_gateway_hour"] * hours
    ip_cost = p["public_ipv4_hour"] * hours
    extra = [e for e in inv.endpoints if e.aws and e.service in FULL_ENDPOINTS and e.service not in MINIMAL_ENDPOINTS]
    extra_azs = sum(e.azs for e in extra)
    albs = inv.load_balancers.count("application")
    return [
        Option("nat_single", "NAT gateways: a single one", max(nat - 1, 0) * nat_cost + max(ips - 1, 0) * ip_cost,
               f"{_count(max(nat - 1, 0), 'NAT gateway')} + {_count(max(ips - 1, 0), 'public IPv4 address')} fewer; "
               "one AZ's NAT carries both AZs' internet traffic", values.get("nat_mode") == "single"),
        Option("nat_none", "NAT gateways: none", nat * nat_cost + ips * ip_cost,
               f"{_count(nat, 'NAT gateway')} + {_count(ips, 'public IPv4 address')} fewer; no internet egress at "
               "all: Pinecone's control plane (index management) is on the public internet, only its data plane "
               "is on PrivateLink",
               values.get("nat_mode") == "none"),
        Option("endpoints_minimal", "Endpoint set: minimal", extra_azs * p["interface_endpoint_az_hour"] * hours,
               f"drops {', '.join(e.service for e in extra) or 'nothing'} ({_count(len(extra), 'endpoint')}, "
               f"{_count(extra_azs, 'endpoint-AZ')}); keeps {', '.join(MINIMAL_ENDPOINTS)} and the S3 gateway",
               values.get("endpoint_set") == "minimal"),
        Option("nlb", "Network Load Balancer instead of the ALB", albs * (p["alb_hour"] - p["nlb_hour"]) * hours,
               f"{_count(albs, 'ALB')} at {_usd(p['alb_hour'])}/h -> NLB at {_usd(p['nlb_hour'])}/h; capacity units "
               f"{_usd(p['nlb_lcu_hour'])} instead of {_usd(p['alb_lcu_hour'])} per hour (traffic-dependent)",
               values.get("load_balancer_type") == "network"),
    ]


def _not_included(inv: Inventory, p: dict[str, float], hours: int) -> list[str]:
    notes = [f"NAT data processing {_usd(p['nat_gateway_gb'])}/GB and data transfer",
             f"interface endpoint data processing {_usd(p['interface_endpoint_gb'])}/GB",
             f"load balancer capacity units (ALB {_usd(p['alb_lcu_hour'])}, NLB {_usd(p['nlb_lcu_hour'])} "
             "per unit-hour)",
             f"CloudWatch Logs ingestion {_usd(p['cloudwatch_logs_ingest_gb'])}/GB and storage (service logs, "
             "VPC flow logs)",
             "KMS and Secrets Manager API requests",
             f"KMS key rotation: +{_usd(p['kms_key_rotation_month'])}/month per key at each of the first two "
             "yearly rotations"]
    for t in inv.tasks:
        if t.max_count and t.max_count > t.count:
            rate = p[f"fargate_linux_{t.arch}_vcpu_hour"] * t.vcpu + p[f"fargate_linux_{t.arch}_gb_hour"] * t.gb
            notes.append(f"autoscaling may run {t.service} at up to {t.max_count} tasks: "
                         f"+${(t.max_count - t.count) * rate * hours:,.2f}/month at the maximum")
    return notes


def project_inputs(project: Project) -> tuple[dict[str, Any], str]:
    """The last deploy's inputs when a deployment exists, else byoc.toml/BYOC_*/defaults."""
    saved = project.saved_inputs()
    if saved is not None and project.has_deployment():
        return {**defaults(), **saved}, f"the last deploy ({project.inputs_file.relative_to(project.root)})"
    source = "byoc.toml, BYOC_* and defaults (no deployment yet)"
    try:
        return resolve(project, {}), source
    except InputError as exc:
        if not str(exc).startswith("container_image"):
            raise
    return resolve(project, {"container_image": PLACEHOLDER_IMAGE}), source


def run(project: Project) -> Estimate:
    from cli.synth import ensure_synth

    values, source = project_inputs(project)
    prices = load_prices()
    path = ensure_synth(project).stack_dir / "cdk.tf.json"
    try:
        stack = json.loads(path.read_text())
        return estimate(stack, values, prices, inputs_from=source)
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
        raise ByocError(f"cannot estimate from {path} ({type(exc).__name__}: {exc}); "
                        "run `byoc synth --force` and try again.") from None


def _n(x: float) -> str:
    return f"{x:g}"


def _count(n: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("ss") else "s")
    return f"{n} {noun if n == 1 else plural}"


def _usd(rate: float) -> str:
    """A unit price: cents when that is exact ($0.40, $1.00), else every digit ($0.0225)."""
    return f"${rate:.2f}" if round(rate, 2) == rate else f"${rate:g}"


def _money(x: float) -> str:
    return f"${x:,.2f}"


def _price(line: Line) -> str:
    return f"{_usd(line.unit_price)}/{'month' if line.unit == 'month' else 'h'}"


def render(e: Estimate) -> list[str]:
    where = (e.region if e.region_in_table else
             f"{e.prices_region} prices: the stack's region {e.region} is not in the price table")
    out = [f"Estimated fixed monthly cost, before traffic: {_money(e.total_monthly)} ({where})",
           f"Prices: {e.prices_region} on-demand list prices as of {e.prices_as_of}, {e.hours_per_month} h a month. "
           f"Inputs: {e.inputs_from}."]
    out += [f"WARNING: {w}" for w in e.warnings]
    header = ("item", "quantity", "price", "per month")
    rows = [(line.item, line.detail, _price(line), _money(line.monthly)) for line in e.lines]
    rows.append(("total", "", "", _money(e.total_monthly)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:3], widths)] + [row[3].rjust(widths[3])]
        out.append(("  " + "  ".join(cells)).rstrip())
    out.append("Cost options (what each would save against this estimate):")
    width = max(len(o.option) for o in e.options)
    for o in e.options:
        saving = "(current setting)" if o.current else f"saves {_money(o.saves_monthly)}/month"
        out.append(f"  {o.option.ljust(width)}  {saving}")
        out.append(f"      {o.detail}")
    out.append("Not included (usage-based):")
    out += [f"  - {note}" for note in e.not_included]
    out.append("Sources: " + " ".join(dict.fromkeys(e.sources.values())))
    return out
