"""iam_ecs.tf: the two ECS roles, named so they cannot be confused.

- **execution role** (``<app>-execution-role``): used by ECS itself, *before* the container
  starts, to pull the image, ship logs and **inject ``secrets``**. It must be able to read the
  secret; forgetting that is the fix doc's first root cause.
- **task role** (``<app>-task-role``): what the application's own AWS SDK calls use.

The secret read grants are attached in the stack with ``PineconeSecret.grant_read`` (grants live
with the resource they grant on). ``grant_ecs_exec`` gives the task role what ECS Exec needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.catalog import EXECUTION_MANAGED_POLICY_PATH, execution_role_name
from constructs_lib.conditions import count_if
from constructs_lib.trust import service_trust

# Pulled from AWS: ECR pulls and CloudWatch Logs writes for the execution role.
ECS_TASK_EXECUTION_MANAGED_POLICY = EXECUTION_MANAGED_POLICY_PATH

# The Session Manager channels the ECS Exec agent in the task opens. These actions have no
# resource type, so AWS documents them on Resource "*" (ECS developer guide, "ECS Exec": IAM
# permissions required for ECS Exec).
ECS_EXEC_CHANNEL_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                            "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
# Session logging to CloudWatch Logs, AWS's documented set for ECS Exec: the agent checks that the
# group exists and is encrypted (DescribeLogGroups, a list action that takes only "*"), then
# writes its stream (CreateLogStream, DescribeLogStreams, PutLogEvents: this group only).
ECS_EXEC_LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]


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
            self, "execution", name=execution_role_name(props.app_name), assume_role_policy=trust.json,
            description="ECS task execution role: pulls the image, writes logs, injects the Pinecone secret",
            tags={"Name": f"{props.app_name}-execution-role"})
        IamRolePolicyAttachment(
            self, "execution_managed", role=self.execution_role.name,
            policy_arn=f"arn:{props.partition}:iam::aws:policy/{ECS_TASK_EXECUTION_MANAGED_POLICY}")
        self.task_role = IamRole(
            self, "task", name=f"{props.app_name}-task-role", assume_role_policy=trust.json,
            description="ECS task role: the application's own AWS permissions",
            tags={"Name": f"{props.app_name}-task-role"})

    def grant_ecs_exec(self, *, enabled: bool, key: KmsKey, log_group: CloudwatchLogGroup) -> IamRolePolicy:
        """Give the task role exactly what ECS Exec needs, when ``enabled`` (the ``ecs_exec``
        variable, a bool token): the four Session Manager channel actions, session logging to
        ``log_group`` only, and kms:Decrypt on ``key`` (the cluster encrypts sessions with it).

        The policy document has no count: it renders whatever ``ecs_exec`` says, so the IAM lint
        (tests/stack/test_security_scan.py) reads it on every deployment. Only the role policy that
        attaches it is counted (0 when off: the role then has no exec permission at all)."""
        document = DataAwsIamPolicyDocument(self, "ecs_exec", statement=[
            {"sid": "OpenSessionManagerChannels", "effect": "Allow", "actions": ECS_EXEC_CHANNEL_ACTIONS,
             "resources": ["*"]},
            {"sid": "FindTheExecLogGroup", "effect": "Allow", "actions": ["logs:DescribeLogGroups"],
             "resources": ["*"]},
            {"sid": "WriteExecSessionLogs", "effect": "Allow", "actions": ECS_EXEC_LOG_WRITE_ACTIONS,
             "resources": [log_group.arn, f"{log_group.arn}:log-stream:*"]},
            {"sid": "DecryptExecSessions", "effect": "Allow", "actions": ["kms:Decrypt"], "resources": [key.arn]},
        ])
        return IamRolePolicy(self, "task_ecs_exec", count=count_if(enabled),
                             name="ecs-exec", role=self.task_role.id, policy=document.json)
