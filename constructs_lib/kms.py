"""kms.tf: the customer-managed key that encrypts the Secrets Manager secret, the log groups, ECS
Exec sessions and the alarm topic."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.kms_key_policy import KmsKeyPolicy
from constructs import Construct

# What CloudWatch Logs needs on a key that encrypts a log group: AWS's documented set
# (Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*, Describe*) written out, less kms:Describe*,
# whose calls carry no encryption context and so never match the condition below anyway.
LOGS_KEY_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext"]


@dataclass(frozen=True)
class EncryptionProps:
    app_name: str
    region: str
    account_id: str
    partition: str
    #: Log groups this key may encrypt (CloudWatch Logs may use the key for these names only).
    log_group_names: tuple[str, ...]
    #: The SNS topic (by name) CloudWatch alarms may publish to with this key.
    alarm_topic_name: str
    #: Days KMS waits before deleting the key after destroy (7-30).
    deletion_window_days: int = 30


class Encryption(Construct):
    """Handles: ``key`` (aws_kms_key.secrets), ``alias``, ``policy`` (aws_kms_key_policy.secrets_policy:
    anything that encrypts with the key must depend on it)."""

    def __init__(self, scope: Construct, id: str, props: EncryptionProps) -> None:
        super().__init__(scope, id)
        self.key = KmsKey(self, "secrets",
                          description=f"{props.app_name}: encrypts the Pinecone API key secret and the log groups",
                          enable_key_rotation=True, deletion_window_in_days=props.deletion_window_days,
                          tags={"Name": f"{props.app_name}-secrets"})
        # The key policy is written out instead of left to AWS's default so that a reviewer sees
        # it, and it is a resource of its own so that it can name the key by its ARN instead of
        # "*" (a policy inside aws_kms_key cannot refer to the key it belongs to). Until it is
        # applied the key has AWS's default policy, which is the first statement below.
        # Who may *decrypt the secret* is decided by the IAM policies that secrets.py grants,
        # which are scoped to this key and to calls made through Secrets Manager (kms:ViaService).
        arn_prefix = f"arn:{props.partition}:logs:{props.region}:{props.account_id}:log-group:"
        topic_arn = f"arn:{props.partition}:sns:{props.region}:{props.account_id}:{props.alarm_topic_name}"
        document = DataAwsIamPolicyDocument(self, "key_policy", statement=[
            {
                "sid": "AccountAdministersKeyThroughIam",
                "effect": "Allow",
                "principals": [{"type": "AWS", "identifiers": [f"arn:{props.partition}:iam::{props.account_id}:root"]}],
                "actions": ["kms:*"],
                "resources": [self.key.arn],
            },
            {
                # Without this statement CreateLogGroup with this key fails ("not allowed to be used
                # with LogGroup"). The encryption context pins it to this stack's log groups.
                "sid": "CloudWatchLogsEncryptsThisStacksLogGroups",
                "effect": "Allow",
                "principals": [{"type": "Service", "identifiers": [f"logs.{props.region}.amazonaws.com"]}],
                "actions": LOGS_KEY_ACTIONS,
                "resources": [self.key.arn],
                # StringEquals, not AWS's example ArnEquals: encryption context values are
                # strings (parliament: MISMATCHED_TYPE), and these are exact ARNs anyway.
                "condition": [{"test": "StringEquals", "variable": "kms:EncryptionContext:aws:logs:arn",
                               "values": [arn_prefix + name for name in props.log_group_names]}],
            },
            {
                # An alarm cannot publish to a topic encrypted with a customer-managed key unless
                # the key lets CloudWatch use it (AWS's SNS docs, "compatibility between event
                # sources and encrypted topics"); SNS's encryption context pins it to the alarm
                # topic (alarm_create_sns_topic; unused otherwise).
                "sid": "CloudWatchAlarmsPublishToThisStacksAlarmTopic",
                "effect": "Allow",
                "principals": [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}],
                "actions": ["kms:Decrypt", "kms:GenerateDataKey"],
                "resources": [self.key.arn],
                "condition": [{"test": "StringEquals", "variable": "kms:EncryptionContext:aws:sns:topicArn",
                               "values": [topic_arn]}],
            },
        ])
        self.policy = KmsKeyPolicy(self, "secrets_policy", key_id=self.key.key_id, policy=document.json)
        self.alias = KmsAlias(self, "secrets_alias", name=f"alias/{props.app_name}-secrets",
                              target_key_id=self.key.key_id)
