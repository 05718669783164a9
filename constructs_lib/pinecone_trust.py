"""The optional BYOC trust role: an IAM role Pinecone's AWS account may assume, only with the
external ID Pinecone gave you. Created only when both inputs are set (count = 0 otherwise)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from constructs_lib.conditions import count_if


@dataclass(frozen=True)
class PineconeTrustProps:
    app_name: str
    partition: str
    pinecone_account_id: str
    external_id: str


class PineconeTrust(Construct):
    """Handles: ``role`` (aws_iam_role.pinecone_byoc, count 0 or 1)."""

    def __init__(self, scope: Construct, id: str, props: PineconeTrustProps) -> None:
        super().__init__(scope, id)
        # Keyed on the account ID alone: the external ID is sensitive, and Terraform refuses a
        # count derived from a sensitive value. The variables' validation makes them a pair.
        # (">= 1", not '!= ""': cdktf's Op.* renders a falsy literal as `undefined`.)
        self.enabled = Op.gte(Fn.length_of(props.pinecone_account_id), 1)
        trust = DataAwsIamPolicyDocument(self, "pinecone_trust", statement=[{
            "effect": "Allow",
            "actions": ["sts:AssumeRole"],
            "principals": [{"type": "AWS",
                            "identifiers": [f"arn:{props.partition}:iam::{props.pinecone_account_id}:root"]}],
            # The external ID stops another Pinecone customer from steering Pinecone into this role.
            "condition": [{"test": "StringEquals", "variable": "sts:ExternalId", "values": [props.external_id]}],
        }])
        self.role = IamRole(
            self, "pinecone_byoc", count=count_if(self.enabled),
            name=f"{props.app_name}-pinecone-byoc", assume_role_policy=trust.json,
            description="Pinecone BYOC: assumed by Pinecone's account with the agreed external ID",
            tags={"Name": f"{props.app_name}-pinecone-byoc"})
