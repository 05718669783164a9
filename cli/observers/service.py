"""The ECS service as byoc reads it (read-only): the ACTIVE service, its PRIMARY deployment, its
stopped tasks, healthy targets — and a rollout watched to its outcome: new tasks running and
healthy behind the load balancer, or the stopped task that says why not, explained.

``wait_for_rollout`` follows one deployment by its id (its tasks' ``startedBy``) until its tasks
run and their targets are healthy, a task of it stops, the circuit breaker fails it, or the
timeout passes. Starting a deployment is an action (``cli/actions/rollout.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.errors import ByocError
from cli.observers.stopped import explain_stopped, redact

#: How long a rollout may take before byoc stops waiting (ECS goes on): `--wait-timeout`.
WAIT_TIMEOUT_SECONDS = 600
#: Seconds between looks at the service: quick at first (the emulator is quick), then every 5 s.
POLL_SECONDS = (1, 1, 2, 3, 5)


@dataclass
class ServiceState:
    """What ``byoc status`` shows of the service, and what a rollout is judged by."""

    desired: int
    running: int
    pending: int
    rollout_state: str
    deployment_id: str | None
    healthy_targets: int
    last_stopped_reason: str | None
    #: Why a task of this deployment failed (stopped other than by a scale-in), if one did.
    failed_reason: str | None = None
    #: Other deployments still running tasks (older ones draining).
    draining: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"desired": self.desired, "running": self.running, "rollout_state": self.rollout_state,
                "healthy_targets": self.healthy_targets, "last_stopped_reason": self.last_stopped_reason}

    def line(self) -> str:
        more = f", {self.pending} pending" if self.pending else ""
        return f"{self.running} of {self.desired} tasks running{more}, {self.healthy_targets} healthy targets"


class RolloutFailed(ByocError):
    """New tasks did not come up; ``reason`` is the stopped task's (redacted) stoppedReason."""

    def __init__(self, message: str, reason: str | None) -> None:
        super().__init__(message, exit_code=1)
        self.reason = reason


def active_service(ecs, cluster: str, service: str) -> dict | None:
    """The service as DescribeServices shows it, if it is ACTIVE (a deleted service stays listed
    as DRAINING, then INACTIVE, for a while: it has no tasks to read)."""
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services") or []
    return found[0] if found and found[0].get("status") == "ACTIVE" else None


def primary_deployment(service: dict) -> dict | None:
    """The deployment ECS is moving the service to (``status`` PRIMARY): the newest one."""
    return next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)


def stopped_tasks(ecs, cluster: str, service: str, started_by: str | None = None) -> list[dict]:
    """The service's stopped tasks (of one deployment when ``started_by``), newest first."""
    kwargs = {"startedBy": started_by} if started_by else {"serviceName": service}
    arns = ecs.list_tasks(cluster=cluster, desiredStatus="STOPPED", **kwargs).get("taskArns", [])[:100]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    return sorted(tasks, key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)


def _addresses(ecs, cluster: str, deployment_id: str) -> set[str]:
    arns = ecs.list_tasks(cluster=cluster, startedBy=deployment_id, desiredStatus="RUNNING").get("taskArns", [])
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    return {d["value"] for t in tasks if t.get("lastStatus") == "RUNNING" for a in t.get("attachments", [])
            for d in a.get("details", []) if d.get("name") == "privateIPv4Address"}


def _healthy(elbv2, svc: dict, addresses: set[str] | None) -> int:
    """Healthy targets of the service's target groups (of these task addresses, when given)."""
    healthy = 0
    for lb in svc.get("loadBalancers") or []:
        for t in elbv2.describe_target_health(TargetGroupArn=lb["targetGroupArn"]).get("TargetHealthDescriptions", []):
            if t.get("TargetHealth", {}).get("State") == "healthy" and (addresses is None
                                                                         or t["Target"]["Id"] in addresses):
                healthy += 1
    return healthy


def is_failure(task: dict) -> bool:
    """A task that failed, not one the scheduler stopped to scale in or to replace it."""
    reason = task.get("stoppedReason") or ""
    return bool(reason) and (task.get("stopCode") != "ServiceSchedulerInitiated" or "health checks" in reason)


