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

import re
from dataclasses import dataclass

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
EXECUTION_MANAGED_POLICY = "AmazonECSTaskExecutionRolePolicy"


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    detail: str
    fix: str = ""



def service_of(service_name: str) -> str:
    """``ecr.api`` of ``com.amazonaws.<region>.ecr.api`` (region may be ``${var.aws_region}``)."""
    return re.sub(r"^com\.amazonaws\.(\$\{[^}]*\}|[a-z0-9-]+)\.", "", service_name)
