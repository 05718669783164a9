"""Gap 4 of the embedded emulator: ECS services that start tasks, modelled on what ECS does.

moto runs no containers: a service's tasks never exist, so nothing about a deployment's outcome
(the point of deploying) can be seen. This model gives every ECS service of the emulator tasks
that ``ListTasks`` / ``DescribeTasks`` show, and deployments that ``DescribeServices`` reports,
following AWS's documentation of what matters to this stack:

* A deployment (``ecs-svc/<n>``, ``startedBy`` of its tasks) starts when a service is created,
  when its task definition changes and on ``forceNewDeployment``; ECS injects ``secrets`` only
  when a task starts, so a new secret value reaches a service only through a new deployment.
* Tasks go PROVISIONING -> PENDING -> RUNNING, one phase per ``BYOC_EMULATOR_TASK_SECONDS``
  (1 s by default), on the model's own clock: a read advances the service through every start,
  failure and backed-off restart due since the last read, each at its own time. In PENDING each container's ``secrets`` are resolved the way ECS's agent
  does: the secret must exist and have a version with the ``valueFrom`` stage (AWSCURRENT), and
  with a JSON key the value must be a JSON object holding that key. Otherwise the task stops
  with ``stopCode`` TaskFailedToStart and AWS's own ``stoppedReason`` text
  (``ResourceInitializationError: unable to pull secrets or registry auth: ...``).
* A RUNNING task registers its address in the service's target groups: ``initial`` for one
  phase, then ``healthy``. Its container writes one line to its awslogs stream
  (``<prefix>/<container>/<task id>``), saying that the key was injected and how long it is — never
  the value (the seed's own check: ``echo "$PINECONE_API_KEY" | wc -c``).
* Once the primary deployment has its desired count running and healthy, the older deployments'
  tasks stop (``Scaling activity initiated by (deployment ...)``) and the rollout is COMPLETED.
  Failed tasks count towards the deployment circuit breaker (threshold: half the desired count,
  at least 3, at most 200): then the rollout is FAILED and, with rollback on, ECS starts a
  rollback deployment of the previous task definition.

* A task start is judged by the policies, as the execution role (gap 11, ``authorizer.py``): the
  ECR pull of a private image (the image must exist in the emulator's ECR; GetAuthorizationToken,
  BatchGetImage and GetDownloadUrlForLayer under the repository policy), ``GetSecretValue`` for each
  ``valueFrom`` — through the task VPC's Secrets Manager interface endpoint when it has one with
  private DNS (``aws:SourceVpce``, ``aws:SourceVpc``, the endpoint's policy), else from outside any
  endpoint, or not at all when the subnets have neither that endpoint nor a NAT route (the seed's
  "connection issue" failure) — then ``kms:Decrypt`` through Secrets Manager under the key policy,
  and the awslogs stream (``logs:CreateLogStream``/``PutLogEvents``). A denial stops the task
  with the ``stoppedReason`` ECS gives for it.

What it does not do: it runs no code and sends no traffic, and pulls no public image (those go
through the NAT, not modelled). Those outcomes can be asked for, one test at a time, through
the emulator's fault switch (``POST /byoc-emulator/faults``, see ``FAULTS``): the image missing,
health checks failing, the application exiting — each stopping tasks with the reason AWS gives
for it. Denials are never switched on: they come from the policies.

Wired into moto by ecs.py (service changes, reads, ListTasks), elbv2.py (target health) and
ec2.py (the tasks' network interfaces); the fault switch is served by server.py.

AWS documentation followed (Amazon ECS Developer Guide and API Reference):
- "Amazon ECS task lifecycle",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html
- "Pass Secrets Manager secrets through Amazon ECS environment variables",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
- "How the Amazon ECS deployment circuit breaker detects failures",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
- "Stopped tasks error codes",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html
- "Send Amazon ECS logs to CloudWatch" (the awslogs stream name),
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html
- Deployment, Task (stopCode, stoppedReason),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html,
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cli.core.aws_texts import FROM_SECRETS_MANAGER, SECRETS_PREFIX
from cli.emulator import authorizer

#: Seconds per task phase (PROVISIONING, PENDING, RUNNING-before-healthy), 1 unless
#: BYOC_EMULATOR_TASK_SECONDS says otherwise (read at every step, so a test can shorten it).
PHASE_ENV = "BYOC_EMULATOR_TASK_SECONDS"


def _phase() -> float:
    try:
        return max(float(os.environ.get(PHASE_ENV, "1")), 0.01)
    except ValueError:
        return 1.0

#: The fault and behaviour switch: name -> the settings it takes. Set with set_faults (or the HTTP
#: endpoint). The first three model what the emulator cannot see (the image, the application);
#: the rest, AWS's documented behaviour that moto never shows (``ecs_reads.py``).
FAULTS: dict[str, tuple[str, ...]] = {
    # The image cannot be pulled.
    "image": ("missing",),
    # The load balancer's health checks fail on every running task.
    "health": ("failing",),
    # The application: "exits", its essential container exits soon after every task starts;
    # "exits-once", only the next task's does (an app that crashed once and was replaced; the
    # switch then turns itself off); "rejects-new-keys", it rejects every key version stored after
    # the switch was set (a revoked or mistyped key), so the health checks fail on the tasks that
    # hold one, and pass on those that hold an older version.
    "app": ("exits", "exits-once", "rejects-new-keys"),
    # ECS's API is eventually consistent ("might not be immediately visible to all subsequent
    # commands"): a deployment UpdateService starts is missing from the next DescribeServices reads.
    "deployment_visibility": ("delayed",),
    # The service has been crash-looping for the last hour: ListTasks shows 120 more stopped tasks
    # (ECS lists stopped tasks for at least an hour), more than one page of 100.
    "stopped_history": ("crash-loop",),
    # ECS's request rate exceeded: the next few ECS reads are ThrottlingException (then it turns
    # itself off).
    "throttling": ("burst",),
}
_faults: dict[str, str] = {}
#: What a switch holds while on: the key versions stored before "rejects-new-keys", the reads left
#: of a throttling burst.
_armed: dict[str, Any] = {}
_lock = threading.RLock()
#: ECS reads a throttling burst refuses.
THROTTLED_READS = 4

#: What ECS's agent says when it cannot fetch a secret (ECS Developer Guide, "Troubleshoot Amazon ECS
#: ResourceInitializationError errors"); the text byoc matches is in cli/core/aws_texts.py.
RETRIEVAL = f"{SECRETS_PREFIX}: execution resource retrieval failed: "
SECRET_PREFIX = f"{RETRIEVAL}{FROM_SECRETS_MANAGER}: service call has been retried 1 time(s): "


def set_faults(changes: dict[str, str | None]) -> dict[str, str]:
    """Switch faults on (``{"image": "missing"}``) or off (``None``); returns them all."""
    with _lock:
        for name, value in changes.items():
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
            if value is not None and value not in FAULTS[name]:
                raise ValueError(f"fault {name} takes {', '.join(FAULTS[name])}, not {value!r}")
        for name, value in changes.items():
            _armed.pop(name, None)
            if value is None:
                _faults.pop(name, None)
                continue
            _faults[name] = value
            if value == "rejects-new-keys":
                _armed[name] = _stored_versions()
            elif value == "exits-once":
                _armed[name] = time.monotonic()  # only a task started from now on
            elif name == "throttling":
                _armed[name] = THROTTLED_READS
        return dict(_faults)


def _stored_versions() -> set[str]:
    """Every secret version the emulator holds now (any account, any region)."""
    from moto.secretsmanager.models import secretsmanager_backends

    return {version for regions in list(secretsmanager_backends.values()) for backend in list(regions.values())
            for secret in backend.secrets.values() for version in secret.versions}


def take_throttled_read() -> bool:
    """Whether this ECS read is refused by a throttling burst (one of THROTTLED_READS)."""
    with _lock:
        left = _armed.get("throttling", 0)
        if not left:
            return False
        _armed["throttling"] = left - 1
        if left == 1:
            _faults.pop("throttling", None)
            _armed.pop("throttling", None)
        return True


def faults() -> dict[str, str]:
    with _lock:
        return dict(_faults)


def reset() -> None:
    with _lock:
        _faults.clear()
        _armed.clear()
        _models.clear()


@dataclass
class _Deployment:
    id: str
    task_definition: str
    desired: int
    created: datetime
    status: str = "PRIMARY"
    rollout: str = "IN_PROGRESS"
    reason: str = ""
    failed: int = 0
    is_rollback: bool = False
    next_start: float = 0.0  # monotonic time before which no task is started (ECS backs off)
    updated: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class _Service:
    deployments: list[_Deployment]
    events: list[dict[str, Any]] = field(default_factory=list)
    steady: bool = False
    #: The last deployment that completed (id, task definition): where a rollback goes.
    last_completed: tuple[str, str] | None = None
    #: Deployment id -> DescribeServices reads it is still missing from (deployment_visibility).
    hidden: dict[str, int] = field(default_factory=dict)
    #: ARNs of the crash-looping hour's stopped tasks (stopped_history; ecs_reads.py).
    history: list[str] = field(default_factory=list)
    #: The monotonic time of the last read that advanced this service (``_schedule``).
    last_tick: float = 0.0
    #: The model's time of the last failed task (the breaker trips then; its rollback starts after).
    last_failure: float = 0.0


#: Service ARN -> its model.
_models: dict[str, _Service] = {}
_counter = [0]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _deployment_id() -> str:
    _counter[0] += 1
    return f"ecs-svc/{int(time.time() * 1000) % 10**13:013d}{_counter[0]:06d}"


def _event(model: _Service, message: str) -> None:
    model.events.insert(0, {"id": f"{time.time_ns():x}", "createdAt": _now(), "message": message})
    del model.events[100:]


def _breaker(service) -> dict[str, Any]:
    return (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}


# --- entry points, called by the emulator's patched ECS handlers --------------------------------

def on_create(backend, service, deployment_configuration: dict | None) -> None:
    with _lock:
        service.deployment_configuration = deployment_configuration or {}
        model = _Service([_Deployment(_deployment_id(), service.task_definition, int(service.desired_count or 0),
                                      _now(), next_start=time.monotonic())])  # its tasks start now, read or not
        _models[service.arn] = model
        _publish(backend, service, model)


def on_update(backend, service, *, new_deployment: bool, deployment_configuration: dict | None) -> None:
    with _lock:
        model = _models.get(service.arn)
        if model is None:
            return
        if deployment_configuration:
            service.deployment_configuration = deployment_configuration
        primary = model.deployments[0]
        desired = int(service.desired_count or 0)
        if new_deployment or service.task_definition != primary.task_definition:
            primary.status = "ACTIVE"
            started = _Deployment(_deployment_id(), service.task_definition, desired, _now(), next_start=time.monotonic())
            model.deployments.insert(0, started)
            model.steady = False
            if faults().get("deployment_visibility") == "delayed":
                from cli.emulator.ecs_reads import HIDDEN_READS
                model.hidden[started.id] = HIDDEN_READS
        else:
            if desired != primary.desired:
                model.steady = False
            primary.desired = desired
        _schedule(backend, service, model)
        # UpdateService answers with "the full description of your service following the update
        # call": the new deployment included, whatever later reads show.
        _publish(backend, service, model, hide=False)


def on_delete(backend, service) -> None:
    with _lock:
        model = _models.get(service.arn)
        if model is None:
            return
        for task in _tasks(backend, service):
            if task.last_status != "STOPPED":
                _stop(backend, service, task, "ServiceSchedulerInitiated", "Service deleted")  # ECS's own words
        _publish(backend, service, model)


def tick(backend) -> None:
    """Advance every service of this ECS backend to now (called before each read)."""
    with _lock:
        for service in list(backend.services.values()):
            model = _models.get(service.arn)
            if model is not None and service.status == "ACTIVE":
                _schedule(backend, service, model)


def target_health(target_group, target_id: str):
    """(state, reason, description) the model holds for a target, or None for moto's own answer."""
    return getattr(target_group, "_byoc_health", {}).get(target_id)


