"""iam_ecs.tf: the two ECS roles, named so they cannot be confused.

- **execution role** (``<app>-execution-role``): used by ECS itself, *before* the container
  starts, to pull the image, ship logs and **inject ``secrets``**. It must be able to read the
  secret; forgetting that is the fix doc's first root cause.
- **task role** (``<app>-task-role``): what the application's own AWS SDK calls use.

The secret read grants are attached in the stack with ``PineconeSecret.grant_read`` (grants live
with the resource they grant on).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from constructs_lib.trust import service_trust

# Pulled from AWS: ECR pulls and CloudWatch Logs writes for the execution role.
ECS_TASK_EXECUTION_MANAGED_POLICY = "service-role/AmazonECSTaskExecutionRolePolicy"


@dataclass(frozen=True)
class EcsRolesProps:
    app_name: str
    region: str
    account_id: str
    partition: str


class EcsRoles(Construct):
    """Handles: ``execution_role`` (aws_iam_role.execution), ``task_role`` (aws_iam_role.task)."""

    def __init__(self, scope: Construct, id: str, props: EcsRolesProps) -> None:
        super().__init__(scope, id)
        # Only ECS tasks of this account and region may assume either role (confused-deputy guard).
        trust = service_trust(self, "ecs_tasks_trust", service="ecs-tasks.amazonaws.com", account_id=props.account_id,
                              source_arn=f"arn:{props.partition}:ecs:{props.region}:{props.account_id}:*")
        self.execution_role = IamRole(
            self, "execution", name=f"{props.app_name}-execution-role", assume_role_policy=trust.json,
            description="ECS task execution role: pulls the image, writes logs, injects the Pinecone secret",
            tags={"Name": f"{props.app_name}-execution-role"})
        IamRolePolicyAttachment(
            self, "execution_managed", role=self.execution_role.name,
            policy_arn=f"arn:{props.partition}:iam::aws:policy/{ECS_TASK_EXECUTION_MANAGED_POLICY}")
        self.task_role = IamRole(
            self, "task", name=f"{props.app_name}-task-role", assume_role_policy=trust.json,
            description="ECS task role: the application's own AWS permissions",
            tags={"Name": f"{props.app_name}-task-role"})
