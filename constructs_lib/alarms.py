"""alarms.tf: CloudWatch alarms on the service and its load balancer, and where they notify.

Four alarms, all with ``count = var.alarms ? 1 : 0`` (the 5xx one also needs an ALB):

- ``service_cpu``: AWS/ECS CPUUtilization of the service above ``alarm_cpu_percent``;
- ``load_balancer_5xx``: 5xx responses of the ALB, the targets' and its own (an NLB has no HTTP
  status codes, so the alarm does not exist with ``load_balancer_type = "network"``);
- ``unhealthy_targets``: UnHealthyHostCount of the target group above 0 (ALB or NLB namespace);
- ``running_tasks_below_desired``: Container Insights' RunningTaskCount below DesiredTaskCount.

Actions (on ALARM and back to OK) go to one SNS topic: ``alarm_sns_topic_arn`` (an existing
topic), or ``aws_sns_topic.alarms`` (``<app_name>-alarms``, encrypted with the stack's CMK) when
``alarm_create_sns_topic``, or nowhere (the alarms still change state in the console).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, Token
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.lb import Lb
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from constructs import Construct

from constructs_lib.conditions import count_if

#: One-minute datapoints: ECS, ELB and Container Insights all publish at this resolution.
PERIOD_SECONDS = 60
#: 5xx responses (targets' plus the load balancer's own) per minute that count as a bad minute.
FIVE_XX_PER_MINUTE = 5


def alarm_topic_name(app_name: str) -> str:
    """The created topic's name; the key policy names it before the topic exists."""
    return f"{app_name}-alarms"


@dataclass(frozen=True)
class AlarmsProps:
    app_name: str
    #: The ``alarms`` variable (a bool token).
    enabled: bool
    #: The ``alarm_cpu_percent`` variable.
    cpu_percent: int | float
    #: The ``load_balancer_type`` variable: "application" or "network".
    load_balancer_type: str
    #: The ``alarm_create_sns_topic`` variable (a bool token).
    create_topic: bool
    #: The ``alarm_sns_topic_arn`` variable: an existing topic, or "".
    existing_topic_arn: str
    kms_key: KmsKey
    cluster: EcsCluster
    service: EcsService
    load_balancer: Lb
    target_group: LbTargetGroup


