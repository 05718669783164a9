"""Doctor's network checks: every hop from a task's subnet to the endpoints it needs at start.

The fix doc's third root cause (no VPC endpoints) and the runbook's connectivity checks, over the
one model of the path (``cli/observers/vpc.py``, read once): the endpoints and their private DNS,
the VPC's DNS attributes, the endpoints' subnets in every AZ the tasks run in, the security group
of every endpoint a task start uses (admitting the tasks by any means AWS honours: a CIDR covering
the task subnets, a secondary VPC CIDR, a prefix list, the task security group), the task security
group's egress, the network ACLs of the task and endpoint subnets in both directions, the route
tables, and the endpoints' policies for a task start's calls. Every one of these stops a task
start when it fails: FAIL. Read-only.
"""

from __future__ import annotations

from cli.observers import endpoint_calls
from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.vpc import HTTPS, active_routes, to_internet_gateway, way_out
from constructs_lib.catalog import TASK_START_SERVICES, VPC_DNS_ATTRIBUTES

ENDPOINTS = "VPC endpoints available with private DNS"
DNS = "VPC DNS support and hostnames on"
ENDPOINT_AZS = "endpoints in every AZ of the tasks"
ENDPOINT_SG = "endpoint security group admits 443"
TASK_EGRESS = "task security group egress 443"
NACLS = "network ACLs pass 443 and the replies"
ROUTES = "route tables: S3 gateway and the way out"
ENDPOINT_POLICIES = "endpoint policies allow a task start"


def _needed(d) -> dict:
    """The interface endpoints a task start uses that exist, by service (the endpoints check
    names the missing ones, once)."""
    found = {svc: d.network.interface(svc) for svc in TASK_START_SERVICES}
    return {svc: e for svc, e in found.items() if e is not None}


def endpoints(d) -> Check:
    problems = []
    for svc in TASK_START_SERVICES:
        e = d.network.interface(svc)
        if e is None:
            problems.append(f"{svc} missing")
        elif not e.available:
            problems.append(f"{svc} is {e.state}")
        elif not e.private_dns:
            problems.append(f"{svc} has private DNS off")
    if d.network.s3_gateway() is None:
        problems.append("s3 gateway missing")
    return Check(ENDPOINTS, FAIL if problems else PASS,
                 "; ".join(problems) or ", ".join(TASK_START_SERVICES) + ", s3 (gateway)",
                 "re-run `byoc deploy` to recreate the endpoints" if problems else "")


def vpc_dns(d) -> Check:
    vpc_id, off = d.network.vpc_id, d.network.dns_off
    return Check(DNS, FAIL if off else PASS,
                 f"{', '.join(a for a, _ in off)} off on {vpc_id}: the endpoints' private DNS names do not resolve, "
                 "so tasks try the public AWS addresses" if off else
                 f"{vpc_id}: {' and '.join(a.api for a in VPC_DNS_ATTRIBUTES)} on",
                 f"{off[0][1]} (once per attribute; or re-run `byoc deploy`)" if off else "")


def endpoint_azs(d) -> Check:
    azs = d.network.task_azs
    if not azs:
        return Check(ENDPOINT_AZS, WARN, "the service has no subnets to compare with", "re-run `byoc deploy`")
    problems = [f"{svc} has no subnet in {', '.join(missing)}" for svc, e in _needed(d).items()
                if (missing := d.network.missing_azs(e))]
    return Check(ENDPOINT_AZS, FAIL if problems else PASS,
                 "; ".join(problems) or f"every endpoint has a subnet in {', '.join(sorted(azs))}",
                 "add a subnet of each task AZ to those endpoints (`byoc deploy` restores them)" if problems else "")


def endpoint_sg(d) -> Check:
    needed = _needed(d)
    if not needed:  # reported once, by the endpoints check
        return Check(ENDPOINT_SG, WARN, "no endpoint to check (see above)")
    problems = [f.line() for e in needed.values() if (f := d.network.admits_tasks(e)) is not None]
    return Check(ENDPOINT_SG, FAIL if problems else PASS,
                 "; ".join(problems) or f"{', '.join(needed)} admit tcp/{HTTPS} from the tasks",
                 f"add an inbound rule tcp/{HTTPS} from the task subnets' CIDRs or the task security group to those "
                 "endpoints' security groups (`byoc deploy` restores the stack's own)" if problems else "")


