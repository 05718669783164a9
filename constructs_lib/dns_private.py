"""dns_private.tf: the optional private DNS name of the service — a Route 53 private hosted zone
of that name, associated with the VPC, whose apex is an alias of the load balancer. Created only
when ``private_dns_name`` is set (count = 0 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.route53_record import Route53Record, Route53RecordAlias
from cdktf_cdktf_provider_aws.route53_zone import Route53Zone, Route53ZoneVpc
from constructs import Construct

from constructs_lib.conditions import count_if
from constructs_lib.network import VpcRef


@dataclass(frozen=True)
class PrivateDnsProps:
    app_name: str
    #: The VPC (own or existing).
    vpc: VpcRef
    load_balancer: Lb
    #: The ``private_dns_name`` variable, e.g. "api.internal.yourcorp", or "" for none.
    name: str


class PrivateDns(Construct):
    """Handles: ``zone`` (aws_route53_zone.private), ``record`` (aws_route53_record.service);
    both count 0 or 1."""

    def __init__(self, scope: Construct, id: str, props: PrivateDnsProps) -> None:
        super().__init__(scope, id)
        # (">= 1", not '!= ""': cdktf's Op.* renders a falsy literal as `undefined`.)
        self.enabled = Op.gte(Fn.length_of(props.name), 1)
        count = count_if(self.enabled)
        # A zone of exactly the service's name (not a parent domain): it answers only for that
        # name inside this VPC, and takes over nothing else the VPC resolves.
        self.zone = Route53Zone(
            self, "private", count=count, name=props.name, vpc=[Route53ZoneVpc(vpc_id=props.vpc.id)],
            comment=f"{props.app_name}: private name of the internal load balancer",
            tags={"Name": f"{props.app_name}-private"})
        self.record = Route53Record(
            self, "service", count=count, zone_id=f"${{one({self.zone.fqn}[*].zone_id)}}",
            name=props.name, type="A",
            # An alias, not a CNAME: valid at the zone apex, free to query, and it follows the
            # load balancer's changing IPs. evaluate_target_health: an alias to a load balancer
            # with no healthy target answers nothing rather than a dead address.
            alias=Route53RecordAlias(name=props.load_balancer.dns_name, zone_id=props.load_balancer.zone_id,
                                     evaluate_target_health=True))
