"""Gap 4, the read side: what ECS's read APIs answer, as their API reference documents it, where
moto answers something simpler. Wired into moto by ecs.py (it declares the gap); the switches are
the task model's (``ecs_tasks.FAULTS``, ``POST /byoc-emulator/faults``).

* ``ListTasks`` pages: at most ``maxResults`` (1-100, default 100) task ARNs and a ``nextToken``
  while more remain; the order is not documented, and the emulator lists the oldest task first,
  so a reader of the first page only sees the oldest 100. ``startedBy`` "must be the only filter
  that you use" (the reference): with ``serviceName``, ``desiredStatus``, ``family``,
  ``containerInstance`` or ``launchType`` beside it the request is refused.
* ``DescribeTasks`` takes "a list of up to 100 task IDs or full ARN entries": more is refused.
* Eventual consistency (switch ``deployment_visibility``): "the result of an API command you run
  that affects your Amazon ECS resources might not be immediately visible to all subsequent
  commands you run" — a deployment ``UpdateService`` started is missing from the next
  ``HIDDEN_READS`` DescribeServices reads of the service (UpdateService's own answer shows it).
* A crash-looping hour (switch ``stopped_history``): "stopped tasks appear in the returned results
  for at least one hour", so a service whose tasks kept exiting has more stopped tasks than one
  page holds: ``HISTORY_TASKS`` earlier tasks that stopped with "Essential container in task
  exited", in the last hour, before any task the model started. Switched off, they are gone.
* Throttling (switch ``throttling``): ECS refuses requests above its rate with
  ``ThrottlingException`` ("The request was denied due to request throttling", AWS's common
  errors); a burst refuses the next ``THROTTLED_READS`` ECS reads.

AWS documentation followed (Amazon ECS API Reference):
- ListTasks (maxResults, nextToken, startedBy, "stopped tasks appear ... for at least one hour"),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
- DescribeTasks (up to 100 tasks),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
- RunTask and the other mutating operations: "The Amazon ECS API follows an eventual consistency
  model", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html
- Common Errors (ThrottlingException, HTTP 400),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from typing import Any

#: DescribeServices reads a new deployment is missing from (deployment_visibility = delayed).
HIDDEN_READS = 3
#: Earlier stopped tasks of a crash-looping hour (stopped_history = crash-loop): over one page.
HISTORY_TASKS = 120
#: ListTasks' largest page, and DescribeTasks' most tasks per call.
PAGE = 100
#: ListTasks filters that may not stand beside startedBy.
OTHER_FILTERS = ("serviceName", "desiredStatus", "family", "containerInstance", "launchType")
#: The read operations a throttling burst refuses.
READS = ("DescribeServices", "ListTasks", "DescribeTasks", "DescribeTaskDefinition", "ListTaskDefinitions")


def invalid(message: str):
    from moto.ecs.exceptions import InvalidParameterException

    return InvalidParameterException(message)


def list_tasks_page(tasks: list, params: dict[str, Any]) -> dict[str, Any]:
    """One page of ListTasks over ``tasks`` (already filtered), oldest first."""
    if params.get("startedBy") and any(params.get(name) for name in OTHER_FILTERS):
        raise invalid("startedBy must be the only filter when it is used (ListTasks API reference); "
                      f"drop {', '.join(n for n in OTHER_FILTERS if params.get(n))}.")
    size = params.get("maxResults", PAGE)
    if not isinstance(size, int) or not 1 <= size <= PAGE:
        raise invalid(f"maxResults must be between 1 and {PAGE}.")
    arns = [t.task_arn for t in sorted(tasks, key=lambda t: (_created(t), t.task_arn))]
    start = 0
    if params.get("nextToken"):
        try:
            start = arns.index(base64.urlsafe_b64decode(params["nextToken"].encode()).decode()) + 1
        except ValueError:
            raise invalid("The nextToken is not valid.") from None
    page = arns[start:start + size]
    answer: dict[str, Any] = {"taskArns": page}
    if start + size < len(arns):
        answer["nextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
    return answer


def _created(task) -> datetime:
    created = getattr(task, "created_at", None)
    if isinstance(created, datetime):
        return created if created.tzinfo else created.replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc)


def check_describe_tasks(tasks: list | None) -> None:
    if tasks and len(tasks) > PAGE:
        raise invalid(f"tasks: at most {PAGE} task IDs or ARNs per DescribeTasks call, not {len(tasks)}.")


def keep_stopped_history(backend, service, model, on: bool) -> None:
    """Add the crash-looping hour's stopped tasks to ``service`` while ``on``, remove them when off."""
    if on and not model.history:
        model.history = _history(backend, service)
    elif not on and model.history:
        cluster_tasks = backend.tasks.get(service.cluster_name, {})
        for arn in model.history:
            cluster_tasks.pop(arn, None)
        model.history = []


def _history(backend, service) -> list[str]:
    from moto.ec2.models import ec2_backends
    from moto.ecs.models import Task

    cluster = backend.clusters[service.cluster_name]
    definition = backend.describe_task_definition(service.task_definition)
    ec2 = ec2_backends[backend.account_id][service.region_name]
    now = datetime.now(timezone.utc)
    earlier = "ecs-svc/" + "1" * 19  # a deployment of an hour ago, long replaced
    arns = []
    for n in range(HISTORY_TASKS):
        task = Task(cluster=cluster, task_definition=definition, container_instance_arn=None,
                    resource_requirements=None, backend=backend, group=f"service:{service.name}",
                    launch_type="FARGATE", started_by=earlier,
                    networking_configuration=service.network_configuration or None,
                    platform_version=service.platform_version)
        for attachment in task.attachments:  # a stopped Fargate task has released its interface
            for detail in attachment.get("details", []):
                if detail["name"] == "networkInterfaceId":
                    ec2.delete_network_interface(detail["value"])
        task._transitions = []
        started = now - timedelta(seconds=3600 - 25 * n)
        task.created_at, task.started_at = started - timedelta(seconds=20), started
        task.stopping_at = task.stopped_at = started + timedelta(seconds=5)
        task.last_status = task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = "EssentialContainerExited", "Essential container in task exited"
        for container in task.containers:
            container.last_status, container.exitCode = "STOPPED", 1
        task._byoc_service, task._byoc_started, task._byoc_target_groups = service.arn, 0.0, []
        task._byoc_ip, task._byoc_key_versions = None, []
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        arns.append(task.task_arn)
    return arns


def throttled(environ: dict, take_throttled_read) -> Any:
    """ECS's ThrottlingException for a read while a throttling burst lasts (``take_throttled_read``:
    the task model's switch says whether this read is one of the burst), else None."""
    from cli.emulator.patching import signed_for
    from cli.emulator.requests import refused

    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not signed_for(environ, "ecs") or target.rsplit(".", 1)[-1] not in READS:
        return None
    if not take_throttled_read():
        return None
    return refused("The request was denied due to request throttling.", code="ThrottlingException")
