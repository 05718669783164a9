"""Deploying into an existing VPC (``existing_vpc_id``): the checks before anything changes, and
the VPC's own endpoints, found and reused.

Read-only, boto3, before synth or terraform run (so a refusal changes nothing, on disk or in
AWS). Each refusal is one line naming the input and the fix (``InputError``, exit 2):

- the VPC exists in ``aws_region``, with ``enableDnsSupport`` and ``enableDnsHostnames`` on (the
  endpoints' private DNS names resolve only then);
- both subnets exist, belong to it, lie in two different AZs, and are private: no route of
  their route table (their own, else the VPC's main one) goes to an internet gateway;
- they have a way out for Pinecone's control plane (a 0.0.0.0/0 route to a NAT gateway, a NAT
  instance or a transit gateway), unless ``nat_mode = none`` accepts none (and the same warning
  as for a stack of its own with ``nat_mode = none`` is said).

Endpoints: a private-DNS interface endpoint exists once per VPC and service (AWS refuses a
second, whose private DNS would collide), so the VPC's own available endpoints with private DNS
are reused, and so is an S3 gateway already on the subnets' route tables; they become
``existing_vpc_endpoints``. The stack's own endpoints (tagged ``ManagedBy = byoc`` and
``Project = <app_name>`` by the provider's default tags) are never counted as the VPC's, so a
second deploy plans no change. Plain terraform users set ``existing_vpc_endpoints`` by hand; the
subnet and DNS checks are also postconditions of the stack's data sources (see
``constructs_lib/network.py``), the route checks are the CLI's only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cli.core.aws import AwsTarget, aws_error
from cli.core.errors import InputError
from cli.observers.vpc import active_routes, dns_off, route_table, to_internet_gateway, way_out
from constructs_lib.catalog import MANAGED_BY_TAG, PROJECT_TAG, S3_GATEWAY, interface_services, service_of

VPC, SUBNETS = "existing_vpc_id", "existing_private_subnet_ids"
_GONE = ("deleted", "deleting", "failed", "rejected", "expired")


@dataclass
class ExistingNetwork:
    vpc_id: str
    #: service -> endpoint id of the VPC's own endpoints the stack uses (``existing_vpc_endpoints``).
    reused: dict[str, str] = field(default_factory=dict)
    #: The endpoints the stack creates (interface services, and "s3" for the gateway).
    created: list[str] = field(default_factory=list)
    #: Whether every subnet has a default route to a NAT (or another way out than an IGW).
    way_out: bool = True
    lines: list[str] = field(default_factory=list)


def _ours(endpoint: dict, app_name: str) -> bool:
    tags = {t["Key"]: t["Value"] for t in endpoint.get("Tags") or []}
    return tags.get(MANAGED_BY_TAG[0]) == MANAGED_BY_TAG[1] and tags.get(PROJECT_TAG) == app_name


def check(target: AwsTarget, values: dict[str, Any]) -> ExistingNetwork:
    """The checks of the module doc, then the endpoints to reuse; raises InputError on a refusal."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _check(target, values)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        region = target.region
        if code.startswith("InvalidVpcID"):
            raise InputError(f"{VPC}: {values[VPC]} does not exist in {region}: give a VPC of aws_region {region} "
                             f"(aws ec2 describe-vpcs --region {region}), or set aws_region to the VPC's region.") from None
        if code.startswith("InvalidSubnetID"):
            raise InputError(f"{SUBNETS}: {', '.join(values[SUBNETS])}: not all exist in {region} ({code}); give two "
                             f"subnets of {values[VPC]} (aws ec2 describe-subnets --filters Name=vpc-id,"
                             f"Values={values[VPC]}).") from None
        raise aws_error(exc, f"checking {VPC} {values[VPC]}") from None
    except BotoCoreError as exc:
        raise aws_error(exc, f"checking {VPC} {values[VPC]}") from None


