"""kms.tf: the customer-managed key that encrypts the Secrets Manager secret."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct


@dataclass(frozen=True)
class EncryptionProps:
    app_name: str
    account_id: str
    partition: str
    #: Days KMS waits before deleting the key after destroy (7-30).
    deletion_window_days: int = 30


class Encryption(Construct):
    """Handles: ``key`` (aws_kms_key.secrets), ``alias``."""

    def __init__(self, scope: Construct, id: str, props: EncryptionProps) -> None:
        super().__init__(scope, id)
        # The key policy is written out instead of left to AWS's default so that a reviewer sees
        # it: the account (and so IAM policies) administers and uses the key; nobody else does.
        # Who may *decrypt the secret* is decided by the IAM policies that secrets.py grants,
        # which are scoped to this key and to calls made through Secrets Manager (kms:ViaService).
        policy = DataAwsIamPolicyDocument(self, "key_policy", statement=[{
            "sid": "AccountAdministersKeyThroughIam",
            "effect": "Allow",
            "principals": [{"type": "AWS", "identifiers": [f"arn:{props.partition}:iam::{props.account_id}:root"]}],
            "actions": ["kms:*"],
            "resources": ["*"],  # in a key policy "*" means this key
        }])
        self.key = KmsKey(self, "secrets", description=f"{props.app_name}: encrypts the Pinecone API key secret",
                          enable_key_rotation=True, deletion_window_in_days=props.deletion_window_days,
                          policy=policy.json, tags={"Name": f"{props.app_name}-secrets"})
        self.alias = KmsAlias(self, "secrets_alias", name=f"alias/{props.app_name}-secrets",
                              target_key_id=self.key.key_id)
