"""Deploying into an existing VPC (``existing_vpc_id``): the checks before anything changes, and
the VPC's own endpoints, found, verified and reused.

Read-only, boto3, before synth or terraform run (so a refusal changes nothing, on disk or in
AWS). Everything is read through the one model of a task's network path (``vpc.py``). Each
refusal is one line naming the input, what is wrong and the fix (``InputError``, exit 2):

- the VPC exists in ``aws_region``, with both DNS attributes on (the endpoints' private DNS names
  resolve only then);
- both subnets exist, belong to it, lie in two different AZs, and are private: no route of
  their route table (their own, else the VPC's main one) goes to an internet gateway;
- they have a way out for Pinecone's control plane (a 0.0.0.0/0 route to a NAT gateway, a NAT
  instance or a transit gateway), unless ``nat_mode = none`` accepts none (and the same warning
  as for a stack of its own with ``nat_mode = none`` is said);
- with ``pinecone_privatelink_region``, the VPC has no private hosted zone of that name already:
  Route 53 refuses a second zone of one name in one VPC (Route 53 API Reference, CreateHostedZone:
  ConflictingDomainExists, https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html);
  the VPC's zones are read with ListHostedZonesByVPC, paged by NextToken to the end
  (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ListHostedZonesByVPC.html).

Endpoints: a private-DNS interface endpoint exists once per VPC and service (AWS refuses a
second, whose private DNS would collide), so the VPC's own available endpoints with private DNS
are reused, and so is an S3 gateway already on the subnets' route tables; they become
``existing_vpc_endpoints``. A reused endpoint is its owner's, and the tasks depend on it, so it is
verified first: a subnet in each task AZ, a security group that admits tcp/443 from the task
subnets (by any means AWS honours), and an endpoint policy that allows the task start's calls
through it (judged by the independent evaluator; "not evaluated" when it is not installed). The
stack's own endpoints (tagged ``ManagedBy = byoc`` and ``Project = <app_name>`` by the provider's
default tags) are never counted as the VPC's, so a second deploy plans no change. Plain terraform
users set ``existing_vpc_endpoints`` by hand; the subnet and DNS checks are also postconditions of
the stack's data sources (see ``constructs_lib/network.py``), the route checks are the CLI's only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cli.core.aws import AwsTarget, aws_error
from cli.core.errors import InputError
from cli.observers import endpoint_calls
from cli.observers.vpc import Endpoint, NetworkPath, active_routes, to_internet_gateway, way_out
from constructs_lib.catalog import (MANAGED_BY_TAG, PINECONE_PRIVATELINK, PROJECT_TAG, S3_GATEWAY,
                                    VPC_DNS_ATTRIBUTES, interface_services)

VPC, SUBNETS = "existing_vpc_id", "existing_private_subnet_ids"


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


def _ours(endpoint: Endpoint, app_name: str) -> bool:
    return endpoint.tags.get(MANAGED_BY_TAG[0]) == MANAGED_BY_TAG[1] and endpoint.tags.get(PROJECT_TAG) == app_name


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
    vpc_id, subnet_ids = values[VPC], list(values[SUBNETS])
    path = NetworkPath(target.client("ec2"), vpc_id, target.region, tuple(subnet_ids))
    path.vpc  # noqa: B018 - InvalidVpcID.NotFound when there is no such VPC
    for attr, fix in path.dns_off[:1]:
        raise InputError(f"{VPC}: {vpc_id} has {attr} off; the endpoints' private DNS names resolve only with "
                         f"{' and '.join(a.api for a in VPC_DNS_ATTRIBUTES)} on: {fix}.")

    subnets = path.subnets
    for sid in subnet_ids:
        if subnets[sid]["VpcId"] != vpc_id:
            raise InputError(f"{SUBNETS}: {sid} is a subnet of {subnets[sid]['VpcId']}, not of {VPC} {vpc_id}: give "
                             f"two private subnets of {vpc_id}.")
    a, b = (subnets[sid]["AvailabilityZone"] for sid in subnet_ids)
    if a == b:
        raise InputError(f"{SUBNETS}: {subnet_ids[0]} and {subnet_ids[1]} are both in {a}: give subnets in two "
                         "different availability zones (the load balancer and the endpoints need two).")

    no_way_out = []
    for sid in subnet_ids:
        table, _own = path.route_table(sid)
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

    _pinecone_zone(target, values, vpc_id)
    _endpoints(path, values, network)
    _verify_reused(target, path, values, network)
    az = {sid: subnets[sid]["AvailabilityZone"] for sid in subnet_ids}
    network.lines.insert(0, f"Existing VPC {vpc_id}: subnets {', '.join(f'{s} ({az[s]})' for s in subnet_ids)}; "
                         + ("a NAT route out of each." if network.way_out else
                            "no way out to the internet (nat_mode = none accepts that)."))
    reused = ", ".join(f"{'s3 gateway' if s == S3_GATEWAY else s} ({e})" for s, e in network.reused.items())
    created = ", ".join("s3 gateway" if s == S3_GATEWAY else s for s in network.created)
    network.lines.insert(1, f"VPC endpoints: reusing the VPC's {reused or 'none'}; creating {created or 'none'}.")
    return network


def _endpoints(path: NetworkPath, values: dict[str, Any], network: ExistingNetwork) -> None:
    ours = [e.id for e in path.endpoints if _ours(e, values.get("app_name", ""))]
    for service in interface_services(values.get("endpoint_set", "full"), bool(values.get("ecs_exec"))):
        match = path.interface(service, exclude=ours)
        if match is not None and match.available and match.private_dns:
            network.reused[service] = match.id
        else:
            network.created.append(service)

    tables = {sid: path.route_table(sid) for sid in path.task_subnet_ids}
    needed = {t["RouteTableId"] for t, _own in tables.values() if t}
    for gateway in (e for e in path.endpoints if e.type == "Gateway" and e.service == S3_GATEWAY and e.id not in ours):
        on = set(gateway.route_table_ids)
        if needed <= on:
            network.reused[S3_GATEWAY] = gateway.id
            return
        if needed & on:
            missing = " ".join(sorted(needed - on))
            raise InputError(f"{SUBNETS}: the VPC's S3 gateway endpoint {gateway.id} is on some of the subnets' "
                             f"route tables but not on {missing} (a route table takes one S3 gateway): aws ec2 "
                             f"modify-vpc-endpoint --vpc-endpoint-id {gateway.id} --add-route-table-ids {missing}.")
    shared = [sid for sid, (_t, own) in tables.items() if not own]
    if shared:
        main = tables[shared[0]][0] or {}
        raise InputError(f"{SUBNETS}: {shared[0]} has no route table of its own (it uses the VPC's main route table "
                         f"{main.get('RouteTableId', '')}), and byoc puts its S3 gateway endpoint on the subnets' route "
                         f"tables: associate one (aws ec2 associate-route-table --subnet-id {shared[0]} --route-table-id "
                         "<rtb>), or give the VPC an S3 gateway endpoint on its main route table.")
    network.created.append(S3_GATEWAY)


def _verify_reused(target: AwsTarget, path: NetworkPath, values: dict[str, Any], network: ExistingNetwork) -> None:
    """A reused endpoint serves the tasks only with a subnet in each task AZ, a security group that
    admits them on 443 and a policy that allows their calls; refused otherwise, before any change."""
    endpoints = {service: next(e for e in path.endpoints if e.id == eid) for service, eid in network.reused.items()}
    if not endpoints:
        return
    problems: list[str] = []
    for service, endpoint in endpoints.items():
        if endpoint.type != "Interface":
            continue
        for az in path.missing_azs(endpoint):
            problems.append(f"{endpoint.name} has no subnet in {az}, where the tasks run: aws ec2 modify-vpc-endpoint "
                            f"--vpc-endpoint-id {endpoint.id} --add-subnet-ids <a subnet of {path.vpc_id} in {az}>")
        finding = path.admits_tasks(endpoint)
        if finding is not None:
            cidrs = " ".join(f"--cidr {s['CidrBlock']}" for s in path.task_subnets)
            problems.append(f"{finding.line()}: aws ec2 authorize-security-group-ingress --group-id "
                            f"{(endpoint.group_ids or ('<its group>',))[0]} --protocol tcp --port 443 {cidrs}")
    caller, app = target.caller(), values.get("app_name", "")
    start = endpoint_calls.TaskStart(
        caller.partition, target.region, caller.account, app, values.get("container_image", ""),
        endpoint_calls.secret_arn_before_deploy(target, caller.partition, caller.account, app), path.vpc_id,
        endpoint_calls.execution_role_arn(caller.partition, caller.account, app))
    judged = endpoint_calls.judge(start, endpoints)
    for finding in judged.denied:
        problems.append(f"{finding.line()}: allow it in the endpoint's policy (aws ec2 modify-vpc-endpoint "
                        f"--vpc-endpoint-id {finding.where.rsplit(' ', 1)[-1]} --policy-document file://policy.json)")
    if problems:
        more = f" ({len(problems) - 1} more after this one)" if len(problems) > 1 else ""
        raise InputError(f"{VPC}: the tasks would use the VPC's own endpoint, but {problems[0]}{more}.")
    for line in judged.not_evaluated:
        network.lines.append(f"Reused endpoints' policies not evaluated: {line}.")


def _pinecone_zone(target: AwsTarget, values: dict[str, Any], vpc_id: str) -> None:
    """Route 53 refuses a second private zone of one name in one VPC: a Pinecone zone the VPC
    already has (not this stack's) is refused here, before anything is created."""
    region = values.get("pinecone_privatelink_region") or ""
    service = PINECONE_PRIVATELINK.get(region)
    if service is None:
        return
    explicit = list(values.get("pinecone_vpce_services") or [])
    if explicit and service.service_name not in explicit:
        return  # no zone is created (README: the zone stays only if the list holds the region's service)
    route53 = target.client("route53")
    wanted = service.dns_zone.rstrip(".") + "."
    token = None
    while True:  # ListHostedZonesByVPC pages by NextToken (no botocore paginator): read to the end
        page = route53.list_hosted_zones_by_vpc(VPCId=vpc_id, VPCRegion=target.region,
                                                **({"NextToken": token} if token else {}))
        for zone in page.get("HostedZoneSummaries", []):
            if zone["Name"] != wanted:
                continue
            tags = {t["Key"]: t["Value"] for t in route53.list_tags_for_resource(
                ResourceType="hostedzone", ResourceId=zone["HostedZoneId"])["ResourceTagSet"].get("Tags", [])}
            if tags.get(MANAGED_BY_TAG[0]) == MANAGED_BY_TAG[1] and tags.get(PROJECT_TAG) == values.get("app_name"):
                continue  # this stack's own zone
            raise InputError(f"pinecone_privatelink_region: {vpc_id} already has the private hosted zone {wanted} "
                             f"({zone['HostedZoneId']}), and Route 53 refuses a second zone of one name in one VPC: "
                             "keep that zone (point its *." + wanted.rstrip(".") + " record at your Pinecone endpoint) "
                             "and unset pinecone_privatelink_region, or remove it from the VPC (aws route53 "
                             f"disassociate-vpc-from-hosted-zone --hosted-zone-id {zone['HostedZoneId']} --vpc "
                             f"VPCRegion={target.region},VPCId={vpc_id}).")
        token = page.get("NextToken")
        if not token:
            return
