"""byoc's reader (cli/core/policy.py) on the cross-account rule: hand-written documents in the
shapes the stack writes (constructs_lib/secrets.py, constructs_lib/kms.py), no deployment, no
evaluator. Each case quotes the AWS sentence its expected verdict follows; the verdicts are the
documentation's, not derived from byoc. (tests/core/test_policy_matrix.py checks the same reader
against the independent evaluator on the deployed stack's real documents.)

- IAM User Guide, "Cross-account policy evaluation logic"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
- IAM User Guide, "Policy evaluation for requests within a single account"
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
- AWS KMS Developer Guide, "Key policies in AWS KMS"
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
- AWS KMS Developer Guide, "Allowing users in other accounts to use a KMS key"
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
"""

from __future__ import annotations

import copy

import pytest

from cli.core.policy import (KeyPolicy, SecretPolicy, account_of, check_lockdown, delegates_to_iam, reader_verdict,
                             statements)

ACCOUNT, OTHER = "123456789012", "210987654321"
REGION = "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:byoc-agents/PINECONE_API_KEY-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1b1410-ca5b-474a-a702-a9869ede3365"
VPCE = "vpce-0123456789abcdef0"
TASK = f"arn:aws:iam::{ACCOUNT}:role/byoc-agents-task-role"
EXEC = f"arn:aws:iam::{ACCOUNT}:role/byoc-agents-execution-role"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"
FOREIGN = f"arn:aws:iam::{OTHER}:role/admin"
READ, DECRYPT = "secretsmanager:GetSecretValue", "kms:Decrypt"


def doc(*s: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(s)}


VPCE_ONLY = {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*", "Action": READ,
             "Resource": SECRET, "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}}}


def secret_policy(readers: list[str] | None) -> dict:
    """The secret policy as the stack renders it: open (phase one) or locked to ``readers``."""
    if not readers:
        return doc(VPCE_ONLY)
    return doc(VPCE_ONLY, {"Sid": "DenyReadToUnlistedPrincipals", "Effect": "Deny", "Principal": "*", "Action": READ,
                           "Resource": SECRET, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers}}})


