"""What each cost option of the seed's "Notes & tweaks" would save: the priced difference of two
evaluated inventories — the stack with the inputs as they are, and with the option's inputs
changed — never a hand-kept list of what an option removes. So an option's saving follows the
stack: with ``ecs_exec`` on, ``endpoint_set = minimal`` keeps the kms endpoint, and the saving
says so; an NLB also drops the ALB-only 5xx alarm.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

from cli.observers.cost.inventory import Inventory, inventory
from cli.observers.cost.money import count, usd
from cli.observers.cost.prices import Line, price_lines


@dataclass
class Option:
    key: str
    option: str
    saves_monthly: float
    detail: str
    current: bool


@dataclass(frozen=True)
class _Choice:
    key: str
    title: str
    #: The inputs the option sets.
    inputs: dict[str, Any]
    #: What the numbers do not say (a trade-off), given the prices.
    note: Callable[[dict[str, float]], str]


CHOICES: tuple[_Choice, ...] = (
    _Choice("nat_single", "NAT gateways: a single one", {"nat_mode": "single"},
            lambda p: "one AZ's NAT carries both AZs' internet traffic"),
    _Choice("nat_none", "NAT gateways: none", {"nat_mode": "none"},
            lambda p: "no internet egress at all: Pinecone's control plane (index management) is on the public "
                      "internet, only its data plane is on PrivateLink"),
    _Choice("endpoints_minimal", "Endpoint set: minimal", {"endpoint_set": "minimal"},
            lambda p: "the S3 gateway stays"),
    _Choice("nlb", "Network Load Balancer instead of the ALB", {"load_balancer_type": "network"},
            lambda p: f"capacity units {usd(p['nlb_lcu_hour'])} instead of {usd(p['alb_lcu_hour'])} per hour "
                      "(traffic-dependent)"),
)


def _total(lines: list[Line]) -> float:
    return sum(line.monthly for line in lines)


def _changes(now: list[Line], then: list[Line]) -> list[str]:
    """``<item> <before> -> <after>`` for every priced line whose quantity differs."""
    before = {line.key: line for line in now}
    after = {line.key: line for line in then}
    out = []
    for key in dict.fromkeys([*before, *after]):
        a, b = before.get(key), after.get(key)
        qa, qb = (a.quantity if a else 0), (b.quantity if b else 0)
        if qa != qb:
            out.append(f"{(a or b).item} {qa:g} -> {qb:g}")
    return out


def _endpoint_services(inv: Inventory) -> Counter:
    return Counter(e.service for e in inv.endpoints if e.aws)


def options(stack: dict, values: dict[str, Any], inv: Inventory, lines: list[Line], p: dict[str, float],
            hours: int) -> list[Option]:
    """Each option against this estimate (0 and "current" when the inputs already choose it)."""
    found = []
    for choice in CHOICES:
        if values.get("existing_vpc_id") and "nat_mode" in choice.inputs:
            continue  # an existing VPC's NATs are its owner's: no choice of the stack's
        current = all(values.get(k) == v for k, v in choice.inputs.items())
        other = inventory(stack, {**values, **choice.inputs})
        other_lines, _warnings = price_lines(other, p, hours)
        parts = _changes(lines, other_lines)
        dropped = sorted((_endpoint_services(inv) - _endpoint_services(other)).elements())
        if dropped:
            kept = sorted(_endpoint_services(other))
            parts.insert(0, f"drops {', '.join(dropped)} ({count(len(dropped), 'endpoint')}); keeps "
                         f"{', '.join(kept) or 'no AWS endpoint'}")
        detail = "; ".join([*(parts or ["nothing billed changes"]), choice.note(p)])
        found.append(Option(choice.key, choice.title, _total(lines) - _total(other_lines), detail, current))
    return found
