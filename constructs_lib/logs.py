"""logs.tf: the service's CloudWatch log group, /ecs/<app_name>."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct


@dataclass(frozen=True)
class ServiceLogsProps:
    app_name: str
    retention_days: int | float


class ServiceLogs(Construct):
    """Handles: ``group`` (aws_cloudwatch_log_group.app)."""

    def __init__(self, scope: Construct, id: str, props: ServiceLogsProps) -> None:
        super().__init__(scope, id)
        self.group = CloudwatchLogGroup(self, "app", name=f"/ecs/{props.app_name}",
                                        retention_in_days=props.retention_days,
                                        tags={"Name": f"{props.app_name}-logs"})
