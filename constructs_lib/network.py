"""network.tf: VPC, subnets, IGW, NATs, route tables, the S3 gateway, the AWS interface
endpoints, optional Pinecone PrivateLink endpoints, and the endpoint security group.

Layout: 2 AZs, each with one private subnet and its own route table. ``nat_mode`` (a Terraform
variable, so one JSON serves every choice) decides the rest, through ``count``:

- ``per_az`` (default): a public subnet per AZ holding a NAT gateway + EIP; each private route
  table sends 0.0.0.0/0 to the NAT of its own AZ, so losing one AZ never cuts the other.
- ``single``: only ``nat_0`` (in ``public_0``); both private route tables send 0.0.0.0/0 to it.
- ``none``: no public subnets, internet gateway, EIPs, NATs or default routes at all; the S3
  gateway and the interface endpoints carry everything.

Addresses never move between modes (``nat_0``, ``public_1``, ...): a count of 0 removes them.
Which interface endpoints exist (``endpoint_set``, ``ecs_exec``) is the catalogue's
(``constructs_lib/catalog.py``); this module creates those it lists for ``network``.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, TerraformIterator, TerraformLocal, Token
from cdktf_cdktf_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from constructs_lib import catalog
from constructs_lib.catalog import PINECONE_PRIVATELINK
from constructs_lib.conditions import count_if

AZ_COUNT = 2


@dataclass(frozen=True)
class NetworkProps:
    app_name: str
    region: str
    vpc_cidr: str
    #: Lists of exactly AZ_COUNT CIDRs (Terraform list tokens).
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]
    #: PrivateLink service names for Pinecone (list token); one interface endpoint each. When
    #: non-empty it wins over ``pinecone_privatelink_region``'s service.
    pinecone_vpce_services: list[str]
    #: ``nat_mode`` (string token): per_az (default), single or none.
    nat_mode: str = "per_az"
    #: ``endpoint_set`` (string token): full (default) or minimal.
    endpoint_set: str = "full"
    #: ``ecs_exec`` (bool token): ECS Exec adds its endpoints (catalog.ECS_EXEC, FULL_OR_ECS_EXEC).
    ecs_exec: bool = False
    #: ``pinecone_privatelink_region`` (string token): a region of constructs_lib/pinecone_privatelink.json,
    #: or "" (off).
    pinecone_privatelink_region: str = ""


class Network(Construct):
    """The VPC and everything that carries packets.

    Handles: ``vpc``, ``public_subnets`` and ``nat_gateways`` (counted by ``nat_mode``: refer to
    them as ``<fqn>[0]``), ``private_subnets``, ``private_route_tables``, ``endpoint_security_group``,
    ``interface_endpoints`` (service -> endpoint; those not in every set are counted: see
    ``presence_count``), ``s3_endpoint``, ``pinecone_endpoints`` (for_each) and
    ``pinecone_private_zones`` (a local: the zones Pinecone's hostnames need).
    """

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        self._props = props
        azs = DataAwsAvailabilityZones(self, "available", state="available")

        self.vpc = Vpc(self, "main", cidr_block=props.vpc_cidr, enable_dns_support=True,
                       enable_dns_hostnames=True,  # both required for private DNS on endpoints
                       tags={"Name": f"{props.app_name}-vpc"})
        # Take every rule away from the VPC's default security group: anything that ends up in it
        # by accident can then talk to nothing.
        DefaultSecurityGroup(self, "default", vpc_id=self.vpc.id, tags={"Name": f"{props.app_name}-default-deny"})

        # count of what exists unless nat_mode = none (IGW, public subnets and tables, nat_0), and
        # of what exists only with nat_mode = per_az (nat_1 and its EIP).
        # (Op.eq with a non-empty literal: cdktf renders a falsy one as `undefined`.)
        public_count = Token.as_number(Fn.conditional(Op.eq(props.nat_mode, "none"), 0, 1))
        second_nat_count = count_if(Op.eq(props.nat_mode, "per_az"))

        igw = InternetGateway(self, "igw", count=public_count, vpc_id=self.vpc.id,
                              tags={"Name": f"{props.app_name}-igw"})
        # Route tables, routes and NAT gateways live in their own scope only so that their
        # addresses can repeat the subnet's name (aws_route_table.private_0 next to
        # aws_subnet.private_0): construct ids must be unique per scope, addresses per type.
        routing = Construct(self, "routing")
        public_rt = RouteTable(routing, "public", count=public_count, vpc_id=self.vpc.id,
                               tags={"Name": f"{props.app_name}-public"})
        # Counted resources are referred to as [0] by resources of the same (or a smaller) count.
        Route(routing, "public_internet", count=public_count, route_table_id=f"${{{public_rt.fqn}[0].id}}",
              destination_cidr_block="0.0.0.0/0", gateway_id=f"${{{igw.fqn}[0].id}}")

        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        self.private_route_tables: list[RouteTable] = []
        self.nat_gateways: list[NatGateway] = []
        for i in range(AZ_COUNT):
            az = Fn.element(azs.names, i)
            public = Subnet(self, f"public_{i}", count=public_count, vpc_id=self.vpc.id, availability_zone=az,
                            cidr_block=Fn.element(props.public_subnet_cidrs, i),
                            map_public_ip_on_launch=False,  # only the NAT gateways live here, with EIPs
                            tags={"Name": f"{props.app_name}-public-{i}", "Tier": "public"})
            private = Subnet(self, f"private_{i}", vpc_id=self.vpc.id, availability_zone=az,
                             cidr_block=Fn.element(props.private_subnet_cidrs, i),
                             tags={"Name": f"{props.app_name}-private-{i}", "Tier": "private"})
            RouteTableAssociation(routing, f"public_{i}_subnet", count=public_count,
                                  subnet_id=f"${{{public.fqn}[0].id}}", route_table_id=f"${{{public_rt.fqn}[0].id}}")

            nat_count = public_count if i == 0 else second_nat_count
            eip = Eip(self, f"nat_{i}", count=nat_count, domain="vpc", tags={"Name": f"{props.app_name}-nat-{i}"},
                      depends_on=[igw])
            nat = NatGateway(routing, f"nat_{i}", count=nat_count, allocation_id=f"${{{eip.fqn}[0].id}}",
                             subnet_id=f"${{{public.fqn}[0].id}}", tags={"Name": f"{props.app_name}-nat-{i}"},
                             depends_on=[igw])
            self.nat_gateways.append(nat)
            private_rt = RouteTable(routing, f"private_{i}", vpc_id=self.vpc.id,
                                    tags={"Name": f"{props.app_name}-private-{i}"})
            # This AZ's own NAT when it has one (per_az), else nat_0 (single); no route at all
            # with nat_mode = none.
            nat_id = (f"${{{nat.fqn}[0].id}}" if i == 0 else
                      f"${{concat({nat.fqn}[*].id, {self.nat_gateways[0].fqn}[*].id)[0]}}")
            Route(routing, f"private_{i}_nat", count=public_count, route_table_id=private_rt.id,
                  destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)
            RouteTableAssociation(routing, f"private_{i}_subnet", subnet_id=private.id,
                                  route_table_id=private_rt.id)

            self.public_subnets.append(public)
            self.private_subnets.append(private)
            self.private_route_tables.append(private_rt)

        self.endpoint_security_group = SecurityGroup(
            self, "vpc_endpoints", name=f"{props.app_name}-vpce", vpc_id=self.vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags={"Name": f"{props.app_name}-vpce"})
        VpcSecurityGroupIngressRule(self, "vpc_endpoints_https", security_group_id=self.endpoint_security_group.id,
                                    description="HTTPS from the VPC", ip_protocol="tcp", from_port=443, to_port=443,
                                    cidr_ipv4=self.vpc.cidr_block)

        # ECR keeps image layers in S3: without this gateway, private tasks cannot pull images
        # unless a NAT is there (the fix doc's third root cause). Present in every endpoint set.
        self.s3_endpoint = VpcEndpoint(
            self, "s3", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=[rt.id for rt in self.private_route_tables],
            tags={"Name": f"{props.app_name}-s3"})

        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for endpoint in catalog.INTERFACE_ENDPOINTS:
            if endpoint.module == "network":
                self.add_interface_endpoint(endpoint.service, count=self.presence_count(endpoint.present))

        self._pinecone(props)

    def _pinecone(self, props: NetworkProps) -> None:
        """Pinecone's PrivateLink endpoints: one per ``pinecone_vpce_services`` entry, or, when that
        list is empty, the published service of ``pinecone_privatelink_region`` (Pinecone's table,
        embedded as a local so the region stays a variable). The explicit list wins because it is
        the more specific ask (e.g. a service Pinecone gave you that the table does not list yet)."""
        table = TerraformLocal(self, "pinecone_privatelink", {
            region: {"service_name": row.service_name, "dns_zone": row.dns_zone}
            for region, row in PINECONE_PRIVATELINK.items()})
        # The table's row of the chosen region: a list of 0 or 1 rows (no lookup of "").
        chosen = TerraformLocal(self, "pinecone_privatelink_chosen", Token.as_any(
            f"${{[for r in compact([{props.pinecone_privatelink_region}]) : {table.fqn}[r]]}}"))
        explicit = Token.as_string(props.pinecone_vpce_services)
        services = TerraformLocal(self, "pinecone_endpoint_services", Token.as_any(
            f"${{toset(length({explicit}) > 0 ? {explicit} : "
            f"[for row in {chosen.fqn} : row.service_name])}}"))
        #: The private zones Pinecone's hostnames need (0 or 1 rows {service_name, dns_zone}): the
        #: chosen region's, when its service has an endpoint (an explicit list without it: no zone,
        #: since the zone's records would have no endpoint to point at).
        self.pinecone_private_zones = TerraformLocal(self, "pinecone_private_zones", Token.as_any(
            f"${{[for row in {chosen.fqn} : row if contains({services.fqn}, row.service_name)]}}"))

        pinecone = TerraformIterator.from_list(Token.as_list(services.expression))
        # Third-party services: private DNS stays off (the service has none to offer for this
        # VPC); constructs_lib/pinecone_dns.py adds the private zone Pinecone's docs ask for.
        self.pinecone_endpoints = VpcEndpoint(
            self, "pinecone", for_each=pinecone, vpc_id=self.vpc.id, service_name=Token.as_string(pinecone.value),
            vpc_endpoint_type="Interface", private_dns_enabled=False,
            subnet_ids=[s.id for s in self.private_subnets],
            security_group_ids=[self.endpoint_security_group.id],
            tags={"Name": f"{props.app_name}-pinecone"})

    def presence_count(self, present: str) -> int | float | None:
        """The ``count`` of an interface endpoint that exists ``present`` (a catalog constant):
        None (no count) for catalog.ALWAYS, else a 0-or-1 number token of the inputs."""
        p = self._props
        return {catalog.ALWAYS: None,
                catalog.FULL: count_if(Op.eq(p.endpoint_set, "full")),
                catalog.FULL_OR_ECS_EXEC: count_if(Op.or_(Op.eq(p.endpoint_set, "full"), p.ecs_exec)),
                catalog.ECS_EXEC: count_if(p.ecs_exec)}[present]

    def add_interface_endpoint(self, service: str, scope: Construct | None = None,
                               count: int | float | None = None) -> VpcEndpoint:
        """Create the private-DNS interface endpoint for an AWS ``service`` (e.g. ``"kms"``),
        in ``scope`` (default: this construct), and register it in ``interface_endpoints``.
        ``count`` (a number token, 0 or 1) makes the endpoint conditional on an input; refer to a
        counted endpoint's attributes through ``one(<fqn>[*].<attr>)``.

        Each service may exist once per VPC: AWS rejects a second private-DNS endpoint for the
        same service (the documented layout lists KMS in two files), so asking twice is an error
        here, at synth, instead of at apply.
        """
        if service in self.interface_endpoints:
            raise ValueError(f"interface endpoint for {service!r} already exists in this VPC; "
                             f"use network.interface_endpoints[{service!r}] instead of adding it again")
        endpoint = VpcEndpoint(
            scope or self, service.replace(".", "_"), count=count, vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{self._props.region}.{service}",
            vpc_endpoint_type="Interface", private_dns_enabled=True,
            subnet_ids=[s.id for s in self.private_subnets],
            security_group_ids=[self.endpoint_security_group.id],
            tags={"Name": f"{self._props.app_name}-{service}"})
        self.interface_endpoints[service] = endpoint
        return endpoint
