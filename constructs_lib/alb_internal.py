"""alb_internal.tf: the internal load balancer (ALB by default, or NLB), its target group and
listeners: port 80, and port 443 with TLS when a certificate is given.

Every option is a Terraform variable, so one synthesized JSON serves all of them:

====================  =========================================  ==========================================
                      ``load_balancer_type = "application"``      ``load_balancer_type = "network"``
====================  =========================================  ==========================================
no certificate        80 HTTP -> forward                          80 TCP -> forward
``certificate_arn``   80 HTTP -> 301 to https://…:443;            443 TLS -> forward; **no port 80** (layer 4
                      443 HTTPS (``tls_policy``) -> forward       cannot redirect, and a plaintext port beside
                                                                  the TLS one would defeat it)
====================  =========================================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, Token
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from constructs_lib.conditions import count_if
from constructs_lib.network import SubnetRef, VpcRef

LISTENER_PORT = 80
TLS_PORT = 443


@dataclass(frozen=True)
class InternalAlbProps:
    app_name: str
    #: The VPC (own or existing).
    vpc: VpcRef
    subnets: list[SubnetRef]
    container_port: int | float
    health_check_path: str
    #: The ``alb_deletion_protection`` variable (a bool token).
    deletion_protection: bool
    #: The ``alb_access_logs_bucket`` variable: an existing bucket, or "" for no access logs.
    access_logs_bucket: str
    #: The ``load_balancer_type`` variable: "application" or "network".
    load_balancer_type: str
    #: The ``certificate_arn`` variable: an ACM certificate, or "" for no listener on 443.
    certificate_arn: str
    #: The ``tls_policy`` variable: the ELB security policy of the 443 listener.
    tls_policy: str


class InternalAlb(Construct):
    """Handles: ``security_group``, ``load_balancer``, ``target_group``, ``listener`` (port 80,
    count 0 on an NLB with a certificate), ``tls_listener`` (port 443, count 1 with a certificate),
    ``tls`` (the condition "a certificate is set", for outputs)."""

    def __init__(self, scope: Construct, id: str, props: InternalAlbProps) -> None:
        super().__init__(scope, id)
        network = Op.eq(props.load_balancer_type, "network")
        application = Op.not_(network)
        # (">= 1", not '!= ""': cdktf's Op.* renders a falsy literal as `undefined`.)
        self.tls = Op.gte(Fn.length_of(props.certificate_arn), 1)
        redirect = Op.and_(self.tls, application)
        # Port 80 exists unless an NLB serves TLS (then only 443 is open).
        plain_port = Op.not_(Op.and_(self.tls, network))
        kind = Token.as_string(Fn.conditional(network, "nlb", "alb"))
        l4_or_http = Token.as_string(Fn.conditional(network, "TCP", "HTTP"))

        # The group's name and description stay the ALB's (changing either replaces the group).
        self.security_group = SecurityGroup(
            self, "alb", name=f"{props.app_name}-alb", vpc_id=props.vpc.id,
            description="Internal ALB: listener port from inside the VPC only",
            tags={"Name": f"{props.app_name}-alb"})
        VpcSecurityGroupIngressRule(
            self, "alb_from_vpc", count=count_if(plain_port), security_group_id=self.security_group.id,
            description="HTTP from the VPC", ip_protocol="tcp",
            from_port=LISTENER_PORT, to_port=LISTENER_PORT, cidr_ipv4=props.vpc.cidr_block)
        VpcSecurityGroupIngressRule(
            self, "alb_https_from_vpc", count=count_if(self.tls), security_group_id=self.security_group.id,
            description="HTTPS/TLS from the VPC", ip_protocol="tcp",
            from_port=TLS_PORT, to_port=TLS_PORT, cidr_ipv4=props.vpc.cidr_block)

        self.load_balancer = Lb(
            self, "main", name=f"{props.app_name}-{kind}", internal=True,
            # Changing the type replaces the load balancer (and the target group's protocol, so
            # the target group): AWS cannot convert one into the other.
            load_balancer_type=props.load_balancer_type,
            # Also on an NLB (AWS allows them only at creation): the service's group then admits
            # the container port from this group alone, whichever type fronts it.
            security_groups=[self.security_group.id], subnets=[s.id for s in props.subnets],
            # Request smuggling guard: drop headers that are not valid HTTP field names (ALB only:
            # an NLB does not parse HTTP).
            drop_invalid_header_fields=application,
            # An ALB always balances across zones (unset there, as before this option); an NLB does
            # not by default, and a single task would leave the other zone's node with nothing to
            # send to.
            enable_cross_zone_load_balancing=Fn.conditional(network, True, Token.null_value()),
            # On by default: `terraform destroy` then fails until an apply turns it off, which
            # `byoc destroy` does first (plain terraform: apply -var alb_deletion_protection=false).
            enable_deletion_protection=props.deletion_protection,
            # Off unless a bucket is named. checkov cannot read a `dynamic "access_logs"` block in
            # JSON (its checks on this resource crash and silently drop out), so the block is static.
            access_logs=LbAccessLogs(bucket=props.access_logs_bucket, prefix=props.app_name,
                                     enabled=Op.gte(Fn.length_of(props.access_logs_bucket), 1)),
            tags={"Name": f"{props.app_name}-{kind}"})
        self.target_group = LbTargetGroup(
            self, "app", name=f"{props.app_name}-tg", port=props.container_port,
            protocol=l4_or_http,
            target_type="ip",  # Fargate tasks (awsvpc) register by IP
            vpc_id=props.vpc.id, deregistration_delay="30",
            # HTTP on the health check path for both types (an NLB can probe HTTP on a TCP group).
            health_check=LbTargetGroupHealthCheck(enabled=True, path=props.health_check_path, protocol="HTTP",
                                                  matcher="200-399", interval=15, timeout=5,
                                                  healthy_threshold=2, unhealthy_threshold=3),
            tags={"Name": f"{props.app_name}-tg"})
        forward = [LbListenerDefaultAction(type="forward", target_group_arn=self.target_group.arn)]
        # One port-80 listener whose action TYPE is switched, not two listeners on port 80 swapped
        # by count: Terraform may create the new one before deleting the old, and AWS refuses a
        # second listener on a port (DuplicateListener). The `redirect` block is static, because
        # checkov's listener checks cannot read a `dynamic` block in JSON; the provider ignores
        # it on a forward action (no perpetual diff: a re-plan after apply is empty for the HTTP
        # forward in tests/stack/test_security_scan.py, for the redirect and the TCP forward in
        # tests/stack/test_options_load_balancer.py), and `target_group_arn` is null on a redirect.
        self.listener = LbListener(
            self, "http", count=count_if(plain_port), load_balancer_arn=self.load_balancer.arn,
            port=LISTENER_PORT, protocol=l4_or_http,
            default_action=[LbListenerDefaultAction(
                type=Token.as_string(Fn.conditional(redirect, "redirect", "forward")),
                target_group_arn=Token.as_string(Fn.conditional(redirect, Token.null_value(), self.target_group.arn)),
                redirect=LbListenerDefaultActionRedirect(port=str(TLS_PORT), protocol="HTTPS",
                                                         status_code="HTTP_301"))],
            tags={"Name": f"{props.app_name}-http"})
        self.tls_listener = LbListener(
            self, "https", count=count_if(self.tls), load_balancer_arn=self.load_balancer.arn,
            port=TLS_PORT, protocol=Token.as_string(Fn.conditional(network, "TLS", "HTTPS")),
            certificate_arn=props.certificate_arn, ssl_policy=props.tls_policy,
            default_action=forward, tags={"Name": f"{props.app_name}-https"})
