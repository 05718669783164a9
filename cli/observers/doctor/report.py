"""Doctor's result: the static and live checks, rendered for people (``human``) and for scripts
(``as_json``, whose shape is an API: keys are added, never renamed or removed)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from cli.observers.doctor import FAIL, PASS, SKIP, WARN, Check


def render(checks: list[Check]) -> list[str]:
    width = max(len(c.name) for c in checks) if checks else 10
    mark = {PASS: "PASS", FAIL: "FAIL", WARN: "WARN", SKIP: "SKIP"}
    lines = [f"{'check':<{width}}  result  detail / what to do"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {mark[c.result]:<6}  {c.detail}")
        if c.fix and c.result != PASS:
            lines.append(f"{'':<{width}}          -> {c.fix}")
    return lines


@dataclass(frozen=True)
class DoctorReport:
    static: list[Check]
    #: None when the live checks did not run; ``skipped`` says why.
    live: list[Check] | None
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return all(c.result != FAIL for c in self.static + (self.live or []))

    def human(self) -> list[str]:
        lines = ["Static checks (synthesized JSON):", *("  " + line for line in render(self.static))]
        if self.live is None:
            lines.append(f"Live checks: skipped ({self.skipped}).")
        else:
            lines += ["Live checks (deployed stack, read-only):", *("  " + line for line in render(self.live))]
        return lines

    def as_json(self) -> str:
        return json.dumps({"static": [asdict(c) for c in self.static],
                           "live": [asdict(c) for c in self.live] if self.live is not None else None,
                           "ok": self.ok}, indent=2)
