"""Trust policies for roles an AWS service assumes, with the confused-deputy guard every one of
them needs: only that service acting for this account (aws:SourceAccount) and for a matching
resource (aws:SourceArn) may assume the role."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from constructs import Construct


def service_trust(scope: Construct, id: str, *, service: str, account_id: str,
                  source_arn: str) -> DataAwsIamPolicyDocument:
    """An ``aws_iam_policy_document`` letting ``service`` (e.g. ``ecs-tasks.amazonaws.com``)
    assume a role only for ``account_id`` and resources matching ``source_arn``."""
    return DataAwsIamPolicyDocument(scope, id, statement=[{
        "effect": "Allow",
        "actions": ["sts:AssumeRole"],
        "principals": [{"type": "Service", "identifiers": [service]}],
        "condition": [
            {"test": "StringEquals", "variable": "aws:SourceAccount", "values": [account_id]},
            {"test": "ArnLike", "variable": "aws:SourceArn", "values": [source_arn]},
        ],
    }])
