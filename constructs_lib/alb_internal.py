"""alb_internal.tf: the internal Application Load Balancer, its target group and listener."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import LbListener, LbListenerDefaultAction
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

LISTENER_PORT = 80


@dataclass(frozen=True)
class InternalAlbProps:
    app_name: str
    vpc: Vpc
    subnets: list[Subnet]
    container_port: int | float
    health_check_path: str
    #: The ``alb_deletion_protection`` variable (a bool token).
    deletion_protection: bool
    #: The ``alb_access_logs_bucket`` variable: an existing bucket, or "" for no access logs.
    access_logs_bucket: str


class InternalAlb(Construct):
    """Handles: ``security_group``, ``load_balancer``, ``target_group``, ``listener``."""

    def __init__(self, scope: Construct, id: str, props: InternalAlbProps) -> None:
        super().__init__(scope, id)
        self.security_group = SecurityGroup(
            self, "alb", name=f"{props.app_name}-alb", vpc_id=props.vpc.id,
            description="Internal ALB: listener port from inside the VPC only",
            tags={"Name": f"{props.app_name}-alb"})
        VpcSecurityGroupIngressRule(
            self, "alb_from_vpc", security_group_id=self.security_group.id,
            description="HTTP from the VPC", ip_protocol="tcp",
            from_port=LISTENER_PORT, to_port=LISTENER_PORT, cidr_ipv4=props.vpc.cidr_block)

        self.load_balancer = Lb(
            self, "main", name=f"{props.app_name}-alb", internal=True, load_balancer_type="application",
            security_groups=[self.security_group.id], subnets=[s.id for s in props.subnets],
            # Request smuggling guard: drop headers that are not valid HTTP field names.
            drop_invalid_header_fields=True,
            # On by default: `terraform destroy` then fails until an apply turns it off, which
            # `byoc destroy` does first (plain terraform: apply -var alb_deletion_protection=false).
            enable_deletion_protection=props.deletion_protection,
            # Off unless a bucket is named. checkov cannot read a `dynamic "access_logs"` block in
            # JSON (its checks on this resource crash and silently drop out), so the block is static.
            access_logs=LbAccessLogs(bucket=props.access_logs_bucket, prefix=props.app_name,
                                     enabled=Op.gte(Fn.length_of(props.access_logs_bucket), 1)),
            tags={"Name": f"{props.app_name}-alb"})
        self.target_group = LbTargetGroup(
            self, "app", name=f"{props.app_name}-tg", port=props.container_port, protocol="HTTP",
            target_type="ip",  # Fargate tasks (awsvpc) register by IP
            vpc_id=props.vpc.id, deregistration_delay="30",
            health_check=LbTargetGroupHealthCheck(enabled=True, path=props.health_check_path, protocol="HTTP",
                                                  matcher="200-399", interval=15, timeout=5,
                                                  healthy_threshold=2, unhealthy_threshold=3),
            tags={"Name": f"{props.app_name}-tg"})
        self.listener = LbListener(
            self, "http", load_balancer_arn=self.load_balancer.arn, port=LISTENER_PORT, protocol="HTTP",
            default_action=[LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)],
            tags={"Name": f"{props.app_name}-http"})