# --- the scheduler ----------------------------------------------------------------------------

def _tasks(backend, service) -> list:
    return [t for t in backend.tasks.get(service.cluster_name, {}).values()
            if getattr(t, "_byoc_service", None) == service.arn]


def _schedule(backend, service, model: _Service) -> None:
    """Advance the service to now. ECS does not wait for anyone to look: every start, failure
    and backed-off restart due since the last read happens at its own time, so one read after
    ten seconds finds what ten reads a second apart would (the first version started a backed-off
    task only at the read that found it due, so a rollout's pace was the watcher's polling pace)."""
    from cli.emulator import ecs_reads

    clock = time.monotonic()
    ecs_reads.keep_stopped_history(backend, service, model, faults().get("stopped_history") == "crash-loop")
    for _ in range(200):  # each pass starts at most one round of tasks; bounded, never endless
        if not _step(backend, service, model, clock):
            break
    model.last_tick = clock
    _publish(backend, service, model)


def _step(backend, service, model: _Service, clock: float) -> bool:
    """One pass of the scheduler at ``clock``: True when it started tasks (another pass may find
    them failed and due for a restart before ``clock``)."""
    started_any = False
    tasks = _tasks(backend, service)
    for task in tasks:
        _advance(backend, service, model, task, clock)
    primary = model.deployments[0]
    live = [t for t in tasks if t.last_status != "STOPPED"]
    mine = [t for t in live if t.started_by == primary.id]
    breaker = _breaker(service)
    threshold = min(max(3, math.ceil(primary.desired / 2)), 200)
    # A deployment whose failures reached the threshold starts no more tasks: the breaker below
    # fails it in this pass.
    tripped = primary.rollout == "IN_PROGRESS" and breaker.get("enable") and primary.failed >= threshold
    if primary.rollout != "FAILED" and not tripped:
        missing = primary.desired - len(mine)
        if missing > 0 and clock >= primary.next_start:
            # A start held back by ECS's backoff happened when the backoff ended, if that was
            # since the last read; any other start happens now (the change that asked for it).
            at = primary.next_start if primary.next_start > model.last_tick else clock
            for _ in range(missing):
                mine.append(_start(backend, service, model, primary, at))
            started_any = at < clock
            _event(model, f"(service {service.name}) has started {missing} tasks: "
                          + " ".join(f"(task {t.id})" for t in mine[-missing:]) + ".")
        for task in sorted(mine, key=lambda t: t._byoc_started)[primary.desired:] if missing < 0 else []:
            _stop(backend, service, task, "ServiceSchedulerInitiated",
                  f"Scaling activity initiated by (deployment {primary.id})")
    healthy = [t for t in mine if t.last_status == "RUNNING" and _healthy(task=t)]
    if healthy and primary.failed and breaker.get("resetOnHealthyTask", True):
        # DeploymentCircuitBreaker.resetOnHealthyTask (default true): "a task that reaches a
        # healthy state resets the failure count to 0".
        primary.failed = 0
    if primary.rollout != "FAILED" and len(healthy) >= primary.desired:
        for task in live:
            if task.started_by != primary.id:
                _stop(backend, service, task, "ServiceSchedulerInitiated",
                      f"Scaling activity initiated by (deployment {primary.id})")
        model.deployments = [primary]
        if primary.rollout == "IN_PROGRESS":
            primary.rollout, primary.reason = "COMPLETED", f"ECS deployment {primary.id} completed."
            model.last_completed = (primary.id, primary.task_definition)
            _event(model, f"(service {service.name}) (deployment {primary.id}) deployment completed.")
        if not model.steady:
            model.steady = True
            _event(model, f"(service {service.name}) has reached a steady state.")
    if primary.rollout == "IN_PROGRESS" and breaker.get("enable") and primary.failed >= threshold:
        primary.rollout = "FAILED"
        primary.reason = "ECS deployment circuit breaker: tasks failed to start."
        _event(model, f"(service {service.name}) (deployment {primary.id}) deployment failed: tasks failed to start.")
        target = model.last_completed
        if breaker.get("rollback") and target and target[0] != primary.id and not primary.is_rollback:
            # "rolled back to the last deployment that completed successfully" (API reference,
            # DeploymentCircuitBreaker); the new deployment names it (ECS's deployment state
            # change events: "ECS deployment circuit breaker: rolling back to deploymentId ...").
            primary.status = "ACTIVE"
            back = _Deployment(_deployment_id(), target[1], primary.desired, _now(), is_rollback=True,
                               next_start=model.last_failure + _phase())
            back.reason = f"ECS deployment circuit breaker: rolling back to deploymentId {target[0]}."
            model.deployments.insert(0, back)
            service.task_definition = back.task_definition
            _event(model, f"(service {service.name}) rolling back to deployment {target[0]}.")
            started_any = True  # the rollback's first start may be due before ``clock``
    return started_any


