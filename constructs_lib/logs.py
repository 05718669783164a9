"""logs.tf: the service's CloudWatch log group, /ecs/<app_name>, and the ECS Exec session log group,
/ecs/<app_name>/exec, both encrypted with the stack's CMK."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.catalog import exec_log_group_name, service_log_group_name

__all__ = ["ServiceLogs", "ServiceLogsProps", "exec_log_group_name", "service_log_group_name"]


@dataclass(frozen=True)
class ServiceLogsProps:
    app_name: str
    retention_days: int | float
    kms_key: KmsKey
    #: The key policy that lets CloudWatch Logs use the key: CreateLogGroup fails without it.
    depends_on: list[ITerraformDependable] = field(default_factory=list)


class ServiceLogs(Construct):
    """Handles: ``group`` (aws_cloudwatch_log_group.app), ``exec_group`` (aws_cloudwatch_log_group.exec)."""

    def __init__(self, scope: Construct, id: str, props: ServiceLogsProps) -> None:
        super().__init__(scope, id)
        self.group = CloudwatchLogGroup(self, "app", name=service_log_group_name(props.app_name),
                                        retention_in_days=props.retention_days, kms_key_id=props.kms_key.arn,
                                        depends_on=props.depends_on,
                                        tags={"Name": f"{props.app_name}-logs"})
        # Exists whatever ecs_exec says: the cluster's exec configuration names it, and that
        # configuration is static (see ecs_cluster.py). Empty, it costs nothing.
        self.exec_group = CloudwatchLogGroup(self, "exec", name=exec_log_group_name(props.app_name),
                                             retention_in_days=props.retention_days, kms_key_id=props.kms_key.arn,
                                             depends_on=props.depends_on,
                                             tags={"Name": f"{props.app_name}-exec-logs"})