class Alarms(Construct):
    """Handles: ``topic`` (aws_sns_topic.alarms, count 0 or 1), ``topic_arn`` (the topic the alarms
    notify, or null), ``service_cpu``, ``load_balancer_5xx``, ``unhealthy_targets``,
    ``running_tasks_below_desired`` (aws_cloudwatch_metric_alarm.*, count 0 or 1 each)."""

    def __init__(self, scope: Construct, id: str, props: AlarmsProps) -> None:
        super().__init__(scope, id)
        p = props
        count = count_if(p.enabled)
        self.topic = SnsTopic(
            self, "alarms", count=count_if(Op.and_(p.enabled, p.create_topic)),
            name=alarm_topic_name(p.app_name), kms_master_key_id=p.kms_key.arn,
            tags={"Name": alarm_topic_name(p.app_name)})
        # The created topic, else the named one, else null. Written as one HCL expression: cdktf's
        # Fn.* escapes a splat (`[*]`) inside its arguments, and its Op.* renders a falsy literal
        # ('!= ""') as `undefined`, hence `length(...) >= 1`.
        enabled, create = Token.as_string(p.enabled), Token.as_string(p.create_topic)
        existing = p.existing_topic_arn
        expression = (f"{enabled} ? ({create} ? one({self.topic.fqn}[*].arn) : "
                      f"(length({existing}) >= 1 ? {existing} : null)) : null")
        self.topic_arn = f"${{{expression}}}"
        actions = Token.as_list(f"${{compact([{expression}])}}")
        common = {"alarm_actions": actions, "ok_actions": actions}
        service_dimensions = {"ClusterName": p.cluster.name, "ServiceName": p.service.name}
        target_dimensions = {"TargetGroup": p.target_group.arn_suffix, "LoadBalancer": p.load_balancer.arn_suffix}

        self.service_cpu = CloudwatchMetricAlarm(
            self, "service_cpu", count=count, alarm_name=f"{p.app_name}-service-cpu-high",
            alarm_description=f"Average CPU of the service {p.app_name} above alarm_cpu_percent for 5 minutes",
            namespace="AWS/ECS", metric_name="CPUUtilization", dimensions=service_dimensions,
            statistic="Average", period=PERIOD_SECONDS, evaluation_periods=5,
            comparison_operator="GreaterThanThreshold", threshold=p.cpu_percent,
            # No datapoints means no running task: that is the running-tasks alarm's to report.
            treat_missing_data="notBreaching", **common)

        self.load_balancer_5xx = CloudwatchMetricAlarm(
            self, "load_balancer_5xx", alarm_name=f"{p.app_name}-load-balancer-5xx",
            alarm_description=f"{FIVE_XX_PER_MINUTE}+ 5xx responses a minute (targets' and the load balancer's "
                              "own) in 3 of 5 minutes",
            count=count_if(Op.and_(p.enabled, Op.eq(p.load_balancer_type, "application"))),
            metric_query=[
                _metric("target_5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum",
                        {"LoadBalancer": p.load_balancer.arn_suffix}),
                _metric("elb_5xx", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum",
                        {"LoadBalancer": p.load_balancer.arn_suffix}),
                CloudwatchMetricAlarmMetricQuery(id="all_5xx", expression="FILL(target_5xx, 0) + FILL(elb_5xx, 0)",
                                                  label="5xx responses", return_data=True),
            ],
            evaluation_periods=5, datapoints_to_alarm=3,  # a burst of errors, not one bad minute
            comparison_operator="GreaterThanOrEqualToThreshold", threshold=FIVE_XX_PER_MINUTE,
            # The ELB publishes these counts only for minutes that had such responses: none is good news.
            treat_missing_data="notBreaching", **common)

        self.unhealthy_targets = CloudwatchMetricAlarm(
            self, "unhealthy_targets", count=count, alarm_name=f"{p.app_name}-unhealthy-targets",
            alarm_description="A target of the load balancer failed its health checks for 3 minutes",
            namespace=Token.as_string(Fn.conditional(Op.eq(p.load_balancer_type, "network"), "AWS/NetworkELB",
                                                     "AWS/ApplicationELB")),
            metric_name="UnHealthyHostCount", dimensions=target_dimensions,
            statistic="Maximum", period=PERIOD_SECONDS, evaluation_periods=3,
            comparison_operator="GreaterThanThreshold", threshold=0,
            # Reported every minute while the target group is in use; a gap is not an unhealthy target.
            treat_missing_data="notBreaching", **common)

        self.running_tasks_below_desired = CloudwatchMetricAlarm(
            self, "running_tasks_below_desired", count=count, alarm_name=f"{p.app_name}-running-tasks-below-desired",
            alarm_description=f"Fewer tasks of {p.app_name} running than desired for 5 minutes "
                              "(Container Insights)",
            metric_query=[
                _metric("running", "ECS/ContainerInsights", "RunningTaskCount", "Average", service_dimensions),
                _metric("desired", "ECS/ContainerInsights", "DesiredTaskCount", "Average", service_dimensions),
                CloudwatchMetricAlarmMetricQuery(id="missing_tasks", expression="desired - running",
                                                  label="tasks missing", return_data=True),
            ],
            # 5 minutes: a deployment or a scale-out starts new tasks within that; a crash loop does not.
            evaluation_periods=5, comparison_operator="GreaterThanThreshold", threshold=0,
            # Container Insights reports both counts every minute while the service exists: silence
            # means the service or its metrics are gone, which is not "running as desired".
            treat_missing_data="breaching", **common)


def _metric(id: str, namespace: str, name: str, stat: str, dimensions: dict[str, str]) -> CloudwatchMetricAlarmMetricQuery:
    return CloudwatchMetricAlarmMetricQuery(
        id=id, return_data=False,
        metric=CloudwatchMetricAlarmMetricQueryMetric(namespace=namespace, metric_name=name, stat=stat,
                                                      period=PERIOD_SECONDS, dimensions=dimensions))