def _check(target: AwsTarget, values: dict[str, Any]) -> ExistingNetwork:
    ec2 = target.client("ec2")
    vpc_id, subnet_ids = values[VPC], list(values[SUBNETS])
    ec2.describe_vpcs(VpcIds=[vpc_id])
    for attr, fix in dns_off(ec2, vpc_id)[:1]:
        raise InputError(f"{VPC}: {vpc_id} has {attr} off; the endpoints' private DNS names resolve only with "
                         f"enableDnsSupport and enableDnsHostnames on: {fix}.")

    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]}
    for sid in subnet_ids:
        if subnets[sid]["VpcId"] != vpc_id:
            raise InputError(f"{SUBNETS}: {sid} is a subnet of {subnets[sid]['VpcId']}, not of {VPC} {vpc_id}: give "
                             f"two private subnets of {vpc_id}.")
    a, b = (subnets[sid]["AvailabilityZone"] for sid in subnet_ids)
    if a == b:
        raise InputError(f"{SUBNETS}: {subnet_ids[0]} and {subnet_ids[1]} are both in {a}: give subnets in two "
                         "different availability zones (the load balancer and the endpoints need two).")

    tables: dict[str, tuple[dict | None, bool]] = {sid: route_table(ec2, vpc_id, sid) for sid in subnet_ids}
    no_way_out = []
    for sid, (table, _own) in tables.items():
        rtb = (table or {}).get("RouteTableId", "(no route table)")
        public = [r for r in active_routes(table) if to_internet_gateway(r)]
        if public:
            dest = public[0].get("DestinationCidrBlock") or public[0].get("DestinationIpv6CidrBlock") or "a route"
            raise InputError(f"{SUBNETS}: {sid} is public: its route table {rtb} sends {dest} to the internet gateway "
                             f"{public[0]['GatewayId']}; give private subnets (no route to an internet gateway; a "
                             "NAT gateway is the way out).")
        if not any(way_out(r) for r in active_routes(table)):
            no_way_out.append(f"{sid} ({rtb})")
    network = ExistingNetwork(vpc_id, way_out=not no_way_out)
    if no_way_out and values.get("nat_mode") != "none":
        raise InputError(f"{SUBNETS}: {', '.join(no_way_out)} has no 0.0.0.0/0 route to a NAT gateway, so the tasks "
                         "cannot reach Pinecone's control plane (api.pinecone.io, on the public internet): add a NAT "
                         "route to the subnets' route tables, or set nat_mode = none to accept no way out (Pinecone's "
                         "data plane is then reachable only over PrivateLink: pinecone_privatelink_region).")

    _endpoints(ec2, values, tables, network)
    az = {sid: subnets[sid]["AvailabilityZone"] for sid in subnet_ids}
    network.lines.append(f"Existing VPC {vpc_id}: subnets {', '.join(f'{s} ({az[s]})' for s in subnet_ids)}; "
                         + ("a NAT route out of each." if network.way_out else
                            "no way out to the internet (nat_mode = none accepts that)."))
    reused = ", ".join(f"{'s3 gateway' if s == S3_GATEWAY else s} ({e})" for s, e in network.reused.items())
    created = ", ".join("s3 gateway" if s == S3_GATEWAY else s for s in network.created)
    network.lines.append(f"VPC endpoints: reusing the VPC's {reused or 'none'}; creating {created or 'none'}.")
    return network


def _endpoints(ec2, values: dict[str, Any], tables: dict[str, tuple[dict | None, bool]],
               network: ExistingNetwork) -> None:
    wanted = interface_services(values.get("endpoint_set", "full"), bool(values.get("ecs_exec")))
    found = [e for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}])["VpcEndpoints"]
             if str(e.get("State", "")).lower() not in _GONE and not _ours(e, values.get("app_name", ""))]
    for service in wanted:
        match = next((e for e in found if e.get("VpcEndpointType") == "Interface" and e.get("PrivateDnsEnabled")
                      and service_of(e["ServiceName"]) == service), None)
        if match:
            network.reused[service] = match["VpcEndpointId"]
        else:
            network.created.append(service)

    needed = {t["RouteTableId"] for t, _own in tables.values() if t}
    for gateway in (e for e in found if e.get("VpcEndpointType") == "Gateway" and service_of(e["ServiceName"]) == S3_GATEWAY):
        on = set(gateway.get("RouteTableIds") or [])
        if needed <= on:
            network.reused[S3_GATEWAY] = gateway["VpcEndpointId"]
            return
        if needed & on:
            missing = " ".join(sorted(needed - on))
            raise InputError(f"{SUBNETS}: the VPC's S3 gateway endpoint {gateway['VpcEndpointId']} is on some of the "
                             f"subnets' route tables but not on {missing} (a route table takes one S3 gateway): aws ec2 "
                             f"modify-vpc-endpoint --vpc-endpoint-id {gateway['VpcEndpointId']} --add-route-table-ids "
                             f"{missing}.")
    shared = [sid for sid, (_t, own) in tables.items() if not own]
    if shared:
        main = tables[shared[0]][0] or {}
        raise InputError(f"{SUBNETS}: {shared[0]} has no route table of its own (it uses the VPC's main route table "
                         f"{main.get('RouteTableId', '')}), and byoc puts its S3 gateway endpoint on the subnets' route "
                         f"tables: associate one (aws ec2 associate-route-table --subnet-id {shared[0]} --route-table-id "
                         "<rtb>), or give the VPC an S3 gateway endpoint on its main route table.")
    network.created.append(S3_GATEWAY)
