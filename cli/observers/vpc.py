"""The one model of a task's network path, read once from AWS: what the existing-VPC checks read
before a deploy (``existing_vpc.py``) and what ``byoc doctor``'s network checks read of a
deployment (``doctor/network.py``). Neither reads the network itself, and they do not import
each other.

The path, as AWS routes a task start (VPC user guide, "Subnet route tables", "Control traffic to
your AWS resources using security groups", "Control subnet traffic with network ACLs"; PrivateLink
guide, "Access an AWS service using an interface VPC endpoint"):

- a task subnet -> its route table (its own, else the VPC's main one) -> a NAT gateway, NAT
  instance or transit gateway (the way out), and the S3 gateway's prefix-list route (ECR's image
  layers);
- a task -> an interface endpoint: private DNS (both VPC DNS attributes on) resolves the service's
  name to the endpoint's network interfaces, one in each of its subnets, so the endpoint needs a
  subnet in every AZ the tasks run in; its security groups must admit tcp/443 from the tasks and
  the tasks' groups must let it out;
- the network ACLs of the task subnets and of the endpoint subnets, both directions, because ACLs
  are stateless: 443 out of the task subnet and into the endpoint's, and the replies (to the
  ephemeral ports 1024-65535) out of the endpoint's subnet and into the task's. Traffic inside one
  subnet crosses no ACL;
- the endpoint's policy (judged by the independent evaluator: ``endpoint_calls.py``).

A security-group rule admits traffic by any source AWS honours: a CIDR range, a prefix list (its
entries) or a security group the tasks are in (EC2 API Reference, IpPermission: IpRanges,
PrefixListIds, UserIdGroupPairs). A CIDR rule admits the tasks when its ranges cover every task
subnet's range, whichever VPC CIDR (primary or secondary) those lie in.

The EC2 API Reference decides the reads' shapes: VpcEndpoint (ServiceName is optional; an
endpoint of type Resource or ServiceNetwork has none),
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_VpcEndpoint.html; IpPermission,
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpPermission.html; NetworkAclEntry
(RuleNumber 32767 is the default deny), https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkAclEntry.html;
DescribePrefixLists (Cidrs) and GetManagedPrefixListEntries,
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetManagedPrefixListEntries.html.

Each read is made once, when first needed (``cached_property``), so a read that fails (a missing
permission) fails only the checks that need it. Lists that AWS pages (DescribeVpcEndpoints,
DescribeRouteTables, DescribeNetworkAcls, DescribeSecurityGroups, GetManagedPrefixListEntries:
``NextToken``) are read to the end with botocore's paginators. DescribeSubnets is asked by subnet
id, which the API reference does not allow together with MaxResults (and then answers in full).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable

from constructs_lib.catalog import VPC_DNS_ATTRIBUTES, service_of

HTTPS = 443
#: Where replies to a task arrive: the ephemeral ports (VPC user guide, "Ephemeral ports": 1024-65535
#: covers every client AWS lists).
EPHEMERAL = (1024, 65535)
#: Endpoint states that are not (or no longer) an endpoint (DescribeVpcEndpoints' State).
GONE = ("deleted", "deleting", "failed", "rejected", "expired")
#: DescribeNetworkAcls lists each ACL's default deny (the ``*`` rule) as rule number 32767.
DEFAULT_ACL_RULE = 32767

Span = tuple[int, int]


# --- address ranges --------------------------------------------------------------------------------

def span(cidr: str) -> Span | None:
    """The IPv4 addresses of ``cidr`` as (first, last), or None for anything else (IPv6, a typo)."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except (TypeError, ValueError):
        return None
    if net.version != 4:
        return None
    return int(net.network_address), int(net.broadcast_address)


def _minus(spans: list[Span], cut: Span) -> list[Span]:
    out = []
    for lo, hi in spans:
        if cut[1] < lo or cut[0] > hi:
            out.append((lo, hi))
            continue
        if lo < cut[0]:
            out.append((lo, cut[0] - 1))
        if cut[1] < hi:
            out.append((cut[1] + 1, hi))
    return out