def _healthy(task) -> bool:
    return all(target_health(group, task._byoc_ip) is None or target_health(group, task._byoc_ip)[0] == "healthy"
               for group in task._byoc_target_groups)


def _start(backend, service, model: _Service, deployment: _Deployment, clock: float):
    from moto.ecs.models import Task

    cluster = backend.clusters[service.cluster_name]
    task_definition = backend.describe_task_definition(deployment.task_definition)
    task = Task(cluster=cluster, task_definition=task_definition, container_instance_arn=None,
                resource_requirements=None, backend=backend, group=f"service:{service.name}", launch_type="FARGATE",
                started_by=deployment.id, networking_configuration=service.network_configuration or None,
                platform_version=service.platform_version)
    task._transitions = []  # the model, not moto's state manager, moves this task on
    task.last_status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.created_at = _now()
    task._byoc_service, task._byoc_started, task._byoc_target_groups = service.arn, clock, []
    task._byoc_key_versions = []  # the secret versions its start read
    task._byoc_ip = next((d["value"] for a in task.attachments for d in a["details"]
                          if d["name"] == "privateIPv4Address"), None)
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


def _advance(backend, service, model: _Service, task, clock: float) -> None:
    if task.last_status == "STOPPED":
        return
    age = clock - task._byoc_started
    if task.last_status == "PROVISIONING" and age >= _phase():
        task.last_status = "PENDING"
    if task.last_status == "PENDING" and age >= 2 * _phase():
        failure = _start_failure(backend, service, task)
        if failure:
            _failed(backend, service, model, task, "TaskFailedToStart", failure, at=task._byoc_started + 2 * _phase())
            return
        task.last_status, task.started_at = "RUNNING", _now()
        for container in task.containers:
            container.last_status = "RUNNING"
        _register(backend, service, task)
        _log_start(backend, task)
    if task.last_status != "RUNNING":
        return
    fault = faults()
    failing = fault.get("health") == "failing" or _key_rejected(task)
    if age >= 3 * _phase():
        state = ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]") \
            if failing else ("healthy", None, None)
        for group in task._byoc_target_groups:
            group._byoc_health[task._byoc_ip] = state
        if fault.get("app") == "exits" or (fault.get("app") == "exits-once" and _started_since_switch(task)):
            if fault.get("app") == "exits-once":
                set_faults({"app": None})
            for container in task.containers:
                container.exitCode = 1
            _failed(backend, service, model, task, "EssentialContainerExited", "Essential container in task exited",
                    at=task._byoc_started + 3 * _phase())
            return
    if failing and age >= 4 * _phase():
        groups = ", ".join(g.arn for g in task._byoc_target_groups)
        _failed(backend, service, model, task, "ServiceSchedulerInitiated",
                f"Task failed ELB health checks in (target-group {groups})", at=task._byoc_started + 4 * _phase())


