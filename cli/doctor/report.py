"""Doctor's report: a table for people, JSON for scripts."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable

from cli.doctor import FAIL, PASS, SKIP, WARN, Check


def render(checks: Iterable[Check]) -> list[str]:
    checks = list(checks)
    width = max(len(c.name) for c in checks) if checks else 10
    mark = {PASS: "PASS", FAIL: "FAIL", WARN: "WARN", SKIP: "SKIP"}
    lines = [f"{'check':<{width}}  result  detail / what to do"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {mark[c.result]:<6}  {c.detail}")
        if c.fix and c.result != PASS:
            lines.append(f"{'':<{width}}          -> {c.fix}")
    return lines


def as_json(static: list[Check], live: list[Check] | None) -> str:
    return json.dumps({"static": [asdict(c) for c in static],
                       "live": [asdict(c) for c in live] if live is not None else None,
                       "ok": all(c.result != FAIL for c in static + (live or []))}, indent=2)