def covers(cidrs: Iterable[str], target: str) -> bool:
    """Whether the union of ``cidrs`` holds every address of ``target``."""
    rest = [s] if (s := span(target)) else []
    for cidr in cidrs:
        if (cut := span(cidr)) is not None:
            rest = _minus(rest, cut)
    return not rest and span(target) is not None


# --- what AWS describes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """One VPC endpoint as DescribeVpcEndpoints describes it. ``service`` is ``ecr.api``, ``s3``...,
    or None: the API reference makes ServiceName optional, and endpoints of type Resource and
    ServiceNetwork (a VPC Lattice resource configuration or service network) have none."""

    id: str
    type: str
    state: str
    service: str | None
    private_dns: bool
    subnet_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    route_table_ids: tuple[str, ...]
    policy: str | None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, e: dict) -> Endpoint:
        return cls(e["VpcEndpointId"], str(e.get("VpcEndpointType") or ""), str(e.get("State") or ""),
                   service_of(e["ServiceName"]) if e.get("ServiceName") else None, bool(e.get("PrivateDnsEnabled")),
                   tuple(e.get("SubnetIds") or ()), tuple(g["GroupId"] for g in e.get("Groups") or ()),
                   tuple(e.get("RouteTableIds") or ()), e.get("PolicyDocument"),
                   {t["Key"]: t["Value"] for t in e.get("Tags") or ()})

    @property
    def available(self) -> bool:
        return self.state.lower() == "available"

    @property
    def name(self) -> str:
        kind = "gateway" if self.type == "Gateway" else "endpoint"
        return f"the {self.service or self.type} {kind} {self.id}"


@dataclass(frozen=True)
class Finding:
    """What a check of the path found wrong: where, and what."""

    where: str
    what: str

    def line(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True)
class NetworkPath:
    """A task's network path in ``vpc_id``: from ``task_subnet_ids`` (in the security groups
    ``task_group_ids``, once the service exists) to the VPC's endpoints, read from AWS once."""

    ec2: Any
    vpc_id: str
    region: str
    task_subnet_ids: tuple[str, ...]
    task_group_ids: tuple[str, ...] = ()

    def _all(self, operation: str, key: str, **kwargs) -> list[dict]:
        found: list[dict] = []
        for page in self.ec2.get_paginator(operation).paginate(**kwargs):
            found += page.get(key, [])
        return found

    # -- the VPC ------------------------------------------------------------------------------------
    @cached_property
    def vpc(self) -> dict:
        return self.ec2.describe_vpcs(VpcIds=[self.vpc_id])["Vpcs"][0]

    @cached_property
    def cidrs(self) -> tuple[str, ...]:
        """Every IPv4 range associated with the VPC: the primary and any secondary CIDR blocks."""
        found = [a["CidrBlock"] for a in self.vpc.get("CidrBlockAssociationSet") or ()
                 if (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"]
        return tuple(dict.fromkeys([self.vpc["CidrBlock"], *found]))

    @cached_property
    def dns_off(self) -> list[tuple[str, str]]:
        """(attribute, fix command) of each DNS attribute that is off (the catalog's one table)."""
        return [(a.api, f"aws ec2 modify-vpc-attribute --vpc-id {self.vpc_id} {a.flag} '{{\"Value\":true}}'")
                for a in VPC_DNS_ATTRIBUTES
                if not self.ec2.describe_vpc_attribute(VpcId=self.vpc_id, Attribute=a.api)[a.key]["Value"]]

    # -- subnets, route tables, ACLs ----------------------------------------------------------------
    @cached_property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """The VPC's endpoints that are (still) endpoints, every type."""
        found = self._all("describe_vpc_endpoints", "VpcEndpoints", Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])
        return tuple(e for e in map(Endpoint.of, found) if e.state.lower() not in GONE)

    @cached_property
    def subnets(self) -> dict[str, dict]:
        """The task subnets and every subnet of the VPC's interface endpoints, by id."""
        ids = list(dict.fromkeys([*self.task_subnet_ids, *(s for e in self.endpoints for s in e.subnet_ids)]))
        return {s["SubnetId"]: s for s in self.ec2.describe_subnets(SubnetIds=ids)["Subnets"]} if ids else {}

    @property
    def task_subnets(self) -> list[dict]:
        return [self.subnets[s] for s in self.task_subnet_ids if s in self.subnets]

    @property
    def task_azs(self) -> set[str]:
        return {s["AvailabilityZone"] for s in self.task_subnets}

    @cached_property
    def _route_tables(self) -> list[dict]:
        return self._all("describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])

    def route_table(self, subnet_id: str) -> tuple[dict | None, bool]:
        """The route table of ``subnet_id`` and whether it is the subnet's own (explicitly
        associated), else the VPC's main table (VPC user guide, "Subnet route tables")."""
        for table in self._route_tables:
            if any(a.get("SubnetId") == subnet_id for a in table.get("Associations") or ()):
                return table, True
        main = next((t for t in self._route_tables if any(a.get("Main") for a in t.get("Associations") or ())), None)
        return main, False

    @cached_property
    def _acls(self) -> list[dict]:
        return self._all("describe_network_acls", "NetworkAcls", Filters=[{"Name": "vpc-id", "Values": [self.vpc_id]}])

    def acl(self, subnet_id: str) -> dict | None:
        """The network ACL associated with ``subnet_id`` (every subnet has exactly one)."""
        return next((a for a in self._acls if any(x.get("SubnetId") == subnet_id for x in a.get("Associations") or ())),
                    None)

    # -- endpoints ---------------------------------------------------------------------------------
    def interface(self, service: str, *, exclude: Iterable[str] = ()) -> Endpoint | None:
        """The VPC's endpoint for ``service`` that tasks reach by its name: an available interface
        endpoint with private DNS, else any interface endpoint for it (which the checks then name
        as unavailable or without private DNS)."""
        mine = [e for e in self.endpoints if e.service == service and e.type == "Interface" and e.id not in exclude]
        return next((e for e in mine if e.available and e.private_dns), None) or next(iter(mine), None)

    def s3_gateway(self, *, exclude: Iterable[str] = ()) -> Endpoint | None:
        return next((e for e in self.endpoints if e.service == "s3" and e.type == "Gateway" and e.id not in exclude),
                    None)

    # -- security groups and prefix lists ----------------------------------------------------------
    @cached_property
    def groups(self) -> dict[str, dict]:
        """The endpoints' and the tasks' security groups, by id."""
        ids = list(dict.fromkeys([*self.task_group_ids, *(g for e in self.endpoints for g in e.group_ids)]))
        if not ids:
            return {}
        return {g["GroupId"]: g for g in self._all("describe_security_groups", "SecurityGroups", GroupIds=ids)}

    @cached_property
    def s3_prefix_list(self) -> dict | None:
        """The region's S3 prefix list (DescribePrefixLists: AWS's service prefix lists)."""
        lists = self.ec2.describe_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": [f"com.amazonaws.{self.region}.s3"]}]).get("PrefixLists", [])
        return lists[0] if lists else None

    @cached_property
    def s3_cidrs(self) -> tuple[str, ...]:
        """S3's ranges: DescribePrefixLists' Cidrs, else the list's entries (GetManagedPrefixListEntries
        reads AWS-managed lists too)."""
        found = self.s3_prefix_list or {}
        if found.get("Cidrs") or not found.get("PrefixListId"):
            return tuple(found.get("Cidrs") or ())
        return tuple(e["Cidr"] for e in self._all("get_managed_prefix_list_entries", "Entries",
                                                  PrefixListId=found["PrefixListId"]))

    def prefix_list_cidrs(self, prefix_list_id: str) -> tuple[str, ...]:
        """A prefix list's ranges: the S3 one from DescribePrefixLists, any other (customer- or
        AWS-managed) from GetManagedPrefixListEntries. Cached per list."""
        cache = self.__dict__.setdefault("_prefix_lists", {})
        if prefix_list_id not in cache:
            if (self.s3_prefix_list or {}).get("PrefixListId") == prefix_list_id:
                cache[prefix_list_id] = self.s3_cidrs
            else:
                cache[prefix_list_id] = tuple(e["Cidr"] for e in self._all(
                    "get_managed_prefix_list_entries", "Entries", PrefixListId=prefix_list_id))
        return cache[prefix_list_id]

    def _permissions(self, group_ids: Iterable[str], *, egress: bool, port: int) -> tuple[list[str], set[str], set[str]]:
        """(CIDR ranges incl. prefix lists' entries, referenced groups, referenced prefix lists) of
        every rule of ``group_ids`` that covers tcp/``port`` in that direction."""
        cidrs: list[str] = []
        groups: set[str] = set()
        lists: set[str] = set()
        for gid in group_ids:
            for perm in (self.groups.get(gid) or {}).get("IpPermissionsEgress" if egress else "IpPermissions", []):
                if not _covers_port(perm, port):
                    continue
                cidrs += [r["CidrIp"] for r in perm.get("IpRanges", []) if r.get("CidrIp")]
                groups |= {p["GroupId"] for p in perm.get("UserIdGroupPairs", []) if p.get("GroupId")}
                for pl in (p["PrefixListId"] for p in perm.get("PrefixListIds", []) if p.get("PrefixListId")):
                    lists.add(pl)
                    cidrs += self.prefix_list_cidrs(pl)
        return cidrs, groups, lists

    def admits_tasks(self, endpoint: Endpoint, port: int = HTTPS) -> Finding | None:
        """None when ``endpoint``'s security groups admit tcp/``port`` from every task: a rule
        naming a task security group, or CIDR and prefix-list ranges covering every task subnet;
        else what is missing."""
        cidrs, groups, _lists = self._permissions(endpoint.group_ids, egress=False, port=port)
        if groups & set(self.task_group_ids):
            return None
        missing = [f"{s['SubnetId']} ({s['CidrBlock']})" for s in self.task_subnets if not covers(cidrs, s["CidrBlock"])]
        if not missing:
            return None
        return Finding(endpoint.name, f"its security group{'s' if len(endpoint.group_ids) != 1 else ''} "
                       f"{', '.join(endpoint.group_ids) or '(none)'} admit no tcp/{port} from the task subnet"
                       f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}")

    def tasks_reach(self, endpoint: Endpoint, port: int = HTTPS) -> bool:
        """Whether the tasks' security groups let tcp/``port`` out to ``endpoint``: a rule naming
        one of its groups, or ranges covering every one of its subnets."""
        cidrs, groups, _lists = self._permissions(self.task_group_ids, egress=True, port=port)
        if groups & set(endpoint.group_ids):
            return True
        return all(s in self.subnets and covers(cidrs, self.subnets[s]["CidrBlock"]) for s in endpoint.subnet_ids)

    def tasks_reach_s3(self, port: int = HTTPS) -> bool:
        """Whether the tasks' security groups let tcp/``port`` out to S3 (ECR's layers): the S3
        prefix list, or ranges covering each of its CIDRs (0.0.0.0/0 does)."""
        cidrs, _groups, lists = self._permissions(self.task_group_ids, egress=True, port=port)
        prefix = (self.s3_prefix_list or {}).get("PrefixListId")
        if prefix in lists or covers(cidrs, "0.0.0.0/0"):
            return True
        return bool(self.s3_cidrs) and all(covers(cidrs, c) for c in self.s3_cidrs)

    def missing_azs(self, endpoint: Endpoint) -> list[str]:
        """The task AZs in which ``endpoint`` has no subnet."""
        have = {self.subnets[s]["AvailabilityZone"] for s in endpoint.subnet_ids if s in self.subnets}
        return sorted(self.task_azs - have)

    # -- network ACLs: both directions, task and endpoint subnets ----------------------------------
    def acl_findings(self, endpoints: Iterable[Endpoint], *, s3: bool) -> list[Finding]:
        """What the ACLs of the task subnets and of ``endpoints``' subnets deny of a task start's
        traffic: 443 to each endpoint subnet and into it from each task subnet, the replies back
        (ephemeral ports), and, with ``s3``, 443 to S3's ranges and their replies."""
        found: dict[str, Finding] = {}

        def judge(subnet_id: str, egress: bool, ranges: Iterable[str], ports: tuple[int, int], what: str) -> None:
            acl = self.acl(subnet_id)
            if acl is None:
                return
            denied = acl_denies(acl.get("Entries", []), egress=egress, cidrs=ranges, ports=ports)
            if denied:
                where = f"{acl['NetworkAclId']} ({subnet_id})"
                found.setdefault(f"{where} {what}", Finding(where, f"{what}: {', '.join(denied)}"))

        for task in self.task_subnets:
            tid, tcidr = task["SubnetId"], task["CidrBlock"]
            for endpoint in endpoints:
                for sid in endpoint.subnet_ids:
                    if sid == tid or sid not in self.subnets:
                        continue  # inside one subnet, no ACL is crossed
                    scidr = self.subnets[sid]["CidrBlock"]
                    judge(tid, True, [scidr], (HTTPS, HTTPS), f"outbound 443 to the endpoints ({scidr})")
                    judge(tid, False, [scidr], EPHEMERAL, f"inbound replies from the endpoints ({scidr})")
                    judge(sid, False, [tcidr], (HTTPS, HTTPS), f"inbound 443 from the tasks ({tcidr})")
                    judge(sid, True, [tcidr], EPHEMERAL, f"outbound replies to the tasks ({tcidr})")
            if s3:
                ranges = self.s3_cidrs or ("0.0.0.0/0",)
                judge(tid, True, ranges, (HTTPS, HTTPS), "outbound 443 to S3")
                judge(tid, False, ranges, EPHEMERAL, "inbound replies from S3")
        return list(found.values())


def _covers_port(perm: dict, port: int) -> bool:
    proto = str(perm.get("IpProtocol"))
    if proto in ("-1", "all"):
        return True
    return proto in ("tcp", "6") and perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)


def acl_denies(entries: Iterable[dict], *, egress: bool, cidrs: Iterable[str], ports: tuple[int, int]) -> list[str]:
    """What a network ACL denies of tcp traffic to (``egress``) or from ``cidrs`` on ``ports``,
    as text. Rules are read lowest number first and the first that matches decides (VPC user
    guide, "Network ACL rules"); an address and port no rule allows falls to the default deny."""
    boxes: list[tuple[Span, Span]] = [(s, ports) for c in cidrs if (s := span(c))]
    denied: list[str] = []
    for entry in sorted((e for e in entries if bool(e.get("Egress")) is egress), key=lambda e: e["RuleNumber"]):
        if str(entry.get("Protocol")) not in ("-1", "6") or (where := span(entry.get("CidrBlock", ""))) is None:
            continue
        rng = entry.get("PortRange") or {}
        rule_ports = (rng.get("From", 0), rng.get("To", 65535)) if str(entry.get("Protocol")) == "6" else (0, 65535)
        left: list[tuple[Span, Span]] = []
        for addrs, prts in boxes:
            a = (max(addrs[0], where[0]), min(addrs[1], where[1]))
            p = (max(prts[0], rule_ports[0]), min(prts[1], rule_ports[1]))
            if a[0] > a[1] or p[0] > p[1]:
                left.append((addrs, prts))
                continue
            if entry.get("RuleAction") == "deny":
                text = ("no rule allows " if entry["RuleNumber"] == DEFAULT_ACL_RULE else
                        f"rule {entry['RuleNumber']} denies ") + f"{p[0]}-{p[1]}"
                if text not in denied:
                    denied.append(text)
            # the box less the part this rule decided: the addresses outside it, then the ports outside it
            left += [(r, prts) for r in _minus([addrs], a)] + [(a, r) for r in _minus([prts], p)]
        boxes = left
        if not boxes:
            break
    for _addrs, (lo, hi) in boxes:
        if f"no rule allows {lo}-{hi}" not in denied:
            denied.append(f"no rule allows {lo}-{hi}")
    return denied


# --- routes -----------------------------------------------------------------------------------------

def active_routes(table: dict | None) -> list[dict]:
    return [r for r in (table or {}).get("Routes", []) if r.get("State", "active") == "active"]


def way_out(route: dict) -> bool:
    """A default route that leads to the internet without making the subnet public: a NAT gateway,
    a NAT instance (an instance or its interface) or a transit gateway (a central egress VPC)."""
    return route.get("DestinationCidrBlock") == "0.0.0.0/0" and any(
        route.get(k) for k in ("NatGatewayId", "InstanceId", "NetworkInterfaceId", "TransitGatewayId"))


def to_internet_gateway(route: dict) -> bool:
    return str(route.get("GatewayId", "")).startswith("igw-")
