"""``byoc cost``'s text: the breakdown, the options, what is not included, the sources."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.observers.cost.money import money, price

if TYPE_CHECKING:
    from cli.observers.cost import Estimate


def render(e: "Estimate") -> list[str]:
    where = (e.region if e.region_in_table else
             f"{e.prices_region} prices: the stack's region {e.region} is not in the price table")
    out = [f"Estimated fixed monthly cost, before traffic: {money(e.total_monthly)} ({where})",
           f"Prices: {e.prices_region} on-demand list prices as of {e.prices_as_of}, {e.hours_per_month} h a month. "
           f"Inputs: {e.inputs_from}."]
    out += [f"WARNING: {w}" for w in e.warnings]
    header = ("item", "quantity", "price", "per month")
    rows = [(line.item, line.detail, price(line), money(line.monthly)) for line in e.lines]
    rows.append(("total", "", "", money(e.total_monthly)))
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [c.ljust(w) for c, w in zip(row[:3], widths)] + [row[3].rjust(widths[3])]
        out.append(("  " + "  ".join(cells)).rstrip())
    if e.reused_endpoints:
        out.append("Reused from the existing VPC (its owner's, not billed to this stack): "
                   + ", ".join(e.reused_endpoints))
    out.append("Cost options (what each would save against this estimate):")
    width = max(len(o.option) for o in e.options)
    for o in e.options:
        saving = "(current setting)" if o.current else f"saves {money(o.saves_monthly)}/month"
        out.append(f"  {o.option.ljust(width)}  {saving}")
        out.append(f"      {o.detail}")
    out.append("Not included (usage-based):")
    out += [f"  - {note}" for note in e.not_included]
    out.append("Sources: " + " ".join(dict.fromkeys(e.sources.values())))
    return out
