"""`byoc doctor`: the fix doc's Secrets Manager connection checklist, automated and read-only.

- ``static``: checks on the synthesized JSON (no AWS needed); they catch a stack edited into
  one of the three root causes before it is deployed.
- ``live``: checks on the deployed stack with boto3; they catch the same causes introduced by
  hand in the console or CLI. Nothing here writes.
- ``explain``: what a task's ``stoppedReason`` means and what to do (shared with the rollout
  watch of ``byoc deploy``).
- ``report``: the table and the JSON.

Each check answers one question of the fix doc and, when it fails, says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    detail: str
    fix: str = ""
