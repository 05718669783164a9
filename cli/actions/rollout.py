"""New tasks for the service, started by the commands that change what a task start reads.

ECS injects ``secrets`` only when a task starts ("you must launch a new task or force a new
deployment"), so a new secret value, or a new secret policy, is proven only by tasks started
after it. Two ways to start them:

- ``pin_key`` (``byoc secret put`` and ``rollback``): the task definition is pinned to the key's
  version (``secret_version_id``), applied with Terraform — its plan summary shown — so the key
  change is a new revision, which Terraform puts on the service; ECS's circuit breaker rolls a
  failing revision back to the previous one, and with it the previous key. Then the deployment
  of that revision is followed.
- ``roll`` (``byoc lockdown``'s proof): ``UpdateService`` with ``forceNewDeployment`` — the same
  revision, new tasks — followed by the id UpdateService returned.

The following itself is the read-only watch of ``cli/observers/service.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.config import check, deploy_command
from cli.core.errors import half_done
from cli.core.session import Session, say
from cli.observers.service import (WAIT_TIMEOUT_SECONDS, ServiceState, latest_revision, primary_deployment, revision,
                                   service_state, wait_for_rollout)
from constructs_lib.catalog import SECRET_VERSION_INPUT
from stacks.inputs import defaults


@dataclass(frozen=True)
class RollOptions:
    """``--no-restart`` / ``--no-wait`` / ``--wait-timeout`` of the commands that roll the service."""

    restart: bool = True
    wait: bool = True
    timeout: float = WAIT_TIMEOUT_SECONDS


def start_deployment(target: AwsTarget, cluster: str, service: str, desired: int | None = None) -> str:
    """Start a new deployment (new tasks, which fetch the secret afresh); returns its id, from
    UpdateService's own answer ("the full description of your service following the update"):
    a DescribeServices right after may not list it yet."""
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
    """New tasks for the service (the same revision: they read the secret afresh, under its policy
    as it is now), then, unless told not to, wait for them."""
    cluster, service = outputs.get("ecs_cluster_name"), outputs.get("ecs_service_name")
    if not options.restart or not cluster or not service:
        return None
    target = s.target(values["aws_region"])
    deployment = start_deployment(target, cluster, service)
    say(f"New tasks are starting ({why}): deployment {deployment}.")
    if not options.wait:
        say("Not waiting (--no-wait): follow it with `byoc status`.")
        return None
    state = wait_for_rollout(target, cluster, service, say=say, timeout=options.timeout, deployment_id=deployment,
                             sleep=s.sleep)
    say(f"Service: {state.line()}.")
    return state


def pin_key(s: Session, tf, values: dict[str, Any], outputs: dict[str, Any], version: str, options: RollOptions,
            *, done: str, why: str) -> ServiceState | None:
    """Pin the task definition to key ``version`` (Terraform, plan summary shown) and follow the
    deployment of the new revision. A service phase one left at zero tasks is started too
    (start_tasks = true, then a deployment with its desired count, which Terraform leaves to the
    autoscaler). ``done``: what the caller changed already (for an interruption to say)."""
    region = values["aws_region"]
    cluster, service = outputs.get("ecs_cluster_name"), outputs.get("ecs_service_name")
    values = {**values, SECRET_VERSION_INPUT: version}
    starting = values.get("start_tasks", True) is False
    if starting:
        values["start_tasks"] = True
        say("Starting the service's tasks (phase one left it at zero while the secret had no value) ...")
    check(values)
    deploy = f"`{deploy_command(s.project, values)} --secret-version-id {version}`"
    with half_done(f"{done}; the service does not read it yet", deploy):
        s.project.save_inputs(values)
        say(f"Terraform: plan and apply (the task definition reads key version {version}) ...")
        summary = s.apply_now(tf, values)
    target = s.target(region)
    if not cluster or not service:
        return None
    with half_done(f"{done}; the task definition reads it and ECS is rolling it out", "`byoc status` shows how the "
                   "rollout ends (ECS goes on)"):
        # The revision Terraform registered (its output; a state from before it: the family's latest).
        latest = s.outputs().get("ecs_task_definition_arn") or latest_revision(target, values["app_name"])
        deployment = None
        if starting:
            # Terraform's update found the service at zero tasks: that deployment completed with none.
            # A deployment with the desired count is one ECS's circuit breaker judges.
            deployment = start_deployment(target, cluster, service, desired_within_scaling(values))
        elif summary.empty:
            state = service_state(target, cluster, service)
            say(f"No new deployment: {revision(latest)} already reads key version {version}"
                + (f"; service: {state.line()}." if state else "."))
            return state
        say(f"New tasks are starting ({why}): {revision(latest)}, key version {version}"
            + (f", deployment {deployment}." if deployment else "."))
        if not options.wait:
            say("Not waiting (--no-wait): follow it with `byoc status`.")
            return None
        state = wait_for_rollout(target, cluster, service, say=say, timeout=options.timeout, sleep=s.sleep,
                                 deployment_id=deployment, task_definition=None if deployment else latest)
    say(f"Service: {state.line()}.")
    return state
