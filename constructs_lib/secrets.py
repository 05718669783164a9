"""secrets.tf: the Secrets Manager secret *shell* for PINECONE_API_KEY and its resource policy.

No ``aws_secretsmanager_secret_version`` exists anywhere in this stack: the value is put out of
band (``byoc secret put`` or ``aws secretsmanager put-secret-value``) and so never enters
Terraform state.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, Op, Token
from cdktf_cdktf_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocument
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_policy import SecretsmanagerSecretPolicy
from constructs import Construct

from constructs_lib.catalog import SECRET_JSON_KEY, SECRET_READ_ACTION, secret_name, secretsmanager_via, value_from


#: The only action the resource policy restricts. Management actions (PutSecretValue,
#: DescribeSecret, Get/PutResourcePolicy, DeleteSecret) are never denied, so neither Terraform
#: nor an operator can lock themselves out of the secret.
READ_ACTION = SECRET_READ_ACTION


@dataclass(frozen=True)
class PineconeSecretProps:
    app_name: str
    region: str
    key: KmsKey
    #: The id of the Secrets Manager interface endpoint reads must come through (aws:SourceVpce):
    #: the stack's own, or the existing VPC's that it reuses.
    secretsmanager_endpoint_id: str
    #: ECS injects ``secrets`` with this role, so the lock-down always lets it read.
    execution_role: IamRole
    #: Principals that may read once locked down (list token); empty = not locked yet.
    reader_principal_arns: list[str]
    recovery_window_days: int | float


class PineconeSecret(Construct):
    """Handles: ``secret``, ``policy``; ``grant_read(role)``, ``value_from(key)``."""

    def __init__(self, scope: Construct, id: str, props: PineconeSecretProps) -> None:
        super().__init__(scope, id)
        self._props = props
        self._read_policy: IamPolicy | None = None
        self.secret = SecretsmanagerSecret(
            self, "pinecone", name=secret_name(props.app_name),
            description="Pinecone API key as JSON {\"PINECONE_API_KEY\": \"...\"}; value set out of band",
            kms_key_id=props.key.arn, recovery_window_in_days=props.recovery_window_days,
            tags={"Name": f"{props.app_name}-pinecone-api-key"})

        vpce_only = {
            "sid": "DenyReadOutsideVpcEndpoint",
            "effect": "Deny",
            "principals": [{"type": "*", "identifiers": ["*"]}],
            "actions": [READ_ACTION],
            "resources": [self.secret.arn],
            "condition": [{"test": "StringNotEquals", "variable": "aws:SourceVpce",
                           "values": [props.secretsmanager_endpoint_id]}],
        }
        readers_only = {
            "sid": "DenyReadToUnlistedPrincipals",
            "effect": "Deny",
            "principals": [{"type": "*", "identifiers": ["*"]}],
            "actions": [READ_ACTION],
            "resources": [self.secret.arn],
            # The execution role is always on the list: ECS fetches `secrets` with it before the
            # container starts. A list holding only the task role (the seed's step 5) would make
            # every task fail with "ResourceInitializationError: unable to pull secrets".
            "condition": [{"test": "ArnNotEquals", "variable": "aws:PrincipalArn",
                           "values": Fn.distinct(Token.as_list(Fn.concat([props.reader_principal_arns,
                                                                          [props.execution_role.arn]])))}],
        }
        open_doc = DataAwsIamPolicyDocument(self, "secret_policy_open", statement=[vpce_only])
        locked_doc = DataAwsIamPolicyDocument(self, "secret_policy_locked", statement=[vpce_only, readers_only])
        # ">= 1", not "> 0": cdktf's Op.* renders a falsy literal (0, "") as `undefined`.
        locked = Op.gte(Fn.length_of(props.reader_principal_arns), 1)
        self.policy = SecretsmanagerSecretPolicy(
            self, "pinecone_policy", secret_arn=self.secret.arn, block_public_policy=True,
            policy=Token.as_string(Fn.conditional(locked, locked_doc.json, open_doc.json)))

    def value_from(self, json_key: str = SECRET_JSON_KEY, version_id: str = "") -> str:
        """The ECS ``valueFrom`` for one JSON key of this secret: ``<arn>:<key>::<version-id>``
        (``version_id`` empty: AWSCURRENT; see ``catalog.value_from`` for why byoc pins it).

        Without the ``:<key>::`` suffix ECS injects the whole JSON document instead of the key
        (the fix doc's second root cause); building it here means it cannot be left off.
        """
        return value_from(self.secret.arn, json_key, version_id)

    def grant_read(self, role: IamRole, id: str) -> IamRolePolicyAttachment:
        """Let ``role`` read this secret: GetSecretValue on it and kms:Decrypt on its key, only
        through Secrets Manager. One customer-managed policy serves every grantee, attached
        per role, which is what ``aws iam list-attached-role-policies`` shows."""
        if self._read_policy is None:
            p = self._props
            doc = DataAwsIamPolicyDocument(self, "secret_read_policy", statement=[
                {"sid": "ReadPineconeSecret", "effect": "Allow", "actions": [READ_ACTION],
                 "resources": [self.secret.arn]},
                {"sid": "DecryptThroughSecretsManager", "effect": "Allow", "actions": ["kms:Decrypt"],
                 "resources": [p.key.arn],
                 "condition": [{"test": "StringEquals", "variable": "kms:ViaService",
                                "values": [secretsmanager_via(p.region)]}]},
            ])
            self._read_policy = IamPolicy(
                self, "secret_read", name=f"{p.app_name}-secret-read",
                description=f"Read {SECRET_JSON_KEY} from Secrets Manager and decrypt it with its CMK",
                policy=doc.json)
        return IamRolePolicyAttachment(self, id, role=role.name, policy_arn=self._read_policy.arn)