def _started_since_switch(task) -> bool:
    with _lock:
        switched = _armed.get("app")
    return isinstance(switched, float) and task._byoc_started >= switched


def _key_rejected(task) -> bool:
    """The application rejects the key this task holds ("rejects-new-keys": a version stored after
    the switch was set)."""
    with _lock:
        if _faults.get("app") != "rejects-new-keys":
            return False
        before = _armed.get("app") or set()
    return any(version not in before for version in task._byoc_key_versions)


def _failed(backend, service, model: _Service, task, code: str, reason: str, *, at: float) -> None:
    """``task`` stopped with ``reason`` at ``at`` (the model's time of the failure, not the read's;
    never before the last read, which found it alive: a fault switched on since acts from then)."""
    at = max(at, model.last_tick)
    _stop(backend, service, task, code, reason)
    for deployment in model.deployments:
        if deployment.id == task.started_by:
            deployment.failed += 1
            deployment.next_start = at + _phase()  # ECS backs off between failed starts
    model.last_failure = max(model.last_failure, at)
    _event(model, f"(service {service.name}) has stopped 1 running tasks: (task {task.id}).")


def _stop(backend, service, task, code: str, reason: str) -> None:
    task.last_status = task.desired_status = "STOPPED"
    task.stop_code, task.stopped_reason = code, reason
    task.stopping_at = task.stopped_at = _now()
    for container in task.containers:
        container.last_status = "STOPPED"
    _deregister(backend, task)


