"""autoscaling.tf: CPU target tracking on the ECS service."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from cdktf_cdktf_provider_aws.appautoscaling_target import AppautoscalingTarget
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from constructs import Construct


@dataclass(frozen=True)
class CpuAutoscalingProps:
    cluster: EcsCluster
    service: EcsService
    min_capacity: int | float
    max_capacity: int | float
    cpu_target_percent: int | float


class CpuAutoscaling(Construct):
    """Handles: ``target`` (aws_appautoscaling_target.ecs), ``policy`` (aws_appautoscaling_policy.cpu)."""

    def __init__(self, scope: Construct, id: str, props: CpuAutoscalingProps) -> None:
        super().__init__(scope, id)
        self.target = AppautoscalingTarget(
            self, "ecs", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{props.cluster.name}/{props.service.name}",
            min_capacity=props.min_capacity, max_capacity=props.max_capacity)
        self.policy = AppautoscalingPolicy(
            self, "cpu", name=f"{props.service.name}-cpu", policy_type="TargetTrackingScaling",
            service_namespace=self.target.service_namespace, scalable_dimension=self.target.scalable_dimension,
            resource_id=self.target.resource_id,
            target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                predefined_metric_specification=(
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                        predefined_metric_type="ECSServiceAverageCPUUtilization")),
                target_value=props.cpu_target_percent, scale_in_cooldown=120, scale_out_cooldown=60))
