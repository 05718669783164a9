"""ecs_cluster.tf: the ECS cluster, with Container Insights on."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.ecs_cluster import EcsCluster
from constructs import Construct


@dataclass(frozen=True)
class ClusterProps:
    app_name: str


class Cluster(Construct):
    """Handles: ``cluster`` (aws_ecs_cluster.main)."""

    def __init__(self, scope: Construct, id: str, props: ClusterProps) -> None:
        super().__init__(scope, id)
        self.cluster = EcsCluster(self, "main", name=f"{props.app_name}-cluster",
                                  setting=[{"name": "containerInsights", "value": "enabled"}],
                                  tags={"Name": f"{props.app_name}-cluster"})
