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

``existing_vpc_id`` (with ``existing_private_subnet_ids``) deploys into a VPC someone else owns:
then the VPC, every subnet, the internet gateway, the NATs, the route tables and the default
security group's lock-down have count 0, and ``vpc``/``private_subnets`` are that VPC and those
subnets, read through data sources whose postconditions refuse a VPC without DNS support or
hostnames, a subnet of another VPC, or two subnets in one AZ, during plan. Exactly one side of
each pair exists; locals name it (``local.vpc_id``, ``local.vpc_cidr``, ``local.private_subnet_ids``,
``local.private_route_table_ids``).
``existing_vpc_endpoints`` (service -> vpce-...) sets the count of those endpoints to 0: the
VPC's own are used instead (a private-DNS interface endpoint exists once per VPC and service).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, Postcondition, TerraformIterator, TerraformLocal, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.data_aws_availability_zones import DataAwsAvailabilityZones
from cdktf_cdktf_provider_aws.data_aws_route_table import DataAwsRouteTable
from cdktf_cdktf_provider_aws.data_aws_subnet import DataAwsSubnet
from cdktf_cdktf_provider_aws.data_aws_vpc import DataAwsVpc
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
from constructs_lib.catalog import PINECONE_PRIVATELINK, S3_GATEWAY, VPC_DNS_ATTRIBUTES
from constructs_lib.conditions import count_if

AZ_COUNT = 2


@dataclass(frozen=True)
class VpcRef:
    """The VPC everything attaches to: the stack's own ``aws_vpc.main`` or ``existing_vpc_id``
    (expressions that name whichever exists)."""

    id: str
    cidr_block: str
    #: The same as ``id``, written out instead of through ``local.vpc_id``: for the few readers
    #: of the JSON that do not follow locals (checkov links a flow log to its VPC only so).
    id_inline: str = ""


@dataclass(frozen=True)
class SubnetRef:
    """A private subnet the endpoints, the load balancer and the tasks use (own or existing)."""

    id: str


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
    #: ``existing_vpc_id`` (string token): a VPC to deploy into, or "" (the stack creates its own).
    existing_vpc_id: str = ""
    #: ``existing_private_subnet_ids`` (list token): two subnets of that VPC, or [].
    existing_private_subnet_ids: list[str] | None = None
    #: ``existing_vpc_endpoints`` (map token): service -> endpoint of that VPC to reuse, or {}.
    existing_vpc_endpoints: dict[str, str] | None = None


