"""``byoc destroy``: everything the last deploy created, after turning off what would stop a
destroy halfway (load balancer deletion protection) and, if asked, the secret's recovery window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from cli.core.aws import aws_error, aws_errors
from cli.core.errors import ByocError
from cli.core.session import Session, say


@dataclass(frozen=True)
class Destroyed:
    """What ``byoc destroy`` did: how many resources it destroyed, and the recovery window the
    secret was scheduled for deletion with (0: deleted at once)."""

    resources: int
    secret_recovery_window_days: int


def destroy(s: Session, *, auto_approve: bool, force_delete_secret: bool) -> Destroyed:
    values = s.deployed_inputs()  # an input added since that deploy reads as its default (saved_inputs)
    tf = s.prepare(values["aws_region"])
    # Settings that must be in AWS/state before the destroy; applied only after the user said yes.
    before: dict[str, Any] = {}
    if force_delete_secret and values["secret_recovery_window_days"] != 0:
        # The recovery window used at deletion is the one in state: record 0 first (a state-only
        # change, no AWS call).
        before["secret_recovery_window_days"] = 0
    if values["alb_deletion_protection"] is not False:
        # AWS refuses to delete a protected load balancer, and `terraform destroy` would stop
        # there with everything around it already gone: turn the protection off first.
        before["alb_deletion_protection"] = False
    window = 0 if "secret_recovery_window_days" in before else values["secret_recovery_window_days"]
    if window == 0:
        say("The secret and all its versions are deleted at once (no recovery window).")
    else:
        say(f"The secret is scheduled for deletion with a {window}-day recovery window: restore it with "
            "`aws secretsmanager restore-secret`, or pass --force-delete-secret to delete it at once.")
    plan_file = None
    if not auto_approve:  # with --auto-approve the plan is shown as the destroy applies it
        summary, plan_file = s.plan(tf, values, destroy=True)
        s.approve(summary, auto_approve, "Destroy these resources?")
    if before:
        if plan_file is not None:
            plan_file.unlink(missing_ok=True)  # stale once the settings below are applied
        values.update(before)
        say("Before destroying: " + ", ".join(
            {"alb_deletion_protection": "turning off the load balancer's deletion protection",
             "secret_recovery_window_days": "setting the secret's recovery window to 0"}[k] for k in before) + ".")
        protect_again = _unprotect_load_balancer(s, values) if "alb_deletion_protection" in before else None
        try:
            prep, prep_file = s.plan(tf, values)
            # In-place updates only: the two settings, and what reads the secret's attributes (its
            # policy documents are re-read after the secret changes, so their users show as updates).
            # A create or replace means the deployment is behind this version of the stack, and
            # building resources only to destroy them is not what was approved.
            unexpected = [f"{action} {addr}" for action, addr in prep.changes if action != "update"]
            if unexpected:
                prep_file.unlink(missing_ok=True)
                raise ByocError("nothing was destroyed: the deployment differs from this version of the stack ("
                                + ", ".join(unexpected[:3]) + (", ..." if len(unexpected) > 3 else "")
                                + "); run `byoc deploy` first, then `byoc destroy`.")
        except BaseException:
            if protect_again is not None:  # nothing is destroyed: the load balancer is as it was
                protect_again()
            raise
        s.project.save_inputs(values)
        if prep.empty:
            prep_file.unlink(missing_ok=True)
        else:
            s.apply(tf, prep_file, prep)
    if plan_file is not None and not before:
        s.apply(tf, plan_file, summary)  # exactly the plan that was approved
        destroyed = summary.remove
    else:  # approved above, or --auto-approve: plan and apply the destroy in one process
        destroyed = s.apply_now(tf, values, destroy=True, show_plan=plan_file is None).remove
    s.project.inputs_file.unlink(missing_ok=True)
    say("Destroyed.")
    return Destroyed(resources=destroyed, secret_recovery_window_days=window)


def _unprotect_load_balancer(s: Session, values: dict[str, Any]) -> Callable[[], None] | None:
    """Turn the load balancer's deletion protection off with one ELBv2 call; returns how to turn
    it back on (None: no load balancer of this deployment was found, and the plan turns it off).

    Why not through terraform: the provider's update of an ``aws_lb`` waits for the load balancer
    to be active again, with a fixed 30-second delay before its first look, so the setting cost
    every destroy about 40 s. Set through the API first, the plan that follows finds nothing to
    change on the load balancer. API reference: ModifyLoadBalancerAttributes
    (``deletion_protection.enabled``), https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyLoadBalancerAttributes.html;
    DescribeLoadBalancers pages with Marker/NextMarker,
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeLoadBalancers.html."""
    dns_name = s.outputs().get("alb_dns_name")
    if not dns_name:
        return None
    elbv2 = s.target(values["aws_region"]).client("elbv2")
    try:
        arn = next((lb["LoadBalancerArn"] for page in elbv2.get_paginator("describe_load_balancers").paginate()
                    for lb in page.get("LoadBalancers", []) if lb.get("DNSName") == dns_name), None)
        if arn is None:
            return None
        elbv2.modify_load_balancer_attributes(
            LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}])
    except aws_errors() as exc:
        raise aws_error(exc, "turning off the load balancer's deletion protection") from None

    def protect_again() -> None:
        try:
            elbv2.modify_load_balancer_attributes(
                LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}])
        except aws_errors():
            say(f"Warning: the load balancer's deletion protection is still off ({arn}); `byoc deploy` turns it "
                "back on.")
    return protect_again