def task_egress(d) -> Check:
    groups = list(d.network.task_group_ids)
    if not groups:
        return Check(TASK_EGRESS, FAIL, "the service has no security group", "re-run `byoc deploy`")
    unreached = [svc for svc, e in _needed(d).items() if not d.network.tasks_reach(e)]
    prefix = (d.network.s3_prefix_list or {}).get("PrefixListId")
    missing = []
    if unreached:
        missing.append(f"the endpoints {', '.join(unreached)} (their security group or their subnets' CIDRs)")
    if not d.network.tasks_reach_s3():
        missing.append(f"the S3 prefix list {prefix or ''}".rstrip() + " (ECR image layers)")
    return Check(TASK_EGRESS, FAIL if missing else PASS,
                 f"{', '.join(groups)} has no tcp/443 egress to " + " nor to ".join(missing) if missing
                 else f"{', '.join(groups)} may reach the endpoints and S3 on 443",
                 "add an outbound rule tcp/443 to the endpoints (their security group or the VPC CIDR) and to the S3 "
                 "prefix list (or re-run `byoc deploy`)" if missing else "")


def nacls(d) -> Check:
    findings = d.network.acl_findings(_needed(d).values(), s3=d.network.s3_gateway() is not None)
    return Check(NACLS, FAIL if findings else PASS,
                 "; ".join(f.line() for f in findings) or
                 "443 and the replies pass the task and endpoint subnets' ACLs, both ways, and to S3",
                 "allow tcp/443 out of the task subnets and into the endpoint subnets, and tcp 1024-65535 (the "
                 "replies) back, in their network ACLs (rules are read lowest number first)" if findings else "")


def routes(d) -> Check:
    net = d.network
    s3 = net.s3_gateway()
    prefix = (net.s3_prefix_list or {}).get("PrefixListId")
    nat = d.inputs.get("nat_mode", "single") != "none"
    problems = []
    for subnet in net.task_subnets:
        table = net.route_table(subnet["SubnetId"])[0] or {"RouteTableId": "(none)", "Routes": []}
        active = active_routes(table)
        where = f"{table['RouteTableId']} ({subnet['SubnetId']})"
        if s3 and not any(r.get("DestinationPrefixListId") == prefix and r.get("GatewayId") == s3.id for r in active):
            problems.append(f"{where} has no route to the S3 gateway endpoint {s3.id} ({prefix})")
        default = [r for r in active if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        if any(to_internet_gateway(r) for r in default):
            problems.append(f"{where} routes 0.0.0.0/0 to an internet gateway: the task subnet is public")
        elif nat and not any(way_out(r) for r in default):
            problems.append(f"{where} has no 0.0.0.0/0 route to a NAT gateway (nat_mode = "
                            f"{d.inputs.get('nat_mode', 'single')})")
    leaving = "a NAT route" if nat else "no NAT (nat_mode = none): the endpoints above are the only way out"
    return Check(ROUTES, FAIL if problems else PASS,
                 "; ".join(problems) or f"S3 gateway route and {leaving} on every task subnet",
                 "re-run `byoc deploy` to restore the routes (the S3 gateway endpoint's route tables, the NAT routes)"
                 if problems else "")


def endpoint_policies(d) -> Check:
    out, net = d.outputs, d.network
    secret = out["byoc_secret_arn"]
    images = [c.get("image", "") for td in d.task_definitions[:1] for c in td.get("containerDefinitions", [])]
    role = out["ecs_execution_role_arn"]
    start = endpoint_calls.TaskStart(secret.split(":")[1], d.region, d.account, d.inputs.get("app_name", ""),
                                     images[0] if images else "", secret, net.vpc_id, role)
    used = dict(_needed(d))
    if (gateway := net.s3_gateway()) is not None:
        used["s3"] = gateway
    judged = endpoint_calls.judge(start, used)
    if judged.denied:
        return Check(ENDPOINT_POLICIES, FAIL, "; ".join(f.line() for f in judged.denied),
                     "allow those calls for the execution role in the endpoints' policies (aws ec2 modify-vpc-endpoint "
                     "--policy-document), or re-run `byoc deploy` for the stack's own endpoints")
    if judged.not_evaluated:
        return Check(ENDPOINT_POLICIES, WARN, "not evaluated: " + "; ".join(judged.not_evaluated),
                     "`byoc evaluator install`, then run doctor again")
    return Check(ENDPOINT_POLICIES, PASS, f"{', '.join(judged.judged) or 'no endpoint'}: the policies allow the "
                 "execution role's calls of a task start [independent evaluator]")


CHECKS = ((ENDPOINTS, endpoints), (DNS, vpc_dns), (ENDPOINT_AZS, endpoint_azs), (ENDPOINT_SG, endpoint_sg),
          (TASK_EGRESS, task_egress), (NACLS, nacls), (ROUTES, routes), (ENDPOINT_POLICIES, endpoint_policies))
