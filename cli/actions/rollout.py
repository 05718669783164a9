"""New tasks for the service, started by the commands that change what a task start reads.

ECS injects ``secrets`` only when a task starts ("you must launch a new task or force a new
deployment"), so a new secret value, or a new secret policy, is proven only by tasks started
after it. ``start_deployment`` asks ECS for them (``UpdateService`` with
``forceNewDeployment``); ``roll`` starts them and then follows them with the read-only watch of
``cli/observers/service.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.session import Session, say
from cli.observers.service import WAIT_TIMEOUT_SECONDS, ServiceState, primary_deployment, wait_for_rollout
from stacks.inputs import defaults


@dataclass(frozen=True)
class RollOptions:
    """``--no-restart`` / ``--no-wait`` / ``--wait-timeout`` of the commands that roll the service."""

    restart: bool = True
    wait: bool = True
    timeout: float = WAIT_TIMEOUT_SECONDS


def start_deployment(target: AwsTarget, cluster: str, service: str, desired: int | None = None) -> str:
    """Start a new deployment (new tasks, which fetch the secret afresh); returns its id."""
    kwargs: dict[str, Any] = {"forceNewDeployment": True}
    if desired is not None:
        kwargs["desiredCount"] = desired
    try:
        svc = target.client("ecs").update_service(cluster=cluster, service=service, **kwargs)["service"]
    except aws_errors() as exc:
        raise aws_error(exc, "starting a new deployment of the ECS service") from None
    primary = primary_deployment(svc)
    return primary["id"] if primary else ""


def desired_within_scaling(values: dict[str, Any]) -> int:
    """desired_count kept within the autoscaling range (what the autoscaler would make of it)."""
    values = {**defaults(), **values}
    low, high = int(values["autoscaling_min_capacity"]), int(values["autoscaling_max_capacity"])
    return min(max(int(values["desired_count"]), low), high)


def roll(s: Session, values: dict[str, Any], outputs: dict[str, Any], options: RollOptions, *,
         why: str) -> ServiceState | None:
    """New tasks for the service (they read the secret afresh), then, unless told not to, wait for
    them. A service that phase one left at zero tasks (start_tasks = false) is started first: its
    inputs are applied with start_tasks = true and its desired count is set."""
    cluster, service = outputs.get("ecs_cluster_name"), outputs.get("ecs_service_name")
    if not options.restart or not cluster or not service:
        if not options.restart:
            say("Not restarted (--no-restart): running tasks keep what they read at start until they are replaced; "
                "`byoc secret put` without --no-restart, or any new deployment, replaces them.")
        return None
    target = s.target(values["aws_region"])
    desired = None
    if values.get("start_tasks", True) is False:
        values = {**values, "start_tasks": True}
        say("Starting the service's tasks (phase one left it at zero while the secret had no value) ...")
        tf = s.prepare(values["aws_region"])
        s.project.save_inputs(values)
        s.apply_now(tf, values, show_plan=False)
        desired = desired_within_scaling(values)
    deployment = start_deployment(target, cluster, service, desired)
    say(f"New tasks are starting ({why}): deployment {deployment}.")
    if not options.wait:
        say("Not waiting (--no-wait): follow it with `byoc status`.")
        return None
    state = wait_for_rollout(target, cluster, service, say=say, timeout=options.timeout, deployment_id=deployment,
                             sleep=s.sleep)
    say(f"Service: {state.line()}.")
    return state