def _state(target: AwsTarget, cluster: str, service: str, deployment_id: str | None) -> ServiceState | None:
    ecs, elbv2 = target.client("ecs"), target.client("elbv2")
    svc = active_service(ecs, cluster, service)
    if svc is None:
        return None
    deployments = svc.get("deployments") or []
    watched = next((d for d in deployments if d.get("id") == deployment_id), None) if deployment_id else \
        primary_deployment(svc)
    if watched is None:  # gone from the list: replaced by a newer deployment
        watched = {"id": deployment_id, "rolloutState": "REPLACED", "desiredCount": svc.get("desiredCount", 0),
                   "runningCount": 0, "pendingCount": 0}
    dep_id = watched.get("id")
    failure = next((t["stoppedReason"] for t in (stopped_tasks(ecs, cluster, service, dep_id) if dep_id else [])
                    if is_failure(t)), None)
    last = next((t["stoppedReason"] for t in stopped_tasks(ecs, cluster, service) if t.get("stoppedReason")), None)
    addresses = _addresses(ecs, cluster, dep_id) if dep_id else None
    return ServiceState(
        desired=int(watched.get("desiredCount", svc.get("desiredCount", 0))),
        running=int(watched.get("runningCount", 0)), pending=int(watched.get("pendingCount", 0)),
        rollout_state=str(watched.get("rolloutState") or "UNKNOWN"), deployment_id=dep_id,
        healthy_targets=_healthy(elbv2, svc, addresses) if svc.get("loadBalancers") else int(watched.get("runningCount", 0)),
        last_stopped_reason=redact(last) if last else None, failed_reason=redact(failure) if failure else None,
        draining=sum(1 for d in deployments if d.get("id") != dep_id and d.get("runningCount", 0)))


def service_state(target: AwsTarget, cluster: str, service: str) -> ServiceState | None:
    """The service's primary deployment as ``byoc status`` shows it (None: no active service)."""
    try:
        return _state(target, cluster, service, None)
    except aws_errors() as exc:
        raise aws_error(exc, "reading the ECS service") from None


def wait_for_rollout(target: AwsTarget, cluster: str, service: str, *, say: Callable[[str], None],
                     timeout: float = WAIT_TIMEOUT_SECONDS, deployment_id: str | None = None,
                     sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> ServiceState:
    """Follow one deployment (the primary one unless ``deployment_id``) until its tasks run and
    their targets are healthy; raise RolloutFailed with the stopped reason, explained, if a task of
    it stops or the circuit breaker fails it, or when ``timeout`` passes."""
    start, last, polls = clock(), "", 0
    while True:
        try:
            state = _state(target, cluster, service, deployment_id)
        except aws_errors() as exc:
            raise aws_error(exc, "watching the ECS service's rollout") from None
        if state is None:
            raise ByocError(f"the ECS service {service} is not active in cluster {cluster}: run `byoc deploy`.")
        deployment_id = deployment_id or state.deployment_id
        elapsed = clock() - start
        line = f"Rollout {state.deployment_id}: {state.line()}"
        if line != last:
            say(f"{line} ({elapsed:.0f}s)")
            last = line
        if state.failed_reason or state.rollout_state in ("FAILED", "REPLACED"):
            reason = state.failed_reason or f"the deployment is {state.rollout_state}"
            raise RolloutFailed(f"the rollout failed: a new task stopped: {reason} -> {explain_stopped(reason)}. "
                                "ECS keeps trying (its circuit breaker rolls back); see `byoc status` and "
                                "`byoc doctor`.", state.failed_reason)
        if state.running >= state.desired and state.healthy_targets >= state.desired:
            if state.draining:
                say("Older tasks are draining; new tasks serve.")
            return state
        if elapsed >= timeout:
            raise ByocError(f"the rollout is not done after {timeout:.0f}s ({state.line()}): ECS goes on; watch it "
                            "with `byoc status`, read `byoc logs`, or run `byoc doctor`.")
        sleep(min(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)], max(timeout - elapsed, 0.1)))
        polls += 1
