"""``byoc deploy``: phase one of the seed's two-phase flow — synth, init, plan, ask, apply — and
then the outcome: the service's tasks running and healthy, or why not.

While the secret has no value, every task start could only fail (ResourceInitializationError:
no AWSCURRENT version), so the service is deployed with ``start_tasks = false`` (zero tasks)
until ``byoc secret put`` stores the key and starts them.
"""

from __future__ import annotations

from typing import Any

from cli.actions.policy_check import plan_validated
from cli.actions.rollout import RollOptions
from cli.core.errors import ByocError, InputError
from cli.core.session import Session, print_outputs, say
from cli.core.terraform import Terraform
from cli.observers import existing_vpc
from cli.observers.secret import has_version, secret_state
from cli.observers.service import latest_revision, wait_for_rollout
from constructs_lib.catalog import READERS_INPUT, SECRET_VERSION_INPUT, secret_name


def network_warnings(values: dict[str, Any]) -> list[str]:
    """What the chosen network options cut off, said before anything is planned."""
    if values.get("nat_mode") != "none":
        return []
    region = values.get("pinecone_privatelink_region") or ""
    data_plane = (f"over PrivateLink (pinecone_privatelink_region = {region})" if region else
                  "only over PrivateLink, and pinecone_privatelink_region is not set: the tasks cannot reach "
                  "Pinecone at all")
    return [f"WARNING: nat_mode = none: the tasks have no internet access. Pinecone's control plane (index "
            f"management, api.pinecone.io) is on the public internet and unreachable from them; only its data "
            f"plane (index hosts) is reachable, {data_plane}."]


def deploy_values(s: Session, values: dict[str, Any], *, start_tasks_set: bool) -> tuple[dict[str, Any], Terraform]:
    """What a deploy applies, and the stack folder ready to plan it (synth, init): the existing
    VPC's endpoints found, the network warnings said, and start_tasks held at false while the
    secret has no value. ``byoc plan`` previews exactly this.

    ``start_tasks_set``: the user chose start_tasks; else it follows whether the secret has a value."""
    s.preflight()
    if values.get("existing_vpc_id"):
        # Before synth and terraform: a refusal here changes nothing (exit 2).
        s.target(values["aws_region"]).require_credentials()
        network = existing_vpc.check(s.target(values["aws_region"]), values)
        for line in network.lines:
            say(line)
        values = {**values, "existing_vpc_endpoints": network.reused}
        warnings = [] if network.way_out else network_warnings(values)
    else:
        warnings = network_warnings(values)
    for warning in warnings:
        say(warning)
    tf = s.prepare(values["aws_region"])
    name = secret_name(values["app_name"])
    secret = secret_state(s.target(values["aws_region"]), name)
    if secret.deleted_date is not None:
        # Terraform would plan to create it anew, which Secrets Manager refuses while the name is
        # scheduled for deletion; and a deploy must not scale the service to zero over it.
        why, fix = secret.problem(name)
        raise ByocError(f"nothing was changed: {why}: {fix}, then run `byoc deploy` again.")
    pin = values.get(SECRET_VERSION_INPUT)
    if pin and secret.exists and not has_version(s.target(values["aws_region"]), name, pin):
        raise InputError(f"{SECRET_VERSION_INPUT}: the secret {name} has no version {pin}; give one it holds "
                         f"(`aws secretsmanager list-secret-version-ids --secret-id {name}`), or store a new key with "
                         "`byoc secret put`.")
    if not start_tasks_set and not secret.usable:
        values = {**values, "start_tasks": False}
    return values, tf


def deploy(s: Session, values: dict[str, Any], *, auto_approve: bool, options: RollOptions = RollOptions(),
           start_tasks_set: bool = False) -> dict[str, Any]:
    """Phase one; returns the deployment's outputs (also shown, as results)."""
    values, tf = deploy_values(s, values, start_tasks_set=start_tasks_set)
    no_value = not start_tasks_set and values.get("start_tasks") is False
    say("Terraform: plan ...")
    # The secret and key policies this plan writes, validated by AWS before anything is applied.
    summary, plan_file = plan_validated(s, tf, values)
    changed = not summary.empty
    # Once applying starts, these are the inputs of the last deploy (even if apply stops midway,
    # destroy and lockdown must see what was being applied).
    if changed:
        s.approve(summary, auto_approve, "Apply these changes?")
        s.project.save_inputs(values)
        say("Terraform: apply ...")
        s.apply(tf, plan_file, summary)
    else:
        plan_file.unlink(missing_ok=True)
        if auto_approve:
            s.project.save_inputs(values)
    if not changed:
        say("No changes: the deployment already matches these inputs.")
    outputs = s.outputs()
    print_outputs(outputs, s.show)
    if no_value:
        say("Tasks start when the secret has a value: byoc secret put (the service runs 0 tasks until then).")
    elif values.get("start_tasks") is False:
        say("start_tasks = false: the service runs no tasks.")
    elif options.wait and outputs.get("ecs_service_name"):
        say("Waiting for the service's tasks to run and pass the load balancer's health checks (--no-wait to skip) ...")
        state = wait_for_rollout(s.target(values["aws_region"]), outputs["ecs_cluster_name"],
                                 outputs["ecs_service_name"], say=say, timeout=options.timeout, sleep=s.sleep,
                                 task_definition=outputs.get("ecs_task_definition_arn")
                                 or latest_revision(s.target(values["aws_region"]), values["app_name"]))
        say(f"Service: {state.line()}.")
    if not values.get(READERS_INPUT):
        say("")
        say("Next: store the API key (`byoc secret put`), then run `byoc lockdown` to limit reads to the "
            "task and execution roles.")
    return outputs