# --- what a task start touches: the secret, the image, the load balancer, the logs ---------------

def _start_failure(backend, service, task) -> str | None:
    """AWS's stoppedReason when this task cannot start, else None."""
    definition = backend.describe_task_definition(task.task_definition_arn)
    fault = faults()
    start = _TaskStart.of(backend, service, definition, task)
    for container in definition.container_definitions:
        for secret in container.get("secrets") or []:
            reason, version = _secret_failure(start, secret.get("valueFrom", ""))
            if reason:
                return reason
            if version:
                task._byoc_key_versions.append(version)
        reason = _image_failure(start, container.get("image", ""), fault)
        if reason:
            return reason
        reason = _logs_failure(start, container)
        if reason:
            return reason
    return None


@dataclass(frozen=True)
class _TaskStart:
    """What a task start is judged with: who asks (the execution role's session, named by the
    task id as ECS names it), and where from (the task's VPC, its endpoints, a way out)."""

    account: str
    region: str
    task_id: str
    execution: authorizer.Principal | None
    vpc_id: str | None
    #: service (``secretsmanager``, ``ecr.dkr``, ...) -> the VPC's available interface endpoint with private DNS.
    endpoints: dict[str, Any]
    #: Whether every task subnet has a default route to a NAT gateway (or another way out).
    nat: bool

    @classmethod
    def of(cls, backend, service, definition, task) -> "_TaskStart":
        from moto.ec2.models import ec2_backends

        account, region = backend.account_id, service.region_name
        role = definition.execution_role_arn
        execution = authorizer.role_principal(account, role, task.id) if role else None
        ec2 = ec2_backends[account][region]
        subnets = ((service.network_configuration or {}).get("awsvpcConfiguration") or {}).get("subnets") or []
        vpc_id = next((ec2.get_subnet(s).vpc_id for s in subnets if s in _subnet_ids(ec2)), None)
        endpoints = {}
        for endpoint in ec2.vpc_end_points.values():
            if endpoint.vpc_id == vpc_id and endpoint.vpc_endpoint_type == "Interface" and endpoint.private_dns_enabled \
                    and str(endpoint.state).lower() == "available":
                endpoints[endpoint.service_name.split(f".{region}.", 1)[-1]] = endpoint
        return cls(account, region, task.id, execution, vpc_id, endpoints, bool(subnets) and all(
            _has_way_out(ec2, vpc_id, s) for s in subnets))

    def through(self, service: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The request context and endpoint policy of a call to ``service`` from the task."""
        endpoint = self.endpoints.get(service)
        if endpoint is None:
            return {}, []
        return ({"aws:SourceVpce": endpoint.id, "aws:SourceVpc": self.vpc_id},
                [(endpoint.id, endpoint.policy_document)])

    def reachable(self, service: str) -> bool:
        return service in self.endpoints or self.nat


def _subnet_ids(ec2) -> set[str]:
    return {s.id for azs in ec2.subnets.values() for s in azs.values()}


def _has_way_out(ec2, vpc_id: str | None, subnet_id: str) -> bool:
    """A 0.0.0.0/0 route to a NAT gateway (or instance, or transit gateway) in the subnet's route
    table (its own, else the VPC's main one): VPC User Guide, "Subnet route tables"."""
    tables = list(ec2.route_tables.values())
    table = next((t for t in tables if subnet_id in t._associations.values()), None) or next(
        (t for t in tables if t.vpc_id == vpc_id and t.main_association_id), None)
    for route in (table.routes if table is not None else ()):
        if route.destination_cidr_block == "0.0.0.0/0" and (getattr(route, "nat_gateway", None) is not None or getattr(
                route, "instance", None) is not None or getattr(route, "transit_gateway", None) is not None):
            return True
    return False


_SECRET_REF = re.compile(r"^(arn:[^:]+:secretsmanager:([^:]+):(\d{12}):secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?$")


def _secret_failure(start: _TaskStart, value_from: str) -> tuple[str | None, str | None]:
    """(AWS's stoppedReason when the task cannot read this secret, else None; the version it read)."""
    match = _SECRET_REF.match(value_from)
    if not match:
        return None, None  # an SSM parameter or a plain name: not modelled (this stack has none)
    arn, region, account, json_key, stage, version = match.groups()
    fetch = f"failed to fetch secret {arn} from secrets manager: "
    if not start.reachable("secretsmanager"):
        # The seed's own failure: no endpoint and no NAT, so the agent's call times out.
        return (f"{SECRETS_PREFIX}: {FROM_SECRETS_MANAGER}: There is a connection issue between the task and AWS "
                "Secrets Manager. Check your task network configuration. RequestError: send request failed caused "
                f"by: Post \"https://secretsmanager.{region}.amazonaws.com/\": dial tcp: i/o timeout"), None
    secret = authorizer.find_secret(account, region, arn)
    if secret is None or secret.is_deleted():
        return SECRET_PREFIX + fetch + "ResourceNotFoundException: Secrets Manager can't find the specified secret.", None
    if start.execution is None:
        return SECRET_PREFIX + fetch + ("NoCredentialProviders: the task definition has no execution role to fetch "
                                        "secrets with"), None
    context, endpoint = start.through("secretsmanager")
    verdict = authorizer.authorize(start.execution, "secretsmanager:GetSecretValue", arn, account, context=context,
                                   resource_policy=secret.policy, endpoint_policies=endpoint)
    if verdict.allowed:
        verdict = authorizer.decrypt_through_secrets_manager(start.execution, region, secret)
        if not verdict.allowed and not verdict.not_evaluated:
            return SECRET_PREFIX + fetch + "AccessDeniedException: Access to KMS is not allowed", None
    if not verdict.allowed:
        return SECRET_PREFIX + fetch + ("" if verdict.not_evaluated else "AccessDeniedException: ") + verdict.message, None
    chosen, problem = _version(secret, stage, version)
    if problem:
        return SECRET_PREFIX + fetch + problem, None
    if not json_key:
        return None, chosen["version_id"]
    text = chosen.get("secret_string") or ""
    try:
        value = json.loads(text)
    except ValueError:
        # Go's encoding/json message, as the ECS agent passes it on (it names the first character).
        first = text.lstrip()[:1] or " "
        return SECRET_PREFIX + f"invalid character '{first}' looking for beginning of value", None
    if not isinstance(value, dict) or json_key not in value:
        return SECRET_PREFIX + f"retrieved secret from Secrets Manager did not contain json key {json_key}", None
    return None, chosen["version_id"]


def _version(secret, stage: str, version_id: str) -> tuple[dict | None, str | None]:
    """The version a read with this stage and id gets, as Secrets Manager resolves them (API
    reference, GetSecretValue): by ``VersionId`` when given — any version still stored, with
    staging labels or without (a deprecated version is readable until Secrets Manager deletes it)
    —, and then a ``VersionStage`` given too must be attached to that same version; else by the
    stage, AWSCURRENT when none is given. (None, the service's error) when there is none."""
    if version_id:
        chosen = secret.versions.get(version_id)
        if chosen is None:
            return None, f"ResourceNotFoundException: Secrets Manager can't find the specified secret value for VersionId: {version_id}"
        if stage and stage not in chosen.get("version_stages", []):
            return None, "InvalidRequestException: You provided a VersionStage that is not associated to the provided VersionId."
        return chosen, None
    stage = stage or "AWSCURRENT"
    chosen = next((v for v in secret.versions.values() if stage in v.get("version_stages", [])), None)
    if chosen is None:
        return None, f"ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: {stage}"
    return chosen, None


_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)(?::([^@]+))?(?:@(.+))?$")


def _image_failure(start: _TaskStart, image: str, fault: dict[str, str]) -> str | None:
    """A private ECR image must exist and the execution role may pull it (ECS Developer Guide,
    "Amazon ECS task execution IAM role": ecr:GetAuthorizationToken, ecr:BatchGetImage,
    ecr:GetDownloadUrlForLayer; "CannotPullContainer task errors")."""
    not_found = (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
                 f"{image}: {image}: not found")
    if fault.get("image") == "missing":
        return not_found
    match = _ECR_IMAGE.match(image)
    if not match:
        return None  # a public registry: pulled through the NAT, not modelled
    account, region, repo, tag, digest = match.groups()
    from moto.ecr.models import ecr_backends

    repository = ecr_backends[account][region].repositories.get(repo)
    if repository is None or not any(
            (digest and i.image_digest == digest) or (not digest and (tag or "latest") in _tags(i))
            for i in repository.images):
        return not_found
    if start.execution is None:
        return f"{RETRIEVAL}unable to retrieve ecr registry auth: the task definition has no execution role"
    context, endpoint = start.through("ecr.api")
    token = authorizer.authorize(start.execution, "ecr:GetAuthorizationToken", "*", account, context=context,
                                 endpoint_policies=endpoint)
    if not token.allowed:
        return (f"{RETRIEVAL}unable to retrieve ecr registry auth: service call has been retried 3 time(s): "
                + ("" if token.not_evaluated else "AccessDeniedException: ") + token.message)
    context, endpoint = start.through("ecr.dkr")
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
        pull = authorizer.authorize(start.execution, action, repository.arn, account, context=context,
                                    resource_policy=repository.policy, endpoint_policies=endpoint)
        if not pull.allowed:
            return (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
                    f"{image}: pulling from host {image.split('/', 1)[0]} failed with status code [manifests "
                    f"{tag or digest or 'latest'}]: 403 Forbidden ({pull.message})")
    return None


def _tags(image) -> set[str]:
    tags = getattr(image, "image_tags", None) or [getattr(image, "image_tag", None)]
    return {t for t in tags if t}


def _logs_failure(start: _TaskStart, container: dict) -> str | None:
    """The awslogs driver creates the task's stream with the execution role (ECS Developer Guide,
    "Send Amazon ECS logs to CloudWatch": logs:CreateLogStream, logs:PutLogEvents)."""
    config = container.get("logConfiguration") or {}
    options = config.get("options") or {}
    if config.get("logDriver") != "awslogs" or not options.get("awslogs-group") or start.execution is None:
        return None
    region = options.get("awslogs-region") or start.region
    group = options["awslogs-group"]
    stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{container.get('name')}/{start.task_id}"
    resource = f"arn:{start.execution.partition}:logs:{region}:{start.account}:log-group:{group}:log-stream:{stream}"
    context, endpoint = start.through("logs")
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        verdict = authorizer.authorize(start.execution, action, resource, start.account, context=context,
                                       endpoint_policies=endpoint)
        if not verdict.allowed:
            return ("ResourceInitializationError: failed to validate logger args: create stream has been retried 1 "
                    "times: failed to create Cloudwatch log stream: "
                    + ("" if verdict.not_evaluated else "AccessDeniedException: ") + verdict.message)
    return None


def _register(backend, service, task) -> None:
    from moto.elbv2.models import elbv2_backends

    elbv2 = elbv2_backends[backend.account_id][service.region_name]
    for lb in service.load_balancers or []:
        group = elbv2.target_groups.get(lb.get("targetGroupArn"))
        if group is None or task._byoc_ip is None:
            continue
        group.register([{"Id": task._byoc_ip, "Port": lb.get("containerPort")}])
        group.__dict__.setdefault("_byoc_health", {})[task._byoc_ip] = (
            "initial", "Elb.RegistrationInProgress", "Target registration is in progress")
        task._byoc_target_groups.append(group)


def _deregister(backend, task) -> None:
    for group in task._byoc_target_groups:
        if task._byoc_ip in group.targets:
            group.deregister([{"Id": task._byoc_ip}])
        group._byoc_health.pop(task._byoc_ip, None)
    task._byoc_target_groups = []


def _log_start(backend, task) -> None:
    """The container's first awslogs line: that the key arrived, and its length, never the value."""
    from moto.logs.models import logs_backends

    definition = backend.describe_task_definition(task.task_definition_arn)
    for container in definition.container_definitions:
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") != "awslogs" or not options.get("awslogs-group"):
            continue
        logs = logs_backends[backend.account_id][options.get("awslogs-region") or task.region_name]
        group = options["awslogs-group"]
        stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{container.get('name')}/{task.id}"
        names = [s["name"] for s in container.get("secrets") or []]
        line = (f"byoc emulator: container {container.get('name')} started from {container.get('image')}; "
                + (f"secrets injected: {', '.join(names)} (values not shown)" if names else "no secrets"))
        try:
            logs.create_log_stream(group, stream)
            logs.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": line}])
        except Exception:  # noqa: BLE001 - a missing log group is the stack's problem, shown by doctor
            pass


# --- what DescribeServices shows -------------------------------------------------------------------

def _publish(backend, service, model: _Service, *, hide: bool = True) -> None:
    """What DescribeServices shows: the deployments, counts and events. With ``hide``, a
    deployment ECS does not list yet (deployment_visibility) is left out, and the one before it
    shown as it was before (PRIMARY)."""
    tasks = [t for t in _tasks(backend, service) if t.last_status != "STOPPED"]
    shown = [d for d in model.deployments if not (hide and model.hidden.get(d.id))]
    deployments = []
    for n, d in enumerate(shown):
        mine = [t for t in tasks if t.started_by == d.id]
        deployments.append({
            "id": d.id, "status": "PRIMARY" if n == 0 else d.status, "taskDefinition": d.task_definition,
            "desiredCount": d.desired,
            "pendingCount": sum(t.last_status in ("PROVISIONING", "PENDING") for t in mine),
            "runningCount": sum(t.last_status == "RUNNING" for t in mine), "failedTasks": d.failed,
            "createdAt": d.created, "updatedAt": d.updated, "launchType": service.launch_type,
            "platformVersion": service.platform_version, "platformFamily": "Linux",
            "networkConfiguration": service.network_configuration or None,
            "rolloutState": d.rollout, "rolloutStateReason": d.reason or f"ECS deployment {d.id} in progress.",
        })
    service.deployments = deployments
    service.running_count = sum(t.last_status == "RUNNING" for t in tasks)
    service.pending_count = sum(t.last_status in ("PROVISIONING", "PENDING") for t in tasks)
    service.events = model.events


def seen_by_describe(service) -> None:
    """One DescribeServices read of ``service`` answered: its hidden deployments are one read
    closer to being listed."""
    with _lock:
        model = _models.get(service.arn)
        if model is None:
            return
        for deployment_id in list(model.hidden):
            model.hidden[deployment_id] -= 1
            if model.hidden[deployment_id] <= 0:
                del model.hidden[deployment_id]
