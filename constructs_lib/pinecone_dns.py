"""Private DNS for Pinecone's PrivateLink hostnames (with ``pinecone_privatelink_region``).

Pinecone's index hosts over PrivateLink are ``<index>-<project>.svc.<dns_zone>`` (e.g.
``*.private.aped-4627-b74a.pinecone.io`` in us-east-1), and its TLS certificates name them, so the
tasks must reach the endpoint under those names. Pinecone's service offers no private DNS of its
own; its docs say to route ``*.<dns_zone>`` to the endpoint yourself. Here: a Route 53 private
hosted zone ``<dns_zone>`` associated with the VPC, and one wildcard **alias** A record to the
endpoint's first DNS entry (its regional name, covering every AZ). An alias rather than a CNAME:
answered as A records in one lookup, free of query charges, and it follows the endpoint's IPs.

Count 0 or 1 (``network.pinecone_private_zones``): no region, or an explicit
``pinecone_vpce_services`` list that does not contain the region's service, means no zone.
https://docs.pinecone.io/guides/production/configure-private-endpoints
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Token
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone, Route53ZoneVpc
from constructs import Construct

from constructs_lib.network import Network


@dataclass(frozen=True)
class PineconeDnsProps:
    app_name: str
    network: Network


class PineconeDns(Construct):
    """Handles: ``zone`` (aws_route53_zone.pinecone), ``record`` (aws_route53_record.pinecone_wildcard),
    count 0 or 1 each."""

    def __init__(self, scope: Construct, id: str, props: PineconeDnsProps) -> None:
        super().__init__(scope, id)
        zones = props.network.pinecone_private_zones.fqn
        count = Token.as_number(Fn.length_of(props.network.pinecone_private_zones.expression))
        self.zone = Route53Zone(
            self, "pinecone", count=count, name=f"${{{zones}[0].dns_zone}}",
            comment="Pinecone PrivateLink hostnames of this VPC (byoc)",
            vpc=[Route53ZoneVpc(vpc_id=props.network.vpc.id)],
            tags={"Name": f"{props.app_name}-pinecone-privatelink"})
        dns_entry = f"{props.network.pinecone_endpoints.fqn}[{zones}[0].service_name].dns_entry[0]"
        self.record = Route53Record(
            self, "pinecone_wildcard", count=count, zone_id=f"${{{self.zone.fqn}[0].zone_id}}",
            name=f"*.${{{zones}[0].dns_zone}}", type="A",
            alias=Route53RecordAlias(name=f"${{{dns_entry}.dns_name}}", zone_id=f"${{{dns_entry}.hosted_zone_id}}",
                                     evaluate_target_health=False))
