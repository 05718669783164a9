"""VPC flow logs: every accepted and rejected flow of the VPC, to a CloudWatch log group that the
stack's CMK encrypts, written by a role only the VPC Flow Logs service of this account may assume.

All four resources (and the role's policy document) have ``count = vpc_flow_logs ? 1 : 0``, so
references between them use ``[0]``: Terraform evaluates them only when the count is 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.flow_log import FlowLog
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from constructs_lib.catalog import flow_log_group_name
from constructs_lib.conditions import count_if
from constructs_lib.network import VpcRef
from constructs_lib.trust import service_trust

__all__ = ["VpcFlowLogs", "VpcFlowLogsProps", "flow_log_group_name"]


@dataclass(frozen=True)
class VpcFlowLogsProps:
    app_name: str
    region: str
    account_id: str
    partition: str
    #: The VPC (own or existing).
    vpc: VpcRef
    #: The ``vpc_flow_logs`` variable (a bool token).
    enabled: bool
    kms_key: KmsKey
    retention_days: int | float
    #: The key policy that lets CloudWatch Logs use the key: CreateLogGroup fails without it.
    depends_on: list[ITerraformDependable] = field(default_factory=list)


class VpcFlowLogs(Construct):
    """Handles: ``group``, ``role``, ``flow_log`` (count 0 or 1 each)."""

    def __init__(self, scope: Construct, id: str, props: VpcFlowLogsProps) -> None:
        super().__init__(scope, id)
        count = count_if(props.enabled)
        self.group = CloudwatchLogGroup(
            self, "flow_logs", count=count, name=flow_log_group_name(props.app_name),
            retention_in_days=props.retention_days, kms_key_id=props.kms_key.arn,
            depends_on=props.depends_on, tags={"Name": f"{props.app_name}-flow-logs"})
        group_arn = f"${{{self.group.fqn}[0].arn}}"

        # The role lives in a scope of its own only so that its address can repeat the group's name
        # (aws_iam_role.flow_logs next to aws_cloudwatch_log_group.flow_logs): construct ids must
        # be unique per scope, addresses per type.
        iam = Construct(self, "iam")
        # Confused-deputy guard: only flow logs of this account and region may use the role.
        trust = service_trust(iam, "flow_logs_trust", service="vpc-flow-logs.amazonaws.com",
                              account_id=props.account_id,
                              source_arn=f"arn:{props.partition}:ec2:{props.region}:{props.account_id}:vpc-flow-log/*")
        self.role = IamRole(
            iam, "flow_logs", count=count, name=f"{props.app_name}-vpc-flow-logs",
            assume_role_policy=trust.json, description="VPC flow logs: writes to the flow log group only",
            tags={"Name": f"{props.app_name}-vpc-flow-logs"})
        # Write streams of this one log group. DescribeLogGroups (in AWS's documented set for flow
        # logs) is a list action that takes no resource but "*" (parliament: RESOURCE_MISMATCH).
        write = DataAwsIamPolicyDocument(iam, "flow_logs_write", count=count, statement=[
            {"sid": "WriteFlowLogStreams", "effect": "Allow",
             "actions": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
             "resources": [group_arn, f"{group_arn}:log-stream:*"]},
            {"sid": "FindTheLogGroup", "effect": "Allow", "actions": ["logs:DescribeLogGroups"],
             "resources": ["*"]},
        ])
        IamRolePolicy(iam, "flow_logs_write_policy", count=count, name="write-flow-logs",
                      role=f"${{{self.role.fqn}[0].id}}", policy=f"${{{write.fqn}[0].json}}")
        self.flow_log = FlowLog(
            self, "vpc", count=count, vpc_id=props.vpc.id_inline, traffic_type="ALL",
            log_destination_type="cloud-watch-logs", log_destination=group_arn,
            iam_role_arn=f"${{{self.role.fqn}[0].arn}}", max_aggregation_interval=600,
            tags={"Name": f"{props.app_name}-vpc-flow-logs"})
