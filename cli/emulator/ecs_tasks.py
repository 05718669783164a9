"""Gap 4 of the embedded emulator: ECS services that start tasks, modelled on what ECS does.

moto runs no containers: a service's tasks never exist, so nothing about a deployment's outcome
(the point of deploying) can be seen. This model gives every ECS service of the emulator tasks
that ``ListTasks`` / ``DescribeTasks`` show, and deployments that ``DescribeServices`` reports,
following AWS's documentation of what matters to this stack:

* A deployment (``ecs-svc/<n>``, ``startedBy`` of its tasks) starts when a service is created,
  when its task definition changes and on ``forceNewDeployment``; ECS injects ``secrets`` only
  when a task starts, so a new secret value reaches a service only through a new deployment.
* Tasks go PROVISIONING -> PENDING -> RUNNING, one phase per ``BYOC_EMULATOR_TASK_SECONDS``
  (1 s by default). In PENDING each container's ``secrets`` are resolved the way ECS's agent
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

What it does not do: it never evaluates IAM or resource policies (moto cannot), pulls no image,
runs no code and sends no traffic. Those outcomes can be asked for, one test at a time, through
the emulator's fault switch (``POST /byoc-emulator/faults``, see ``FAULTS``): the secret read
denied (always, or once the secret's policy has changed), the image missing, health checks
failing, the application exiting — each stopping tasks with the reason AWS gives for it.

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

#: Seconds per task phase (PROVISIONING, PENDING, RUNNING-before-healthy), 1 unless
#: BYOC_EMULATOR_TASK_SECONDS says otherwise (read at every step, so a test can shorten it).
PHASE_ENV = "BYOC_EMULATOR_TASK_SECONDS"


def _phase() -> float:
    try:
        return max(float(os.environ.get(PHASE_ENV, "1")), 0.01)
    except ValueError:
        return 1.0

#: The fault switch: fault -> the settings it takes. Set with set_faults (or the HTTP endpoint).
FAULTS: dict[str, tuple[str, ...]] = {
    # GetSecretValue by the execution role denied, as a resource policy that leaves it out would:
    # always, or while the secret's policy differs from the one it had when the fault was set.
    "secret_access": ("denied", "denied_by_new_policy"),
    # The image cannot be pulled.
    "image": ("missing",),
    # The load balancer's health checks fail on every running task.
    "health": ("failing",),
    # The essential container exits soon after it starts.
    "app": ("exits",),
}
_faults: dict[str, str] = {}
#: Secret ARN -> its resource policy when ``secret_access = denied_by_new_policy`` was set.
_policies_then: dict[str, str | None] = {}
_lock = threading.RLock()

SECRET_PREFIX = ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
                 "retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s): ")


def set_faults(changes: dict[str, str | None]) -> dict[str, str]:
    """Switch faults on (``{"secret_access": "denied"}``) or off (``None``); returns them all."""
    with _lock:
        for name, value in changes.items():
            if name not in FAULTS:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
            if value is None:
                _faults.pop(name, None)
            elif value not in FAULTS[name]:
                raise ValueError(f"fault {name} takes {', '.join(FAULTS[name])}, not {value!r}")
            else:
                _faults[name] = value
                if value == "denied_by_new_policy":
                    _policies_then.clear()
                    _policies_then.update(_secret_policies())
        return dict(_faults)


def _secret_policies() -> dict[str, str | None]:
    from moto.secretsmanager.models import secretsmanager_backends

    return {secret.arn: secret.policy for regions in dict.values(secretsmanager_backends)
            for backend in dict.values(regions) for secret in backend.secrets.values() if hasattr(secret, "policy")}


def faults() -> dict[str, str]:
    with _lock:
        return dict(_faults)


def reset() -> None:
    with _lock:
        _faults.clear()
        _policies_then.clear()
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
    #: The deployment this one replaced (a rollback goes back to its task definition).
    previous_task_definition: str | None = None
    is_rollback: bool = False
    next_start: float = 0.0  # monotonic time before which no task is started (ECS backs off)
    updated: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class _Service:
    deployments: list[_Deployment]
    events: list[dict[str, Any]] = field(default_factory=list)
    steady: bool = False


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
                                      _now())])
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
            model.deployments.insert(0, _Deployment(_deployment_id(), service.task_definition, desired, _now(),
                                                    previous_task_definition=primary.task_definition))
            model.steady = False
        else:
            if desired != primary.desired:
                model.steady = False
            primary.desired = desired
        _schedule(backend, service, model)


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
    clock = time.monotonic()
    tasks = _tasks(backend, service)
    for task in tasks:
        _advance(backend, service, model, task, clock)
    primary = model.deployments[0]
    live = [t for t in tasks if t.last_status != "STOPPED"]
    mine = [t for t in live if t.started_by == primary.id]
    if primary.rollout != "FAILED":
        missing = primary.desired - len(mine)
        if missing > 0 and clock >= primary.next_start:
            for _ in range(missing):
                mine.append(_start(backend, service, model, primary, clock))
            _event(model, f"(service {service.name}) has started {missing} tasks: "
                          + " ".join(f"(task {t.id})" for t in mine[-missing:]) + ".")
        for task in sorted(mine, key=lambda t: t._byoc_started)[primary.desired:] if missing < 0 else []:
            _stop(backend, service, task, "ServiceSchedulerInitiated",
                  f"Scaling activity initiated by (deployment {primary.id})")
    healthy = [t for t in mine if t.last_status == "RUNNING" and _healthy(task=t)]
    if primary.rollout != "FAILED" and len(healthy) >= primary.desired:
        for task in live:
            if task.started_by != primary.id:
                _stop(backend, service, task, "ServiceSchedulerInitiated",
                      f"Scaling activity initiated by (deployment {primary.id})")
        model.deployments = [primary]
        if primary.rollout == "IN_PROGRESS":
            primary.rollout, primary.reason = "COMPLETED", f"ECS deployment {primary.id} completed."
            _event(model, f"(service {service.name}) (deployment {primary.id}) deployment completed.")
        if not model.steady:
            model.steady = True
            _event(model, f"(service {service.name}) has reached a steady state.")
    breaker = _breaker(service)
    threshold = min(max(3, math.ceil(primary.desired / 2)), 200)
    if primary.rollout == "IN_PROGRESS" and breaker.get("enable") and primary.failed >= threshold:
        primary.rollout = "FAILED"
        primary.reason = "ECS deployment circuit breaker: tasks failed to start."
        _event(model, f"(service {service.name}) (deployment {primary.id}) deployment failed: tasks failed to start.")
        if breaker.get("rollback") and primary.previous_task_definition and not primary.is_rollback:
            primary.status = "ACTIVE"
            back = _Deployment(_deployment_id(), primary.previous_task_definition, primary.desired, _now(),
                               is_rollback=True, next_start=clock + _phase())
            back.reason = f"ECS deployment circuit breaker: rolling back to deploymentId {primary.id}."
            model.deployments.insert(0, back)
            service.task_definition = back.task_definition
    _publish(backend, service, model)


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
            _failed(backend, service, model, task, "TaskFailedToStart", failure)
            return
        task.last_status, task.started_at = "RUNNING", _now()
        for container in task.containers:
            container.last_status = "RUNNING"
        _register(backend, service, task)
        _log_start(backend, task)
    if task.last_status != "RUNNING":
        return
    fault = faults()
    if age >= 3 * _phase():
        state = ("unhealthy", "Target.ResponseCodeMismatch", "Health checks failed with these codes: [502]") \
            if fault.get("health") == "failing" else ("healthy", None, None)
        for group in task._byoc_target_groups:
            group._byoc_health[task._byoc_ip] = state
        if fault.get("app") == "exits":
            for container in task.containers:
                container.exitCode = 1
            _failed(backend, service, model, task, "EssentialContainerExited", "Essential container in task exited")
            return
    if fault.get("health") == "failing" and age >= 4 * _phase():
        groups = ", ".join(g.arn for g in task._byoc_target_groups)
        _failed(backend, service, model, task, "ServiceSchedulerInitiated",
                f"Task failed ELB health checks in (target-group {groups})")


def _failed(backend, service, model: _Service, task, code: str, reason: str) -> None:
    _stop(backend, service, task, code, reason)
    for deployment in model.deployments:
        if deployment.id == task.started_by:
            deployment.failed += 1
            deployment.next_start = time.monotonic() + _phase()  # ECS backs off between failed starts
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
    from moto.secretsmanager.models import secretsmanager_backends

    definition = backend.describe_task_definition(task.task_definition_arn)
    fault = faults()
    for container in definition.container_definitions:
        for secret in container.get("secrets") or []:
            reason = _secret_failure(secretsmanager_backends, backend, definition, task, secret.get("valueFrom", ""),
                                     fault)
            if reason:
                return reason
        if fault.get("image") == "missing":
            image = container.get("image", "")
            return (f"CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref "
                    f"{image}: {image}: not found")
    return None


_SECRET_REF = re.compile(r"^(arn:[^:]+:secretsmanager:([^:]+):(\d{12}):secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?$")


def _secret_failure(backends, ecs_backend, definition, task, value_from: str, fault: dict[str, str]) -> str | None:
    match = _SECRET_REF.match(value_from)
    if not match:
        return None  # an SSM parameter or a plain name: not modelled (this stack has none)
    arn, region, account, json_key, stage, version = match.groups()
    backend = backends[account][region]
    secret = next((s for s in backend.secrets.values() if getattr(s, "arn", None) == arn), None)
    fetch = f"failed to fetch secret {arn} from secrets manager: "
    if secret is None or secret.is_deleted():
        return SECRET_PREFIX + fetch + "ResourceNotFoundException: Secrets Manager can't find the specified secret."
    access = fault.get("secret_access")
    if access == "denied" or (access == "denied_by_new_policy" and secret.policy != _policies_then.get(arn)):
        role = (definition.execution_role_arn or "").rsplit("/", 1)[-1]
        return (SECRET_PREFIX + fetch + f"AccessDeniedException: User: arn:aws:sts::{account}:assumed-role/{role}/"
                f"{task.id} is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} with an "
                "explicit deny in a resource-based policy")
    stage = stage or "AWSCURRENT"
    chosen = secret.versions.get(version) if version else next(
        (v for v in secret.versions.values() if stage in v.get("version_stages", [])), None)
    if chosen is None:
        return (SECRET_PREFIX + fetch + "ResourceNotFoundException: Secrets Manager can't find the specified secret "
                f"value for staging label: {stage}")
    if not json_key:
        return None
    text = chosen.get("secret_string") or ""
    try:
        value = json.loads(text)
    except ValueError:
        # Go's encoding/json message, as the ECS agent passes it on (it names the first character).
        first = text.lstrip()[:1] or " "
        return SECRET_PREFIX + f"invalid character '{first}' looking for beginning of value"
    if not isinstance(value, dict) or json_key not in value:
        return SECRET_PREFIX + f"retrieved secret from Secrets Manager did not contain json key {json_key}"
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

def _publish(backend, service, model: _Service) -> None:
    tasks = [t for t in _tasks(backend, service) if t.last_status != "STOPPED"]
    deployments = []
    for d in model.deployments:
        mine = [t for t in tasks if t.started_by == d.id]
        deployments.append({
            "id": d.id, "status": d.status, "taskDefinition": d.task_definition, "desiredCount": d.desired,
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
