"""service.tf: the ECS service on Fargate, in the private subnets, behind the internal ALB."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import ITerraformDependable, TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import (
    EcsService,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceLoadBalancer,
    EcsServiceNetworkConfiguration,
)
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from constructs import Construct

from constructs_lib.network import SubnetRef

# JSON-key secrets (valueFrom "<arn>:<key>::") need platform 1.3.0+, and 1.4.0 is the version that
# fetches secrets through the task's own ENI, i.e. through this VPC's endpoints. Pinned, not
# LATEST, so a platform change is a reviewed change.
FARGATE_PLATFORM_VERSION = "1.4.0"


@dataclass(frozen=True)
class AppServiceProps:
    app_name: str
    cluster: EcsCluster
    task_definition: EcsTaskDefinition
    container_name: str
    container_port: int | float
    desired_count: int | float
    subnets: list[SubnetRef]
    security_group: SecurityGroup
    target_group: LbTargetGroup
    health_check_grace_period_seconds: int | float
    #: The ``ecs_exec`` variable (a bool token): ECS Exec into the service's tasks.
    enable_execute_command: bool
    #: Created before the service: the listener (a target group must be attached to a load
    #: balancer first) and the execution role's secret grant (or the first tasks cannot start).
    depends_on: list[ITerraformDependable] = field(default_factory=list)


class AppService(Construct):
    """Handles: ``service`` (aws_ecs_service.app)."""

    def __init__(self, scope: Construct, id: str, props: AppServiceProps) -> None:
        super().__init__(scope, id)
        self.service = EcsService(
            self, "app", name=props.app_name, cluster=props.cluster.arn,
            task_definition=props.task_definition.arn, desired_count=props.desired_count,
            launch_type="FARGATE", platform_version=FARGATE_PLATFORM_VERSION,
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=[s.id for s in props.subnets], security_groups=[props.security_group.id],
                assign_public_ip=False),
            load_balancer=[EcsServiceLoadBalancer(target_group_arn=props.target_group.arn,
                                                  container_name=props.container_name,
                                                  container_port=props.container_port)],
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            health_check_grace_period_seconds=props.health_check_grace_period_seconds,
            propagate_tags="SERVICE", enable_ecs_managed_tags=True,
            # Takes effect for tasks started after the change (ECS starts the agent at task start).
            enable_execute_command=props.enable_execute_command,
            # The autoscaler owns the running count after creation; re-applying must not undo it.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_count"]),
            depends_on=props.depends_on,
            tags={"Name": f"{props.app_name}-service"})
