"""How ``byoc cost`` writes numbers, counts and prices."""

from __future__ import annotations


def n(x: float) -> str:
    return f"{x:g}"


def count(n: int, noun: str) -> str:
    plural = noun + ("es" if noun.endswith("ss") else "s")
    return f"{n} {noun if n == 1 else plural}"


def usd(rate: float) -> str:
    """A unit price: cents when that is exact ($0.40, $1.00), else every digit ($0.0225)."""
    return f"${rate:.2f}" if round(rate, 2) == rate else f"${rate:g}"


def money(x: float) -> str:
    return f"${x:,.2f}"


def price(line) -> str:
    return f"{usd(line.unit_price)}/{'month' if line.unit == 'month' else 'h'}"


