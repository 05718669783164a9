"""The price table (``cli/observers/cost/prices.json``: list prices, dated and sourced) and the priced lines of
an inventory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from cli.observers.cost.inventory import Inventory
from cli.observers.cost.money import count, n, usd
from cli.core.errors import ByocError

FALLBACK_REGION = "us-east-1"


@dataclass
class Line:
    key: str
    item: str
    quantity: float  # units billed (NATs, endpoint-AZs, vCPUs, ...)
    detail: str
    unit_price: float
    unit: str  # "hour" or "month"
    monthly: float


def load_prices() -> dict[str, Any]:
    try:
        prices = json.loads(resources.files("cli.observers.cost").joinpath("prices.json").read_text())
        prices["regions"][FALLBACK_REGION]
        return prices
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ByocError(f"the price table cli/observers/cost/prices.json is missing or broken ({exc}); reinstall byoc.") from None


def price_lines(inv: Inventory, p: dict[str, float], hours: int) -> tuple[list[Line], list[str]]:
    """The inventory's billed lines at the prices ``p`` of one region, and warnings for what the
    table cannot price."""
    warnings: list[str] = []

    def hourly(key: str, item: str, quantity: float, detail: str, rate: str) -> Line:
        return Line(key, item, quantity, detail, p[rate], "hour", quantity * p[rate] * hours)

    def monthly(key: str, item: str, quantity: float, rate: str) -> Line:
        return Line(key, item, quantity, f"{n(quantity)}", p[rate], "month", quantity * p[rate])

    endpoint_azs = sum(e.azs for e in inv.endpoints)
    az_counts = sorted({e.azs for e in inv.endpoints})
    private_link = sum(1 for e in inv.endpoints if not e.aws)
    others = f" ({len(inv.endpoints) - private_link} AWS, {private_link} PrivateLink)" if private_link else ""
    lines = [
        hourly("nat_gateway", "NAT gateways", inv.nat_gateways, f"{inv.nat_gateways} × {hours} h", "nat_gateway_hour"),
        hourly("public_ipv4", "Public IPv4 addresses (NAT EIPs)", inv.public_ipv4, f"{inv.public_ipv4} × {hours} h",
               "public_ipv4_hour"),
        hourly("interface_endpoints", "Interface endpoints (per AZ)", endpoint_azs,
               f"{count(len(inv.endpoints), 'endpoint')}{others} × {'/'.join(map(str, az_counts)) or 0} AZs"
               f" × {hours} h",
               "interface_endpoint_az_hour"),
    ]
    for kind, rate in (("application", "alb_hour"), ("network", "nlb_hour")):
        lbs = inv.load_balancers.count(kind)
        if lbs or kind == "application":
            lines.append(hourly(f"{kind}_load_balancer", f"{kind.capitalize()} Load Balancer", lbs,
                                f"{lbs} × {hours} h", rate))
    for kind in sorted(set(inv.load_balancers) - {"application", "network"}):
        warnings.append(f"{count(inv.load_balancers.count(kind), kind + ' load balancer')}: no price in the table, "
                        "not included")
    lines += [monthly("kms_key", "KMS keys", inv.kms_keys, "kms_key_month"),
              monthly("secret", "Secrets Manager secrets", inv.secrets, "secret_month")]
    for arch in sorted({t.arch for t in inv.tasks}, reverse=True) or ["x86"]:
        label = {"x86": "Linux/x86", "arm": "Linux/ARM"}[arch]
        group = [t for t in inv.tasks if t.arch == arch]
        vcpu = "; ".join(f"{count(t.count, 'task')} × {n(t.vcpu)} vCPU" for t in group) or "0 tasks"
        gb = "; ".join(f"{count(t.count, 'task')} × {n(t.gb)} GB" for t in group) or "0 tasks"
        lines += [hourly(f"fargate_{arch}_vcpu", f"Fargate vCPU ({label})", sum(t.count * t.vcpu for t in group),
                         f"{vcpu} × {hours} h", f"fargate_linux_{arch}_vcpu_hour"),
                  hourly(f"fargate_{arch}_memory", f"Fargate memory ({label})", sum(t.count * t.gb for t in group),
                         f"{gb} × {hours} h", f"fargate_linux_{arch}_gb_hour")]
    if inv.hosted_zones:
        lines.append(monthly("route53_zone", "Route 53 hosted zones", inv.hosted_zones, "route53_hosted_zone_month"))
    if inv.alarms:
        lines.append(monthly("cloudwatch_alarm", "CloudWatch alarm metrics", inv.alarms, "cloudwatch_alarm_month"))
    return lines, warnings


def not_included(inv: Inventory, p: dict[str, float], hours: int) -> list[str]:
    notes = [f"NAT data processing {usd(p['nat_gateway_gb'])}/GB and data transfer",
             f"interface endpoint data processing {usd(p['interface_endpoint_gb'])}/GB",
             f"load balancer capacity units (ALB {usd(p['alb_lcu_hour'])}, NLB {usd(p['nlb_lcu_hour'])} "
             "per unit-hour)",
             f"CloudWatch Logs ingestion {usd(p['cloudwatch_logs_ingest_gb'])}/GB and storage (service logs, "
             "VPC flow logs)",
             "KMS and Secrets Manager API requests",
             f"KMS key rotation: +{usd(p['kms_key_rotation_month'])}/month per key at each of the first two "
             "yearly rotations"]
    for t in inv.tasks:
        if t.max_count and t.max_count > t.count:
            rate = p[f"fargate_linux_{t.arch}_vcpu_hour"] * t.vcpu + p[f"fargate_linux_{t.arch}_gb_hour"] * t.gb
            notes.append(f"autoscaling may run {t.service} at up to {t.max_count} tasks: "
                         f"+${(t.max_count - t.count) * rate * hours:,.2f}/month at the maximum")
    return notes
