"""`byoc cost`: the estimated fixed monthly cost of the synthesized stack, at list prices.

Everything is counted in ``cdktf.out/stacks/byoc/cdk.tf.json``, so a change to the stack shows up
without touching this file. Each resource is expanded into the instances a plan would create —
its ``count``, or one per element of its ``for_each`` — evaluated from the inputs by
``cli.core.tfexpr`` (``var.*``, ``local.*``, ``each.*``). That is also how the cost options are read:
each is the priced difference of the inventory with the option's inputs (``options.py``).

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

In an existing VPC (``existing_vpc_id``) the VPC, its NATs and their addresses are its owner's:
they have count 0, so nothing of them is counted, and the NAT options are not offered. The
VPC's endpoints that the stack reuses (``existing_vpc_endpoints``) are not billed to it either;
they are listed apart (``reused_endpoints``).

Modules: ``inventory`` (what is billed, counted in the JSON), ``prices`` (the table and the priced
lines), ``options`` (what each cost option saves), ``report`` (the text).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from cli.core.config import Project, project_inputs
from cli.observers.cost.inventory import Endpoint, Inventory, Tasks, inventory
from cli.observers.cost.options import Option, options
from cli.observers.cost.prices import FALLBACK_REGION, Line, load_prices, not_included, price_lines
from cli.observers.cost.report import render
from cli.core.errors import ByocError

__all__ = ["Endpoint", "Estimate", "Inventory", "Line", "Option", "Tasks", "estimate", "inventory", "load_prices",
           "render", "run"]


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
    #: The existing VPC's endpoints the stack uses, as "<service> <vpce-id>" (its owner's bill).
    reused_endpoints: list[str] = field(default_factory=list)

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




def estimate(stack: dict, values: dict[str, Any], prices: dict[str, Any], *, inputs_from: str = "",
             endpoints_found: bool = True) -> Estimate:
    """``endpoints_found``: the inputs are a deploy's, whose ``existing_vpc_endpoints`` byoc found."""
    region = str(values.get("aws_region") or FALLBACK_REGION)
    in_table = region in prices["regions"]
    table_region = region if in_table else FALLBACK_REGION
    p: dict[str, float] = prices["regions"][table_region]
    hours = prices["hours_per_month"]
    inv = inventory(stack, values)
    lines, priced_warnings = price_lines(inv, p, hours)
    warnings = [*inv.warnings, *priced_warnings]
    reused = values.get("existing_vpc_endpoints") or {}
    if values.get("existing_vpc_id") and not endpoints_found:
        warnings.append(f"existing_vpc_id {values['existing_vpc_id']}: endpoints the VPC already has are counted as "
                        "created here until `byoc deploy` has found them (it reuses them)")
    if not in_table:
        warnings.insert(0, f"aws_region {region} is not in the price table (it has {', '.join(prices['regions'])}): "
                           f"these are {FALLBACK_REGION} prices, labelled as such; {region}'s differ")
    return Estimate(region, table_region, in_table, prices["as_of"], prices.get("currency", "USD"), hours,
                    inputs_from, lines, options(stack, values, inv, lines, p, hours), not_included(inv, p, hours),
                    warnings, dict(prices.get("sources", {})),
                    [f"{'s3 gateway' if svc == 's3' else svc} {vpce}" for svc, vpce in sorted(reused.items())])


def run(project: Project) -> Estimate:
    from cli.core.synth import ensure_synth

    values, source = project_inputs(project)
    prices = load_prices()
    path = ensure_synth(project).stack_dir / "cdk.tf.json"
    try:
        stack = json.loads(path.read_text())
        return estimate(stack, values, prices, inputs_from=source,
                        endpoints_found=project.saved_inputs() is not None and project.has_deployment())
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as exc:
        raise ByocError(f"cannot estimate from {path} ({type(exc).__name__}: {exc}); "
                        "run `byoc synth --force` and try again.") from None
