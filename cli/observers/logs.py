"""``byoc logs``: the service's log lines, newest last — the fix doc's verification step
(``aws logs tail /ecs/<app> --follow``) without the aws CLI.

The log group is the one the service's task definition sends its awslogs to, read from ECS, so
the command follows a group changed by hand too.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.errors import ByocError, InputError
from cli.observers.service import active_service

_SINCE = re.compile(r"^(\d+)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
FOLLOW_POLL_SECONDS = 2.0


def parse_since(text: str) -> int:
    """``10m`` -> 600 seconds (s, m, h, d)."""
    match = _SINCE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise InputError(f"--since: {text!r} is not a duration; give a number and a unit, e.g. 30s, 10m, 2h or 1d.")
    return int(match.group(1)) * _UNIT[match.group(2)]


def log_group(target: AwsTarget, outputs: dict[str, Any]) -> str:
    """The awslogs group of the service's current task definition."""
    ecs = target.client("ecs")
    try:
        service = active_service(ecs, outputs["ecs_cluster_name"], outputs["ecs_service_name"])
        if service is None:
            raise ByocError(f"the ECS service {outputs['ecs_service_name']} was not found: run `byoc deploy`.")
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    except aws_errors() as exc:
        raise aws_error(exc, "reading the service's task definition") from None
    for container in definition.get("containerDefinitions", []):
        config = container.get("logConfiguration") or {}
        if config.get("logDriver") == "awslogs" and (config.get("options") or {}).get("awslogs-group"):
            return config["options"]["awslogs-group"]
    raise ByocError("the service's containers do not log with awslogs: there is no log group to read.")


def _events(logs, group: str, start_ms: int) -> Iterator[dict]:
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": start_ms}
    while True:
        page = logs.filter_log_events(**kwargs)
        yield from page.get("events", [])
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def _when(event: dict) -> str:
    return datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_line(event: dict) -> str:
    """``<UTC time> <log stream> <message>``, as ``aws logs tail`` prints a line."""
    return f"{_when(event)} {event.get('logStreamName', '')} {event.get('message', '').rstrip()}"


def json_line(event: dict) -> str:
    """One JSON object per line (JSON Lines), for ``byoc logs --json``."""
    return json.dumps({"timestamp": _when(event), "stream": event.get("logStreamName", ""),
                       "message": event.get("message", "").rstrip("\n"), "event_id": event.get("eventId", "")})


def show_logs(target: AwsTarget, outputs: dict[str, Any], *, since_seconds: int, follow: bool,
              say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep,
              now: Callable[[], float] = time.time, render: Callable[[dict], str] = text_line,
              note: Callable[[str], None] | None = None) -> int:
    """Print the group's events since ``since_seconds`` ago, oldest first, each with ``render``
    through ``say``; with ``follow`` keep printing new ones until interrupted. That there are
    none goes to ``note`` (default ``say``). Returns how many lines were printed."""
    group = log_group(target, outputs)
    logs = target.client("logs")
    start = int((now() - since_seconds) * 1000)
    seen: set[str] = set()
    printed = 0
    while True:
        try:
            fresh = sorted((e for e in _events(logs, group, start) if e.get("eventId") not in seen),
                           key=lambda e: (e["timestamp"], e.get("eventId", "")))
        except aws_errors() as exc:
            raise aws_error(exc, f"reading the log group {group}") from None
        for event in fresh:
            seen.add(event.get("eventId", ""))
            say(render(event))
            printed += 1
            start = max(start, event["timestamp"])
        if not follow:
            if not printed:
                (note or say)(f"No log lines in {group} in the last {since_seconds}s.")
            return printed
        sleep(FOLLOW_POLL_SECONDS)
