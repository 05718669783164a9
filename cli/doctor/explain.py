"""What a stopped task's ``stoppedReason`` means, and what to do about it."""

from __future__ import annotations

#: stoppedReason fragments -> the fix doc's root cause and what to do.
STOPPED_REASONS: tuple[tuple[str, str], ...] = (
    ("unable to retrieve secret from asm", "the task cannot reach or read the secret: check the execution role's "
     "secret policy, the secretsmanager endpoint and its security group (root causes 1 and 3)"),
    ("unable to pull secrets or registry auth", "secrets or registry auth failed: check the execution role, "
     "the ecr/secretsmanager endpoints and valueFrom (root causes 1-3)"),
    ("cannotpullcontainererror", "the image cannot be pulled: check ecr.api/ecr.dkr/S3 endpoints and the image"),
    ("accessdenied", "an IAM or resource policy denies the execution role: check its policies and the secret policy"),
    ("essential container in task exited", "the application exited: read its logs in /ecs/<app_name>"),
    ("health checks", "the load balancer health check failed: check health_check_path and the container port"),
)


def explain_stopped(reason: str) -> str:
    low = reason.lower()
    return next((advice for frag, advice in STOPPED_REASONS if frag in low), "see the task's stoppedReason")

