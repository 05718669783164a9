"""Doctor's network checks: every hop from a task's subnet to the endpoints it needs at start.

The fix doc's third root cause (no VPC endpoints) and the runbook's connectivity checks: the
endpoints and their private DNS, the VPC's DNS attributes, the endpoints' subnets in every AZ
the tasks run in, the endpoint security group's ingress, the task security group's egress, the
subnets' network ACLs and route tables. Read-only.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.vpc import active_routes, dns_off, route_table, to_internet_gateway, way_out
from constructs_lib.catalog import TASK_START_SERVICES

HTTPS = 443
#: Where return traffic to a task arrives: the ephemeral ports (AWS's NACL guidance: 1024-65535).
EPHEMERAL = (1024, 65535)

ENDPOINTS = "VPC endpoints available with private DNS"
DNS = "VPC DNS support and hostnames on"
ENDPOINT_AZS = "endpoints in every AZ of the tasks"
ENDPOINT_SG = "endpoint security group admits 443"
TASK_EGRESS = "task security group egress 443"
NACLS = "network ACLs pass 443 and the replies"
ROUTES = "route tables: S3 gateway and the way out"


def endpoints(d) -> Check:
    problems = []
    for svc in TASK_START_SERVICES:
        e = d.endpoints.get(svc)
        if e is None:
            problems.append(f"{svc} missing")
        elif e.get("State", "").lower() != "available":
            problems.append(f"{svc} is {e.get('State')}")
        elif not e.get("PrivateDnsEnabled"):
            problems.append(f"{svc} has private DNS off")
    if "s3" not in d.endpoints:
        problems.append("s3 gateway missing")
    return Check(ENDPOINTS, FAIL if problems else PASS,
                 "; ".join(problems) or ", ".join(TASK_START_SERVICES) + ", s3 (gateway)",
                 "re-run `byoc deploy` to recreate the endpoints" if problems else "")


def vpc_dns(d) -> Check:
    vpc_id = d.outputs["vpc_id"]
    off = dns_off(d.client("ec2"), vpc_id)
    return Check(DNS, FAIL if off else PASS,
                 f"{', '.join(a for a, _ in off)} off on {vpc_id}: the endpoints' private DNS names do not resolve, "
                 "so tasks try the public AWS addresses" if off else
                 f"{vpc_id}: enableDnsSupport and enableDnsHostnames on",
                 f"{off[0][1]} (once per attribute; or re-run `byoc deploy`)" if off else "")


def endpoint_azs(d) -> Check:
    task_azs = {s["SubnetId"]: s["AvailabilityZone"] for s in d.task_subnets}
    if not task_azs:
        return Check(ENDPOINT_AZS, WARN, "the service has no subnets to compare with", "re-run `byoc deploy`")
    ec2 = d.client("ec2")
    problems = []
    for svc in TASK_START_SERVICES:
        e = d.endpoints.get(svc)
        if e is None:
            continue  # reported by the endpoints check
        ids = e.get("SubnetIds") or []
        azs = {s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]} if ids else set()
        missing = sorted(set(task_azs.values()) - azs)
        if missing:
            problems.append(f"{svc} has no subnet in {', '.join(missing)}")
    return Check(ENDPOINT_AZS, FAIL if problems else PASS,
                 "; ".join(problems) or f"every endpoint has a subnet in {', '.join(sorted(set(task_azs.values())))}",
                 "add a subnet of each task AZ to those endpoints (`byoc deploy` restores them)" if problems else "")


def _covers_port(perm: dict, port: int) -> bool:
    proto = str(perm.get("IpProtocol"))
    if proto in ("-1", "all"):
        return True
    return proto in ("tcp", "6") and perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)


def _cidr_covers(cidr: str, network: str) -> bool:
    try:
        return ipaddress.ip_network(network).subnet_of(ipaddress.ip_network(cidr))
    except (TypeError, ValueError):
        return False


def endpoint_sg(d) -> Check:
    e = next((e for e in d.endpoints.values() if e["VpcEndpointId"] == d.outputs["secretsmanager_vpce_id"]), None)
    if e is None:  # reported once, by the endpoints check
        return Check(ENDPOINT_SG, WARN, f"endpoint {d.outputs['secretsmanager_vpce_id']} is gone (see above)")
    vpc_cidr = d.vpc["CidrBlock"]
    groups = [g["GroupId"] for g in e.get("Groups", [])]
    task_groups = set(d.task_security_groups)
    for sg in d.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []:
        for perm in sg.get("IpPermissions", []):
            if not _covers_port(perm, HTTPS):
                continue
            for rng in perm.get("IpRanges", []):
                if _cidr_covers(rng["CidrIp"], vpc_cidr):
                    return Check(ENDPOINT_SG, PASS, f"{sg['GroupId']} admits 443 from {rng['CidrIp']}")
            if task_groups & {p.get("GroupId") for p in perm.get("UserIdGroupPairs", [])}:
                return Check(ENDPOINT_SG, PASS, f"{sg['GroupId']} admits 443 from the task security group")
    return Check(ENDPOINT_SG, FAIL, f"no rule on {', '.join(groups) or 'the endpoint'} admits tcp/443 from {vpc_cidr}",
                 "add an inbound rule tcp/443 from the VPC CIDR (or re-run `byoc deploy`)")


def task_egress(d) -> Check:
    groups = d.task_security_groups
    if not groups:
        return Check(TASK_EGRESS, FAIL, "the service has no security group", "re-run `byoc deploy`")
    vpc_cidr = d.vpc["CidrBlock"]
    endpoint_groups = {g["GroupId"] for e in d.endpoints.values() for g in e.get("Groups", [])}
    prefix = (d.s3_prefix_list or {}).get("PrefixListId")
    to_endpoints = to_s3 = False
    for sg in d.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"]:
        for perm in sg.get("IpPermissionsEgress", []):
            if not _covers_port(perm, HTTPS):
                continue
            cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
            anywhere = "0.0.0.0/0" in cidrs
            to_endpoints |= any(_cidr_covers(c, vpc_cidr) for c in cidrs) or bool(
                endpoint_groups & {p.get("GroupId") for p in perm.get("UserIdGroupPairs", [])})
            to_s3 |= anywhere or (prefix is not None and prefix in {p.get("PrefixListId")
                                                                     for p in perm.get("PrefixListIds", [])})
    missing = [what for what, ok in (("the endpoints (their security group or the VPC CIDR)", to_endpoints),
                                     (f"the S3 prefix list {prefix or ''}".rstrip() + " (ECR image layers)", to_s3))
               if not ok]
    return Check(TASK_EGRESS, FAIL if missing else PASS,
                 f"{', '.join(groups)} has no tcp/443 egress to " + " nor to ".join(missing) if missing
                 else f"{', '.join(groups)} may reach the endpoints and S3 on 443",
                 "add an outbound rule tcp/443 to the VPC CIDR and to the S3 prefix list (or re-run `byoc deploy`)"
                 if missing else "")


# --- network ACLs: rules in number order, the first match decides --------------------------------

def _acl_verdict(entries: Iterable[dict], *, egress: bool, address: str, ports: tuple[int, int]) -> list[str]:
    """Ports of ``ports`` (tcp) that the ACL denies for traffic to/from ``address``, as text."""
    remaining = [ports]
    denied: list[str] = []
    for entry in sorted((e for e in entries if e.get("Egress") is egress), key=lambda e: e["RuleNumber"]):
        if str(entry.get("Protocol")) not in ("-1", "6"):
            continue
        if not _cidr_covers(entry.get("CidrBlock", ""), f"{address}/32"):
            continue
        rng = entry.get("PortRange") or {}
        lo, hi = (rng.get("From", 0), rng.get("To", 65535)) if str(entry.get("Protocol")) == "6" else (0, 65535)
        left = []
        for a, b in remaining:
            overlap = (max(a, lo), min(b, hi))
            if overlap[0] > overlap[1]:
                left.append((a, b))
                continue
            if entry.get("RuleAction") == "deny":
                denied.append(f"rule {entry['RuleNumber']} denies {overlap[0]}-{overlap[1]}")
            left += [r for r in ((a, overlap[0] - 1), (overlap[1] + 1, b)) if r[0] <= r[1]]
        remaining = left
        if not remaining:
            break
    denied += [f"no rule allows {a}-{b}" for a, b in remaining]
    return denied


def nacls(d) -> Check:
    ec2 = d.client("ec2")
    vpc_cidr = ipaddress.ip_network(d.vpc["CidrBlock"])
    # An endpoint's address in the VPC, and an S3 address (or anywhere) for the gateway and NAT.
    inside = str(next(vpc_cidr.hosts()))
    s3_cidrs = (d.s3_prefix_list or {}).get("Cidrs") or ["0.0.0.0/0"]
    outside = str(ipaddress.ip_network(s3_cidrs[0]).network_address)
    problems = []
    for subnet in d.task_subnets:
        acls = ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [subnet["SubnetId"]]}])["NetworkAcls"]
        if not acls:
            continue
        acl = acls[0]
        for where, address in (("the endpoints", inside), ("S3", outside)):
            for egress, ports, what in ((True, (HTTPS, HTTPS), f"outbound 443 to {where}"),
                                        (False, EPHEMERAL, f"inbound replies from {where}")):
                denied = _acl_verdict(acl.get("Entries", []), egress=egress, address=address, ports=ports)
                if denied:
                    problems.append(f"{acl['NetworkAclId']} ({subnet['SubnetId']}): {what}: {', '.join(denied)}")
    return Check(NACLS, FAIL if problems else PASS,
                 "; ".join(problems) or "outbound tcp/443 and inbound 1024-65535 allowed on the task subnets",
                 "allow outbound tcp/443 and inbound tcp 1024-65535 in the task subnets' network ACL "
                 "(rules are read lowest number first)" if problems else "")


def routes(d) -> Check:
    ec2 = d.client("ec2")
    s3 = d.endpoints.get("s3")
    prefix = (d.s3_prefix_list or {}).get("PrefixListId")
    nat = d.inputs.get("nat_mode", "single") != "none"
    problems = []
    for subnet in d.task_subnets:
        table = route_table(ec2, d.outputs["vpc_id"], subnet["SubnetId"])[0] or {"RouteTableId": "(none)", "Routes": []}
        active = active_routes(table)
        where = f"{table['RouteTableId']} ({subnet['SubnetId']})"
        if s3 and not any(r.get("DestinationPrefixListId") == prefix and r.get("GatewayId") == s3["VpcEndpointId"]
                          for r in active):
            problems.append(f"{where} has no route to the S3 gateway endpoint {s3['VpcEndpointId']} ({prefix})")
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


CHECKS = ((ENDPOINTS, endpoints), (DNS, vpc_dns), (ENDPOINT_AZS, endpoint_azs), (ENDPOINT_SG, endpoint_sg),
          (TASK_EGRESS, task_egress), (NACLS, nacls), (ROUTES, routes))
