"""The ECS service as byoc reads it (read-only): the ACTIVE service, its deployments, its tasks,
healthy targets — and a rollout watched to the verdict ECS itself gives.

The verdict is ECS's own fields, never byoc's guess (Amazon ECS API Reference, ``Deployment``):
a deployment failed when its ``rolloutState`` is FAILED — ECS's circuit breaker decides that,
counting failed tasks (``failedTasks``) up to half the desired count, at least 3, at most 200,
the count reset by a task that becomes healthy — and it is done when ``rolloutState`` is
COMPLETED or its desired count of tasks runs behind healthy targets. A task that stopped on the
way (crashed once, replaced) is a warning, not a failure. A deployment that disappears from
the service's list was replaced: the watch says by which one, and whether that is ECS's
rollback.

How the reads are made, by the API reference:
- ECS is eventually consistent ("the result of an API command you run that affects your Amazon
  ECS resources might not be immediately visible to all subsequent commands you run", RunTask):
  a deployment ``UpdateService`` just returned, or the deployment of a revision Terraform just
  put on the service, may not be listed yet. The watch waits for it (``VISIBLE_WITHIN_SECONDS``,
  said on screen) instead of taking it for replaced.
- ``ListTasks`` pages (at most 100 a page, ``nextToken``, order not documented) and
  ``startedBy`` "must be the only filter that you use": the service's tasks are listed by
  ``serviceName`` and ``desiredStatus`` to the last page, and their deployment read from each
  task's ``startedBy``. ``DescribeTasks`` takes at most 100 tasks a call.
- Throttling (``ThrottlingException`` and the other codes the SDKs retry, ``aws_texts``) ends no
  watch: it backs off (``BACKOFF_SECONDS``) and says so; the watch's clients make one attempt
  per call so that the backoff is the watch's, visible, and bounded by its timeout.

Starting a deployment is an action (``cli/actions/rollout.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.aws_texts import CIRCUIT_BREAKER, DEPLOYMENT_FAILED, ROLLING_BACK, THROTTLING_CODES
from cli.core.errors import ByocError
from cli.observers.stopped import explain_stopped, redact

#: How long a rollout may take before byoc stops waiting (ECS goes on): `--wait-timeout`.
WAIT_TIMEOUT_SECONDS = 600
#: Seconds between looks at the service: quick at first (the emulator is quick), then every 5 s.
POLL_SECONDS = (1, 1, 2, 3, 5)
#: How long a new deployment may stay unlisted (ECS's eventual consistency) before byoc gives up.
VISIBLE_WITHIN_SECONDS = 60
#: Backoff while ECS throttles the watch's reads (then every 30 s, within the timeout).
BACKOFF_SECONDS = (1, 2, 4, 8, 16, 30)
#: ListTasks' largest page, and DescribeTasks' most tasks per call (ECS API reference).
PAGE = 100


@dataclass(frozen=True)
class ServiceState:
    """What ``byoc status`` shows of the service, and what a rollout is judged by: one deployment
    (the PRIMARY one, or the one a rollout follows) as DescribeServices reports it."""

    desired: int
    running: int
    pending: int
    rollout_state: str
    deployment_id: str | None
    healthy_targets: int
    last_stopped_reason: str | None
    #: ECS's ``rolloutStateReason`` and ``failedTasks`` of the deployment.
    rollout_reason: str = ""
    failed_tasks: int = 0
    #: The task definition revision the deployment runs.
    task_definition: str | None = None
    #: Other deployments still running tasks (older ones draining, or the one a rollback leaves).
    draining: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"desired": self.desired, "running": self.running, "rollout_state": self.rollout_state,
                "healthy_targets": self.healthy_targets, "last_stopped_reason": self.last_stopped_reason,
                "deployment_id": self.deployment_id, "rollout_state_reason": self.rollout_reason,
                "failed_tasks": self.failed_tasks, "task_definition": self.task_definition}

    def line(self) -> str:
        more = f", {self.pending} pending" if self.pending else ""
        failed = (f", {self.failed_tasks} failed (ECS's circuit breaker fails the rollout at "
                  f"{breaker_threshold(self.desired)})" if self.failed_tasks else "")
        return f"{self.running} of {self.desired} tasks running{more}, {self.healthy_targets} healthy targets{failed}"


class RolloutFailed(ByocError):
    """ECS says the rollout failed (or it was replaced before it completed); ``reason`` is the
    (redacted) stoppedReason of the tasks that failed it, when there are any."""

    def __init__(self, message: str, reason: str | None) -> None:
        super().__init__(message, exit_code=1)
        self.reason = reason


def breaker_threshold(desired: int) -> int:
    """Failed tasks that fail a deployment (API reference, ServiceDeploymentCircuitBreaker:
    0.5 * desired, at least 3, at most 200)."""
    return min(max(3, -(-desired // 2)), 200)


def revision(task_definition: str | None) -> str:
    """``family:revision`` of a task definition ARN."""
    return (task_definition or "?").rsplit("/", 1)[-1]


# --- reads ------------------------------------------------------------------------------------

def active_service(ecs, cluster: str, service: str) -> dict | None:
    """The service as DescribeServices shows it, if it is ACTIVE (a deleted service stays listed
    as DRAINING, then INACTIVE, for a while: it has no tasks to read)."""
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services") or []
    return found[0] if found and found[0].get("status") == "ACTIVE" else None


def latest_revision(target: AwsTarget, family: str) -> str:
    """The ARN of the family's newest ACTIVE revision — after an apply, the one Terraform put on
    the service (DescribeTaskDefinition: "if a revision isn't specified, the latest ACTIVE
    revision is used")."""
    try:
        return target.client("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"][
            "taskDefinitionArn"]
    except aws_errors() as exc:
        raise aws_error(exc, f"reading the task definition {family}") from None


def primary_deployment(service: dict) -> dict | None:
    """The deployment ECS is moving the service to (``status`` PRIMARY): the newest one."""
    return next((d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"), None)


def service_tasks(ecs, cluster: str, service: str, status: str) -> list[dict]:
    """Every task of the service with this desired status (RUNNING or STOPPED), every page of
    ListTasks read (by ``serviceName``: ``startedBy`` may be ListTasks' only filter), described
    100 at a time."""
    arns: list[str] = []
    kwargs: dict[str, Any] = {"cluster": cluster, "serviceName": service, "desiredStatus": status}
    while True:
        page = ecs.list_tasks(**kwargs)
        arns += page.get("taskArns", [])
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    tasks: list[dict] = []
    for start in range(0, len(arns), PAGE):
        tasks += ecs.describe_tasks(cluster=cluster, tasks=arns[start:start + PAGE]).get("tasks", [])
    return tasks


def stopped_tasks(ecs, cluster: str, service: str, started_by: str | None = None) -> list[dict]:
    """The service's stopped tasks (of one deployment when ``started_by``), newest first."""
    tasks = [t for t in service_tasks(ecs, cluster, service, "STOPPED")
             if started_by is None or t.get("startedBy") == started_by]
    return sorted(tasks, key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)


def is_failure(task: dict) -> bool:
    """A task that failed, not one the scheduler stopped to scale in or to replace it."""
    reason = task.get("stoppedReason") or ""
    return bool(reason) and (task.get("stopCode") != "ServiceSchedulerInitiated" or "health checks" in reason)


def _addresses(ecs, cluster: str, service: str, deployment_id: str) -> set[str]:
    tasks = [t for t in service_tasks(ecs, cluster, service, "RUNNING") if t.get("startedBy") == deployment_id]
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


def _state(ecs, elbv2, cluster: str, service: str, svc: dict, watched: dict, *,
           last_stopped: bool = False) -> ServiceState:
    dep_id = watched.get("id")
    running = int(watched.get("runningCount", 0))
    healthy = (_healthy(elbv2, svc, _addresses(ecs, cluster, service, dep_id) if dep_id else None)
               if svc.get("loadBalancers") else running)
    last = None
    if last_stopped:
        last = next((t["stoppedReason"] for t in stopped_tasks(ecs, cluster, service) if t.get("stoppedReason")), None)
    return ServiceState(
        desired=int(watched.get("desiredCount", svc.get("desiredCount", 0))), running=running,
        pending=int(watched.get("pendingCount", 0)), rollout_state=str(watched.get("rolloutState") or "UNKNOWN"),
        deployment_id=dep_id, healthy_targets=healthy, last_stopped_reason=redact(last) if last else None,
        rollout_reason=str(watched.get("rolloutStateReason") or ""), failed_tasks=int(watched.get("failedTasks") or 0),
        task_definition=watched.get("taskDefinition"),
        draining=sum(1 for d in svc.get("deployments") or [] if d.get("id") != dep_id and d.get("runningCount", 0)))


def service_state(target: AwsTarget, cluster: str, service: str) -> ServiceState | None:
    """The service's primary deployment as ``byoc status`` shows it (None: no active service),
    with the newest stopped task's reason of every page."""
    ecs, elbv2 = target.client("ecs"), target.client("elbv2")
    try:
        svc = active_service(ecs, cluster, service)
        if svc is None:
            return None
        primary = primary_deployment(svc) or {"desiredCount": svc.get("desiredCount", 0)}
        return _state(ecs, elbv2, cluster, service, svc, primary, last_stopped=True)
    except aws_errors() as exc:
        raise aws_error(exc, "reading the ECS service") from None


# --- the watch ----------------------------------------------------------------------------------

@dataclass
class _Watch:
    """One rollout followed: which deployment, what has been seen and said."""

    cluster: str
    service: str
    say: Callable[[str], None]
    timeout: float
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    deployment_id: str | None
    task_definition: str | None
    start: float = 0.0
    seen: bool = False
    last_line: str = ""
    polls: int = 0
    throttled: int = 0
    said: set[str] = field(default_factory=set)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    def once(self, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            self.say(text)

    def pause(self) -> None:
        remaining = self.timeout - self.elapsed
        self.sleep(min(POLL_SECONDS[min(self.polls, len(POLL_SECONDS) - 1)], max(remaining, 0.1)))
        self.polls += 1

    def name(self) -> str:
        return f"deployment {self.deployment_id}" if self.deployment_id else \
            f"the deployment of {revision(self.task_definition)}"


def wait_for_rollout(target: AwsTarget, cluster: str, service: str, *, say: Callable[[str], None],
                     timeout: float = WAIT_TIMEOUT_SECONDS, deployment_id: str | None = None,
                     task_definition: str | None = None, sleep: Callable[[float], None] = time.sleep,
                     clock: Callable[[], float] = time.monotonic) -> ServiceState:
    """Follow one deployment — ``deployment_id`` (UpdateService's answer), else the newest one of
    ``task_definition`` (a revision Terraform just put on the service), else the primary one —
    until ECS's verdict: its state when done; RolloutFailed, with ECS's reason, the stopped tasks
    that caused it (explained) and what ECS's rollback did, when it failed or was replaced;
    ByocError when ``timeout`` passes (ECS goes on)."""
    from botocore.exceptions import ClientError

    ecs, elbv2 = target.client("ecs", retry=False), target.client("elbv2", retry=False)
    w = _Watch(cluster, service, say, timeout, sleep, clock, deployment_id, task_definition)
    w.start = clock()
    while True:
        try:
            verdict = _look(ecs, elbv2, w)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in THROTTLING_CODES:
                raise aws_error(exc, "watching the ECS service's rollout") from None
            delay = BACKOFF_SECONDS[min(w.throttled, len(BACKOFF_SECONDS) - 1)]
            w.throttled += 1
            if w.elapsed + delay >= timeout:
                raise ByocError(f"the rollout could not be watched: ECS kept throttling byoc's reads ({code}) for "
                                f"{w.elapsed:.0f}s; ECS goes on: watch it with `byoc status`.") from None
            say(f"ECS is throttling byoc's reads ({code}); trying again in {delay}s ...")
            sleep(delay)
            continue
        except aws_errors() as exc:
            raise aws_error(exc, "watching the ECS service's rollout") from None
        w.throttled = 0
        if verdict is not None:
            return verdict
        if w.elapsed >= timeout:
            raise ByocError(f"the rollout of {w.name()} is not done after {timeout:.0f}s ({w.last_line}): ECS goes "
                            "on; watch it with `byoc status`, read `byoc logs`, or run `byoc doctor`.")
        w.pause()


def _look(ecs, elbv2, w: _Watch) -> ServiceState | None:
    """One look at the service: the verdict, or None to look again."""
    svc = active_service(ecs, w.cluster, w.service)
    if svc is None:
        raise ByocError(f"the ECS service {w.service} is not active in cluster {w.cluster}: run `byoc deploy`.")
    deployments = svc.get("deployments") or []
    watched = _find(deployments, w)
    if watched is None:
        return _unlisted(ecs, elbv2, svc, w)
    w.seen, w.deployment_id = True, watched["id"]
    state = _state(ecs, elbv2, w.cluster, w.service, svc, watched)
    line = f"Rollout {w.deployment_id}: {state.line()}"
    if line != w.last_line:
        w.say(f"{line} ({w.elapsed:.0f}s)")
        w.last_line = line
    if state.rollout_state == "FAILED":
        raise _failed(ecs, elbv2, svc, state, w)
    if watched.get("status") != "PRIMARY":  # still listed, but a newer deployment is replacing it
        raise _replaced(ecs, elbv2, svc, w)
    if state.rollout_state in ("COMPLETED", "IN_PROGRESS") and state.running >= state.desired \
            and state.healthy_targets >= state.desired:
        _warn_stopped(ecs, w)
        if state.draining:
            w.say("Older tasks are draining; new tasks serve.")
        return state
    return None


def _find(deployments: list[dict], w: _Watch) -> dict | None:
    if w.deployment_id:
        return next((d for d in deployments if d.get("id") == w.deployment_id), None)
    if w.task_definition:
        return next((d for d in deployments if d.get("taskDefinition") == w.task_definition), None)
    return primary_deployment({"deployments": deployments})


def _unlisted(ecs, elbv2, svc: dict, w: _Watch) -> None:
    """The watched deployment is not in the service's list: not yet (eventual consistency), or no
    more (replaced)."""
    if not w.seen:
        bound = min(VISIBLE_WITHIN_SECONDS, w.timeout)
        if w.elapsed < bound:
            w.once(f"ECS does not list {w.name()} yet (its API is eventually consistent); waiting up to "
                   f"{bound:.0f}s for it ...")
            return None
        raise ByocError(f"ECS has not listed {w.name()} in {bound:.0f}s: the service's deployments are "
                        f"{', '.join(d.get('id', '?') for d in svc.get('deployments') or []) or 'none'}; see "
                        "`byoc status` and the service's events (`aws ecs describe-services`).")
    raise _replaced(ecs, elbv2, svc, w)


def _replaced(ecs, elbv2, svc: dict, w: _Watch) -> RolloutFailed:
    """The watched deployment is no longer (or no longer the PRIMARY) one: say which replaced it —
    ECS's rollback of it, or another deployment."""
    primary = primary_deployment(svc) or {}
    if _is_rollback(primary):
        return _failed(ecs, elbv2, svc, None, w, rollback=primary)
    failed_event = _failed_and_rolled_back(svc, w.deployment_id)
    if failed_event:
        # ECS failed it and its rollback completed between two looks: the rollback's reason now
        # says "completed" and the failed deployment is no longer listed, but the service's
        # events keep ECS's words for both.
        return _failed(ecs, elbv2, svc, None, w, rollback=primary, ecs_says=failed_event)
    by = f"deployment {primary.get('id', '?')} ({revision(primary.get('taskDefinition'))}, " \
         f"{primary.get('rolloutState', '?')}: {primary.get('rolloutStateReason', '')})"
    return RolloutFailed(f"{w.name()} was replaced before it completed, by {by}: this command's change may not be "
                         "what runs; see `byoc status`.", None)


def _failed_and_rolled_back(svc: dict, deployment_id: str | None) -> str | None:
    """ECS's event saying ``deployment_id`` failed, when a later event says ECS rolled it back
    ("(service s) (deployment <id>) deployment failed: tasks failed to start.", then "(service s)
    rolling back to deployment <id>."); else None."""
    if not deployment_id:
        return None
    rolled_back = False
    for event in svc.get("events") or []:  # newest first
        message = event.get("message") or ""
        if ROLLING_BACK in message.lower():
            rolled_back = True
        elif f"(deployment {deployment_id})" in message and DEPLOYMENT_FAILED in message.lower():
            return message if rolled_back else None
    return None


def _is_rollback(deployment: dict) -> bool:
    reason = (deployment.get("rolloutStateReason") or "").lower()
    return CIRCUIT_BREAKER in reason and ROLLING_BACK in reason


def _causes(ecs, w: _Watch) -> tuple[list[dict], str]:
    """The watched deployment's failed tasks, newest first, and their reasons counted and explained."""
    failed = [t for t in stopped_tasks(ecs, w.cluster, w.service, w.deployment_id) if is_failure(t)]
    reasons = Counter(redact(t["stoppedReason"]) for t in failed)
    text = "; ".join(f"{n}x {reason} -> {explain_stopped(reason)}" for reason, n in reasons.most_common())
    return failed, text


def _warn_stopped(ecs, w: _Watch) -> None:
    failed, text = _causes(ecs, w)
    if failed:
        w.say(f"Warning: {len(failed)} task(s) of {w.name()} stopped before the rollout completed (ECS replaced them "
              f"and the rollout went on): {text}")


def _failed(ecs, elbv2, svc: dict, state: ServiceState | None, w: _Watch, *,
            rollback: dict | None = None, ecs_says: str | None = None) -> RolloutFailed:
    """ECS failed the watched deployment: its reason and causes; then, when ECS rolls back, the
    rollback followed to its end (within the timeout), so the message says what runs."""
    failed, causes = _causes(ecs, w)
    ecs_says = state.rollout_reason if state else (ecs_says or "(no longer listed)")
    count = f"{state.failed_tasks} failed task(s)" if state and state.failed_tasks else f"{len(failed)} failed task(s)"
    message = f"the rollout of {w.name()} failed: ECS says \"{ecs_says}\" ({count})"
    message += f": {causes}." if causes else "; no stopped task of it is listed (ECS lists them about an hour)."
    rollback = rollback or _rollback_of(ecs, svc, w)
    if rollback is None:
        message += " ECS does not roll it back (no rollback, or no earlier completed deployment); see `byoc status`."
    else:
        message += " " + _follow_rollback(ecs, elbv2, rollback, w)
    return RolloutFailed(message, redact(failed[0]["stoppedReason"]) if failed else None)


def _rollback_of(ecs, svc: dict, w: _Watch) -> dict | None:
    """ECS's rollback deployment of the watched one, waited for (eventual consistency) when the
    service's circuit breaker rolls back: None when it does not, or none shows in time."""
    breaker = (svc.get("deploymentConfiguration") or {}).get("deploymentCircuitBreaker") or {}
    deadline = w.elapsed + min(VISIBLE_WITHIN_SECONDS, max(w.timeout - w.elapsed, 0))
    while True:
        found = next((d for d in svc.get("deployments") or [] if d.get("status") == "PRIMARY"
                      and d.get("id") != w.deployment_id and _is_rollback(d)), None)
        if found is not None or not breaker.get("rollback") or w.elapsed >= deadline:
            return found
        w.pause()
        svc = active_service(ecs, w.cluster, w.service) or {}


def _follow_rollback(ecs, elbv2, rollback: dict, w: _Watch) -> str:
    """Follow ECS's rollback deployment until it is done, fails, or the watch's time is up."""
    back = f"ECS's circuit breaker rolled back to {revision(rollback.get('taskDefinition'))} " \
           f"(deployment {rollback.get('id')})"
    w.say(f"ECS's circuit breaker is rolling back: deployment {rollback.get('id')}, "
          f"{revision(rollback.get('taskDefinition'))} ...")
    while True:
        svc = active_service(ecs, w.cluster, w.service) or {}
        current = next((d for d in svc.get("deployments") or [] if d.get("id") == rollback.get("id")), None)
        if current is None:
            return f"{back}; it was replaced in turn: see `byoc status`."
        state = _state(ecs, elbv2, w.cluster, w.service, svc, current)
        if state.rollout_state == "FAILED":
            return f"{back}, and the rollback failed too ({state.rollout_reason}): see `byoc doctor`."
        if state.running >= state.desired and state.healthy_targets >= state.desired:
            return f"{back}: {state.line()}; see `byoc status`."
        if w.elapsed >= w.timeout:
            return f"{back}; not done after {w.timeout:.0f}s ({state.line()}): see `byoc status`."
        w.pause()
