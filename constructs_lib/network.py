"""network.tf: VPC, subnets, IGW, NATs, route tables, the S3 gateway, the AWS interface
endpoints, optional Pinecone PrivateLink endpoints, and the endpoint security group.

Layout: 2 AZs, each with one public subnet (NAT gateway + its EIP) and one private subnet whose
own route table sends 0.0.0.0/0 to the NAT of the same AZ, so losing one AZ never cuts the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformIterator, Token
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

AZ_COUNT = 2

# Interface endpoints a private Fargate service of this stack needs, besides the two that
# endpoints_secrets.py owns (secretsmanager, kms): image pulls (ecr.api, ecr.dkr; layers come
# from S3 through the gateway endpoint), awslogs (logs), and SDK calls the app commonly makes.
AWS_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "ssm", "ec2", "sts")


@dataclass(frozen=True)
class NetworkProps:
    app_name: str
    region: str
    vpc_cidr: str
    #: Lists of exactly AZ_COUNT CIDRs (Terraform list tokens).
    public_subnet_cidrs: list[str]
    private_subnet_cidrs: list[str]
    #: PrivateLink service names for Pinecone (list token); one interface endpoint each.
    pinecone_vpce_services: list[str]


class Network(Construct):
    """The VPC and everything that carries packets.

    Handles: ``vpc``, ``public_subnets``, ``private_subnets``, ``private_route_tables``,
    ``endpoint_security_group``, ``interface_endpoints`` (service -> endpoint), ``s3_endpoint``.
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

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": f"{props.app_name}-igw"})
        # Route tables, routes and NAT gateways live in their own scope only so that their
        # addresses can repeat the subnet's name (aws_route_table.private_0 next to
        # aws_subnet.private_0): construct ids must be unique per scope, addresses per type.
        routing = Construct(self, "routing")
        public_rt = RouteTable(routing, "public", vpc_id=self.vpc.id, tags={"Name": f"{props.app_name}-public"})
        Route(routing, "public_internet", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
              gateway_id=igw.id)

        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        self.private_route_tables: list[RouteTable] = []
        self.nat_gateways: list[NatGateway] = []
        for i in range(AZ_COUNT):
            az = Fn.element(azs.names, i)
            public = Subnet(self, f"public_{i}", vpc_id=self.vpc.id, availability_zone=az,
                            cidr_block=Fn.element(props.public_subnet_cidrs, i),
                            map_public_ip_on_launch=False,  # only the NAT gateways live here, with EIPs
                            tags={"Name": f"{props.app_name}-public-{i}", "Tier": "public"})
            private = Subnet(self, f"private_{i}", vpc_id=self.vpc.id, availability_zone=az,
                             cidr_block=Fn.element(props.private_subnet_cidrs, i),
                             tags={"Name": f"{props.app_name}-private-{i}", "Tier": "private"})
            RouteTableAssociation(routing, f"public_{i}_subnet", subnet_id=public.id, route_table_id=public_rt.id)

            eip = Eip(self, f"nat_{i}", domain="vpc", tags={"Name": f"{props.app_name}-nat-{i}"},
                      depends_on=[igw])
            nat = NatGateway(routing, f"nat_{i}", allocation_id=eip.id, subnet_id=public.id,
                             tags={"Name": f"{props.app_name}-nat-{i}"}, depends_on=[igw])
            private_rt = RouteTable(routing, f"private_{i}", vpc_id=self.vpc.id,
                                    tags={"Name": f"{props.app_name}-private-{i}"})
            Route(routing, f"private_{i}_nat", route_table_id=private_rt.id, destination_cidr_block="0.0.0.0/0",
                  nat_gateway_id=nat.id)
            RouteTableAssociation(routing, f"private_{i}_subnet", subnet_id=private.id,
                                  route_table_id=private_rt.id)

            self.public_subnets.append(public)
            self.private_subnets.append(private)
            self.private_route_tables.append(private_rt)
            self.nat_gateways.append(nat)

        self.endpoint_security_group = SecurityGroup(
            self, "vpc_endpoints", name=f"{props.app_name}-vpce", vpc_id=self.vpc.id,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            tags={"Name": f"{props.app_name}-vpce"})
        VpcSecurityGroupIngressRule(self, "vpc_endpoints_https", security_group_id=self.endpoint_security_group.id,
                                    description="HTTPS from the VPC", ip_protocol="tcp", from_port=443, to_port=443,
                                    cidr_ipv4=self.vpc.cidr_block)

        # ECR keeps image layers in S3: without this gateway, private tasks cannot pull images
        # unless a NAT is there (the fix doc's third root cause).
        self.s3_endpoint = VpcEndpoint(
            self, "s3", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=[rt.id for rt in self.private_route_tables],
            tags={"Name": f"{props.app_name}-s3"})

        self.interface_endpoints: dict[str, VpcEndpoint] = {}
        for service in AWS_INTERFACE_SERVICES:
            self.add_interface_endpoint(service)

        pinecone = TerraformIterator.from_list(props.pinecone_vpce_services)
        # Third-party services: private DNS stays off; Pinecone's DNS guidance says which
        # private hosted zone to create for its hostnames.
        self.pinecone_endpoints = VpcEndpoint(
            self, "pinecone", for_each=pinecone, vpc_id=self.vpc.id, service_name=Token.as_string(pinecone.value),
            vpc_endpoint_type="Interface", private_dns_enabled=False,
            subnet_ids=[s.id for s in self.private_subnets],
            security_group_ids=[self.endpoint_security_group.id],
            tags={"Name": f"{props.app_name}-pinecone"})

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
