"""sg_app.tf: the ECS service's security group, and the one path into it (from the ALB)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from constructs_lib.network import VpcRef


@dataclass(frozen=True)
class ServiceSecurityGroupProps:
    app_name: str
    #: The VPC (own or existing).
    vpc: VpcRef
    container_port: int | float
    alb_security_group: SecurityGroup


class ServiceSecurityGroup(Construct):
    """Handles: ``security_group`` (aws_security_group.service)."""

    def __init__(self, scope: Construct, id: str, props: ServiceSecurityGroupProps) -> None:
        super().__init__(scope, id)
        self.security_group = SecurityGroup(
            self, "service", name=f"{props.app_name}-service", vpc_id=props.vpc.id,
            description="ECS service: container port from the ALB only; HTTPS out",
            tags={"Name": f"{props.app_name}-service"})
        VpcSecurityGroupIngressRule(
            self, "service_from_alb", security_group_id=self.security_group.id,
            description="Container port from the internal ALB", ip_protocol="tcp",
            from_port=props.container_port, to_port=props.container_port,
            referenced_security_group_id=props.alb_security_group.id)
        # HTTPS out reaches the interface endpoints (inside the VPC), S3 through the gateway, and
        # Pinecone (PrivateLink endpoint, or the NAT for its control plane).
        VpcSecurityGroupEgressRule(
            self, "service_https_out", security_group_id=self.security_group.id,
            description="HTTPS to AWS endpoints and Pinecone", ip_protocol="tcp",
            from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")
        # The ALB's only way out: to the tasks, on the container port.
        VpcSecurityGroupEgressRule(
            self, "alb_to_service", security_group_id=props.alb_security_group.id,
            description="Container port to the ECS service", ip_protocol="tcp",
            from_port=props.container_port, to_port=props.container_port,
            referenced_security_group_id=self.security_group.id)
