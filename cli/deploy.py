"""``byoc deploy``: phase one of the seed's two-phase flow — synth, init, plan, ask, apply."""

from __future__ import annotations

from typing import Any

from cli.lockdown import READERS
from cli.session import Session, print_outputs, say


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


def deploy(s: Session, values: dict[str, Any], *, auto_approve: bool) -> dict[str, Any]:
    for warning in network_warnings(values):
        say(warning)
    tf = s.prepare(values["aws_region"])
    # Once applying starts, these are the inputs of the last deploy (even if apply stops midway,
    # destroy and lockdown must see what was being applied).
    if auto_approve:
        s.project.save_inputs(values)
        say("Terraform: plan and apply ...")
        changed = not s.apply_now(tf, values).empty
    else:
        say("Terraform: plan ...")
        summary, plan_file = s.plan(tf, values)
        changed = not summary.empty
        if changed:
            s.approve(summary, auto_approve, "Apply these changes?")
            s.project.save_inputs(values)
            say("Terraform: apply ...")
            s.apply(tf, plan_file, summary)
        else:
            plan_file.unlink(missing_ok=True)
    if not changed:
        say("No changes: the deployment already matches these inputs.")
    outputs = s.outputs(tf)
    print_outputs(outputs)
    if not values.get(READERS):
        say("")
        say("Next: store the API key (`byoc secret put`), then run `byoc lockdown` to limit reads to the "
            "task and execution roles.")
    return outputs