class Network(Construct):
    """The VPC and everything that carries packets.

    Handles: ``vpc`` (a ``VpcRef``: own or existing), ``private_subnets`` (``SubnetRef``s),
    ``own_vpc`` (aws_vpc.main, count 0 with an existing VPC), ``public_subnets`` and
    ``nat_gateways`` (counted by ``nat_mode``: refer to them as ``<fqn>[0]``), ``private_route_tables``
    (own, counted), ``endpoint_security_group``, ``interface_endpoints`` (service -> endpoint;
    counted: see ``presence_count``), ``s3_endpoint`` (counted), ``endpoint_id(service)`` (the id of
    the created or reused endpoint), ``pinecone_endpoints`` (for_each) and
    ``pinecone_private_zones`` (a local: the zones Pinecone's hostnames need).
    """

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        self._props = props
        #: existing_vpc_endpoints as a string token, for HCL written out here.
        self._endpoints_map = Token.as_string(props.existing_vpc_endpoints)
        azs = DataAwsAvailabilityZones(self, "available", state="available")

        existing = props.existing_vpc_id
        # count of what the stack creates only in a VPC of its own, and of the data sources that
        # read an existing one (raw HCL: cdktf's Op.* renders the falsy literal "" as `undefined`).
        own_count = Token.as_number(f'${{{existing} == "" ? 1 : 0}}')
        existing_count = Token.as_number(f'${{{existing} == "" ? 0 : 1}}')
        # Both DNS attributes on: the endpoints' private DNS names resolve only then (the catalog's table).
        self.own_vpc = Vpc(self, "main", count=own_count, cidr_block=props.vpc_cidr,
                           **{a.terraform: True for a in VPC_DNS_ATTRIBUTES}, tags={"Name": f"{props.app_name}-vpc"})
        own_vpc_id = f"${{{self.own_vpc.fqn}[0].id}}"
        # Take every rule away from the VPC's default security group: anything that ends up in it
        # by accident can then talk to nothing. Not in an existing VPC: its default group is its
        # owner's, and other workloads may rely on its rules.
        DefaultSecurityGroup(self, "default", count=own_count, vpc_id=own_vpc_id,
                             tags={"Name": f"{props.app_name}-default-deny"})
        existing_vpc = DataAwsVpc(self, "existing", count=existing_count, id=existing, lifecycle=TerraformResourceLifecycle(
            postcondition=[Postcondition(
                condition="${" + " && ".join(f"self.{a.terraform}" for a in VPC_DNS_ATTRIBUTES) + "}",
                error_message=f"existing_vpc_id: the VPC needs {' and '.join(a.api for a in VPC_DNS_ATTRIBUTES)} on "
                              "(the endpoints' private DNS names resolve only then): aws ec2 modify-vpc-attribute "
                              f"--vpc-id <id> {' / '.join(a.flag for a in VPC_DNS_ATTRIBUTES)} '{{\"Value\":true}}'.")]))
        existing_subnets: list[DataAwsSubnet] = []
        for i in range(AZ_COUNT):
            conditions = [Postcondition(
                condition=f"${{self.vpc_id == {existing}}}",
                error_message=f"existing_private_subnet_ids: entry {i} is a subnet of another VPC, not of "
                              "existing_vpc_id: give two private subnets of that VPC.")]
            if i > 0:
                conditions.append(Postcondition(
                    condition=f"${{self.availability_zone != {existing_subnets[0].fqn}[0].availability_zone}}",
                    error_message="existing_private_subnet_ids: both subnets are in one availability zone: give "
                                  "subnets of two different AZs (the load balancer and the endpoints need two)."))
            existing_subnets.append(DataAwsSubnet(
                self, f"existing_private_{i}", count=existing_count, id=Fn.element(props.existing_private_subnet_ids, i),
                lifecycle=TerraformResourceLifecycle(postcondition=conditions)))

        # count of what exists unless nat_mode = none (IGW, public subnets and tables, nat_0), and
        # of what exists only with nat_mode = per_az (nat_1 and its EIP); neither in an existing VPC.
        public_count = Token.as_number(f'${{({props.nat_mode} == "none" || {existing} != "") ? 0 : 1}}')
        second_nat_count = Token.as_number(f'${{({props.nat_mode} == "per_az" && {existing} == "") ? 1 : 0}}')

        igw = InternetGateway(self, "igw", count=public_count, vpc_id=own_vpc_id,
                              tags={"Name": f"{props.app_name}-igw"})
        # Route tables, routes and NAT gateways live in their own scope only so that their
        # addresses can repeat the subnet's name (aws_route_table.private_0 next to
        # aws_subnet.private_0): construct ids must be unique per scope, addresses per type.
        routing = self._routing = Construct(self, "routing")
        public_rt = RouteTable(routing, "public", count=public_count, vpc_id=own_vpc_id,
                               tags={"Name": f"{props.app_name}-public"})
        # Counted resources are referred to as [0] by resources of the same (or a smaller) count.
        Route(routing, "public_internet", count=public_count, route_table_id=f"${{{public_rt.fqn}[0].id}}",
              destination_cidr_block="0.0.0.0/0", gateway_id=f"${{{igw.fqn}[0].id}}")

        self.public_subnets: list[Subnet] = []
        own_private: list[Subnet] = []
        self.private_route_tables: list[RouteTable] = []
        self.nat_gateways: list[NatGateway] = []
        for i in range(AZ_COUNT):
            az = Fn.element(azs.names, i)
            public = Subnet(self, f"public_{i}", count=public_count, vpc_id=own_vpc_id, availability_zone=az,
                            cidr_block=Fn.element(props.public_subnet_cidrs, i),
                            map_public_ip_on_launch=False,  # only the NAT gateways live here, with EIPs
                            tags={"Name": f"{props.app_name}-public-{i}", "Tier": "public"})
            private = Subnet(self, f"private_{i}", count=own_count, vpc_id=own_vpc_id, availability_zone=az,
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
            private_rt = RouteTable(routing, f"private_{i}", count=own_count, vpc_id=own_vpc_id,
                                    tags={"Name": f"{props.app_name}-private-{i}"})
            # This AZ's own NAT when it has one (per_az), else nat_0 (single); no route at all
            # with nat_mode = none.
            nat_id = (f"${{{nat.fqn}[0].id}}" if i == 0 else
                      f"${{concat({nat.fqn}[*].id, {self.nat_gateways[0].fqn}[*].id)[0]}}")
            Route(routing, f"private_{i}_nat", count=public_count, route_table_id=f"${{{private_rt.fqn}[0].id}}",
                  destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat_id)
            RouteTableAssociation(routing, f"private_{i}_subnet", count=own_count,
                                  subnet_id=f"${{{private.fqn}[0].id}}", route_table_id=f"${{{private_rt.fqn}[0].id}}")

            self.public_subnets.append(public)
            own_private.append(private)
            self.private_route_tables.append(private_rt)

        # The VPC and subnets everything else attaches to: exactly one of each pair exists (the
        # condition picks it; Terraform evaluates only the chosen side).
        def own_or_existing(attr: str) -> str:
            return f'${{{existing} == "" ? {self.own_vpc.fqn}[0].{attr} : {existing_vpc.fqn}[0].{attr}}}'

        vpc_id = TerraformLocal(self, "vpc_id", Token.as_any(own_or_existing("id")))
        vpc_cidr = TerraformLocal(self, "vpc_cidr", Token.as_any(own_or_existing("cidr_block")))
        subnet_ids = TerraformLocal(self, "private_subnet_ids", Token.as_any(
            "${concat(" + ", ".join(f"{s.fqn}[*].id" for s in [*own_private, *existing_subnets]) + ")}"))
        self.vpc = VpcRef(id=vpc_id.as_string, cidr_block=vpc_cidr.as_string, id_inline=own_or_existing("id"))
        self.private_subnets = [SubnetRef(f"${{{subnet_ids.fqn}[{i}]}}") for i in range(AZ_COUNT)]

        self.endpoint_security_group = SecurityGroup(
            self, "vpc_endpoints", name=f"{props.app_name}-vpce", vpc_id=self.vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags={"Name": f"{props.app_name}-vpce"})
        VpcSecurityGroupIngressRule(self, "vpc_endpoints_https", security_group_id=self.endpoint_security_group.id,
                                    description="HTTPS from the VPC", ip_protocol="tcp", from_port=443, to_port=443,
                                    cidr_ipv4=self.vpc.cidr_block)

        # ECR keeps image layers in S3: without this gateway, private tasks cannot pull images
        # unless a NAT is there (the fix doc's third root cause). Present in every endpoint set,
        # unless the existing VPC already has one on the subnets' route tables (then that one).
        # In an existing VPC the gateway goes on the route tables of the given subnets (a subnet
        # needs a route table of its own for that: byoc deploy checks it first).
        s3_count = count_if(Op.not_(self.reused(S3_GATEWAY)))
        existing_tables = [DataAwsRouteTable(
            self._routing, f"existing_private_{i}", subnet_id=f"${{{existing_subnets[i].fqn}[0].id}}",
            count=Token.as_number(f'${{({existing} != "" && !{self._reused_hcl(S3_GATEWAY)}) ? 1 : 0}}'))
            for i in range(AZ_COUNT)]
        route_tables = TerraformLocal(self, "private_route_table_ids", Token.as_any(
            "${distinct(concat(" + ", ".join(f"{t.fqn}[*].id" for t in [*self.private_route_tables, *existing_tables])
            + "))}"))
        self.s3_endpoint = VpcEndpoint(
            self, "s3", count=s3_count, vpc_id=self.vpc.id, service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=Token.as_list(route_tables.expression),
            tags={"Name": f"{props.app_name}-s3"})

        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for endpoint in catalog.INTERFACE_ENDPOINTS:
            if endpoint.module == "network":
                self.add_interface_endpoint(endpoint.service, count=self.presence_count(endpoint.present,
                                                                                        endpoint.service))

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

    def presence_count(self, present: str, service: str) -> int | float:
        """The ``count`` of the interface endpoint for ``service`` that exists ``present`` (a catalog
        constant) unless the existing VPC's own is reused: a 0-or-1 number token of the inputs."""
        p = self._props
        wanted = {catalog.ALWAYS: None,
                  catalog.FULL: Op.eq(p.endpoint_set, "full"),
                  catalog.FULL_OR_ECS_EXEC: Op.or_(Op.eq(p.endpoint_set, "full"), p.ecs_exec),
                  catalog.ECS_EXEC: p.ecs_exec}[present]
        created = Op.not_(self.reused(service))
        return count_if(created if wanted is None else Op.and_(wanted, created))

    def _reused_hcl(self, service: str) -> str:
        return f'contains(keys({self._endpoints_map}), "{service}")'

    def reused(self, service: str):
        """A bool token: ``existing_vpc_endpoints`` names the VPC's own endpoint for ``service``."""
        return Fn.contains(Fn.keys(self._props.existing_vpc_endpoints), service)

    def endpoint_id(self, service: str) -> str:
        """The id of the endpoint for ``service`` that tasks use: the reused one of the existing VPC,
        else the stack's own (which then exists: its count is 1)."""
        endpoint = self.s3_endpoint if service == S3_GATEWAY else self.interface_endpoints[service]
        return (f'${{{self._reused_hcl(service)} ? {self._endpoints_map}["{service}"] : '
                f"{endpoint.fqn}[0].id}}")

    def add_interface_endpoint(self, service: str, scope: Construct | None = None,
                               count: int | float | None = None) -> VpcEndpoint:
        """Create the private-DNS interface endpoint for an AWS ``service`` (e.g. ``"kms"``),
        in ``scope`` (default: this construct), and register it in ``interface_endpoints``.
        ``count`` (a number token, 0 or 1) makes the endpoint conditional on the inputs; refer to
        its attributes through ``endpoint_id(service)`` or ``one(<fqn>[*].<attr>)``.

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
