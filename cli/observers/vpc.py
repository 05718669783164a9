"""What byoc reads of a VPC, in one place for the existing-VPC checks before a deploy and for
``byoc doctor``: a subnet's route table, the routes that make a subnet public or give it a way
out, and the VPC's DNS attributes (the endpoints' private DNS names resolve only with both on)."""

from __future__ import annotations

#: The VPC attributes private DNS needs: DescribeVpcAttribute's attribute -> its answer's key,
#: and the flag of ``aws ec2 modify-vpc-attribute`` that turns it on.
DNS_ATTRIBUTES = (("enableDnsSupport", "EnableDnsSupport", "--enable-dns-support"),
                  ("enableDnsHostnames", "EnableDnsHostnames", "--enable-dns-hostnames"))


def dns_off(ec2, vpc_id: str) -> list[tuple[str, str]]:
    """(attribute, fix command) of each DNS attribute that is off."""
    return [(attr, f"aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {flag} '{{\"Value\":true}}'")
            for attr, key, flag in DNS_ATTRIBUTES
            if not ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attr)[key]["Value"]]


def route_table(ec2, vpc_id: str, subnet_id: str) -> tuple[dict | None, bool]:
    """The route table of ``subnet_id`` and whether it is the subnet's own (explicitly associated),
    else the VPC's main table (implicitly: VPC user guide, "Subnet route tables")."""
    own = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])["RouteTables"]
    if own:
        return own[0], True
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                              {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    return (main[0] if main else None), False


def active_routes(table: dict | None) -> list[dict]:
    return [r for r in (table or {}).get("Routes", []) if r.get("State", "active") == "active"]


def way_out(route: dict) -> bool:
    """A default route that leads to the internet without making the subnet public: a NAT gateway,
    a NAT instance (an instance or its interface) or a transit gateway (a central egress VPC)."""
    return route.get("DestinationCidrBlock") == "0.0.0.0/0" and any(
        route.get(k) for k in ("NatGatewayId", "InstanceId", "NetworkInterfaceId", "TransitGatewayId"))


def to_internet_gateway(route: dict) -> bool:
    return str(route.get("GatewayId", "")).startswith("igw-")