#: The roles' <app>-secret-read policy.
SECRET_READ = statements(doc(
    {"Sid": "ReadPineconeSecret", "Effect": "Allow", "Action": READ, "Resource": SECRET},
    {"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": DECRYPT, "Resource": KEY,
     "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}}))
#: AWS's AdministratorAccess: everything, everywhere.
EVERYTHING = statements(doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))

ROOT = {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*", "Resource": KEY}
LOGS = {"Sid": "CloudWatchLogsEncryptsThisStacksLogGroups", "Effect": "Allow",
        "Principal": {"Service": f"logs.{REGION}.amazonaws.com"}, "Action": ["kms:Encrypt", "kms:Decrypt"],
        "Resource": KEY, "Condition": {"StringEquals": {
            "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/byoc-agents"}}}
ALARMS = {"Sid": "CloudWatchAlarmsPublishToThisStacksAlarmTopic", "Effect": "Allow",
          "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
          "Resource": KEY, "Condition": {"StringEquals": {
              "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:byoc-agents-alarms"}}}
KEY_POLICY = doc(ROOT, LOGS, ALARMS)


def read(principal, identity, policy, vpce=VPCE):
    return reader_verdict(principal, READ, SECRET, identity_statements=identity, secret_policy=policy, source_vpce=vpce)


def decrypt(principal, identity, key_policy=KEY_POLICY):
    return reader_verdict(principal, DECRYPT, KEY, identity_statements=identity, key_policy=key_policy)


# --- the secret: GetSecretValue ----------------------------------------------------------------------

@pytest.mark.parametrize("readers", [None, [TASK, EXEC], [TASK, EXEC, FOREIGN]], ids=["open", "locked", "foreign listed"])
def test_role_of_another_account_cannot_read_without_an_allow_in_the_secret_policy(readers):
    # Cross-account policy evaluation logic: "To allow cross-account access, you attach a
    # resource-based policy to the resource that you want to share. You must also attach an
    # identity-based policy to the identity that acts as the principal in the request. The
    # resource-based policy in the trusting account must specify the principal of the trusted
    # account that will have access to the resource." byoc's secret policy holds only Denies: even
    # listed among the readers (not denied), the foreign role has no Allow there.
    policy = SecretPolicy.parse(secret_policy(readers))
    assert policy.may_read(FOREIGN, VPCE) is False
    assert read(FOREIGN, EVERYTHING, secret_policy(readers)) is False


def test_role_of_another_account_cannot_read_a_secret_without_a_policy():
    # Same rule: with no resource-based policy at all, nothing in the trusting account specifies it.
    assert SecretPolicy.parse(None).may_read(FOREIGN, VPCE, account=ACCOUNT) is False
    assert read(FOREIGN, EVERYTHING, None) is False
    # ... while within the account an identity policy alone is enough (next test's rule).
    assert read(ADMIN, EVERYTHING, None) is True


def test_role_of_the_account_reads_on_its_identity_policy_alone_when_no_deny_applies():
    # Policy evaluation for requests within a single account: "If either the identity-based
    # policy or the resource-based policy within the same account allows the request and the
    # other doesn't, the request is still allowed." (And "An explicit deny in any of the policies
    # overrides the allow.")
    assert read(ADMIN, EVERYTHING, secret_policy(None)) is True
    assert read(ADMIN, EVERYTHING, secret_policy([TASK, EXEC])) is False  # DenyReadToUnlistedPrincipals
    assert read(TASK, SECRET_READ, secret_policy([TASK, EXEC])) is True
    assert read(TASK, SECRET_READ, secret_policy([TASK, EXEC]), vpce=None) is False  # DenyReadOutsideVpcEndpoint
    assert read(f"arn:aws:iam::{ACCOUNT}:role/bare", [], secret_policy(None)) is False  # nothing allows it


def test_an_allow_for_another_account_in_the_secret_policy_is_not_judged():
    # That Allow is exactly what the cross-account rule asks for, so the foreign role may read
    # through the endpoint; byoc does not write such statements and gives no verdict (None) rather
    # than the False it gives without it.
    edited = secret_policy(None)
    edited["Statement"].append({"Sid": "AllowPartnerRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                "Action": READ, "Resource": SECRET})
    assert SecretPolicy.parse(edited).may_read(FOREIGN, VPCE) is None
    assert read(FOREIGN, EVERYTHING, edited) is None
    assert read(TASK, SECRET_READ, edited) is None


def test_secret_account_comes_from_the_policy_or_is_unknown():
    assert SecretPolicy.parse(secret_policy([TASK, EXEC])).account == ACCOUNT
    # No statement names the secret: without the account byoc cannot apply the rule, so no verdict.
    assert SecretPolicy.parse(None).may_read(TASK, VPCE) is None
    assert SecretPolicy.parse(None).may_read(TASK, VPCE, account=ACCOUNT) is True


# --- the key: kms:Decrypt through Secrets Manager ------------------------------------------------------

def test_role_of_another_account_cannot_decrypt_with_a_key_policy_that_trusts_only_this_account():
    # "Allowing users in other accounts to use a KMS key": "The key policy for the KMS key must
    # give the external account (or users and roles in the external account) permission to use the
    # KMS key." ... "Neither the key policy nor the IAM policy alone is sufficient—you must change
    # both." The stack's key policy delegates to arn:aws:iam::<this account>:root only.
    assert KeyPolicy.parse(KEY_POLICY).may_decrypt(FOREIGN) is False
    assert decrypt(FOREIGN, EVERYTHING) is False


def test_key_policy_without_the_root_delegation_voids_every_identity_grant():
    # Key policies in AWS KMS: "Unless the key policy explicitly allows it, you cannot use IAM
    # policies to allow access to a KMS key. Without permission from the key policy, IAM policies
    # that allow permissions have no effect." The service statements name no IAM principal.
    services_only = doc(LOGS, ALARMS)
    assert KeyPolicy.parse(services_only).unrecognised(ACCOUNT) == []
    assert decrypt(TASK, SECRET_READ, services_only) is False
    assert decrypt(ADMIN, EVERYTHING, services_only) is False
    assert not delegates_to_iam(services_only, ACCOUNT)


def test_root_delegation_lets_the_accounts_identity_policies_decide():
    # Key policies in AWS KMS: "The default key policy enables IAM policies" (the statement for
    # arn:aws:iam::ACCT:root). Then the role's own policy decides, with its kms:ViaService condition
    # tested against the call Secrets Manager makes (KMS Developer Guide, "kms:ViaService").
    assert decrypt(TASK, SECRET_READ) is True
    assert decrypt(ADMIN, EVERYTHING) is True
    assert decrypt(f"arn:aws:iam::{ACCOUNT}:role/bare", []) is False
    elsewhere = statements(doc({"Effect": "Allow", "Action": DECRYPT, "Resource": KEY,
                                "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}}}))
    assert decrypt(TASK, elsewhere) is False


def test_a_key_policy_statement_for_another_account_is_not_judged():
    # With it the foreign account may delegate to its roles ("Allowing users in other accounts to
    # use a KMS key"); byoc never writes it, so no verdict.
    shared = copy.deepcopy(KEY_POLICY)
    shared["Statement"].append({"Sid": "PartnerUsesKey", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                                "Action": "kms:*", "Resource": KEY})
    assert KeyPolicy.parse(shared).unrecognised(ACCOUNT) == [shared["Statement"][-1]]
    assert decrypt(FOREIGN, EVERYTHING, shared) is None
    assert decrypt(TASK, SECRET_READ, None) is None  # no key policy read: no verdict


def test_delegation_is_recognised_by_root_arn_or_bare_account_id_of_the_key_account_only():
    assert delegates_to_iam(doc(ROOT), ACCOUNT)
    assert delegates_to_iam(doc({**ROOT, "Principal": {"AWS": ACCOUNT}}), ACCOUNT)
    assert not delegates_to_iam(doc(ROOT), OTHER)
    assert not delegates_to_iam(doc({**ROOT, "Condition": {"Bool": {"aws:SecureTransport": "true"}}}), ACCOUNT)


# --- check_lockdown: the cross-account rule in byoc lockdown's verification ----------------------------

def test_lockdown_probe_is_a_role_of_the_secrets_account():
    # A probe of another account is refused by the cross-account rule whatever the list says: it
    # would never find an open policy. The probe must be of the secret's account.
    report = check_lockdown(SecretPolicy.parse(secret_policy(None)), execution_role=EXEC, task_role=TASK,
                            expected_vpce=VPCE)
    assert "a principal not on the list may still read the secret" in report.problems
    locked = check_lockdown(SecretPolicy.parse(secret_policy([TASK, EXEC])), execution_role=EXEC, task_role=TASK,
                            expected_vpce=VPCE)
    assert locked.problems == [] and locked.locked


def test_lockdown_reports_a_reader_of_another_account_as_unable_to_read():
    report = check_lockdown(SecretPolicy.parse(secret_policy([TASK, EXEC, FOREIGN])), execution_role=EXEC,
                            task_role=TASK, expected_vpce=VPCE, extra_readers=[FOREIGN])
    assert len(report.problems) == 1
    assert FOREIGN in report.problems[0] and "cross-account" in report.problems[0]


def test_account_of_reads_the_fifth_part_of_an_arn():
    assert account_of(TASK) == ACCOUNT and account_of(SECRET) == ACCOUNT
    assert account_of("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy") is None
    assert account_of("*") is None and account_of("ecs-tasks.amazonaws.com") is None and account_of(None) is None
