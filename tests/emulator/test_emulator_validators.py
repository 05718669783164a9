"""The emulator's policy validators, with boto3 against a moto server on 127.0.0.1: IAM Access
Analyzer's ValidatePolicy and CheckNoPublicAccess (gap 10) and Secrets Manager's
ValidateResourcePolicy (gap 12), answered by the independent evaluator where it can decide, and
HTTP 501 NotImplemented where it cannot — never a made-up verdict.

Expected answers follow the API references:
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicy.html,
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoPublicAccess.html,
https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tfrun import aws

pytestmark = pytest.mark.emulator

ACCOUNT, REGION = "123456789012", "us-east-1"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


#: byoc's own secret policy shape: Deny statements only (a read outside the endpoint, an unlisted reader).
BYOC_SECRET_POLICY = doc(
    {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
     "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}})
PUBLIC_READ = doc({"Sid": "EveryoneReads", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
                   "Resource": "*"})
MALFORMED = doc({"Effect": "Alow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"},
                {"Effect": "Permit", "Principal": "*", "Action": "secretsmanager:DescribeSecret", "Resource": "*"})
LOCKS_OUT = doc({"Sid": "NobodyChangesThis", "Effect": "Deny", "Principal": "*",
                 "Action": "secretsmanager:PutResourcePolicy", "Resource": "*"})


@pytest.fixture(scope="module")
def env(emulator_module) -> dict[str, str]:
    return emulator_module.env()


@pytest.fixture(scope="module")
def secret_arn(env) -> str:
    return aws(env, "secretsmanager").create_secret(Name="validators/PINECONE_API_KEY")["ARN"]


def _code(exc: pytest.ExceptionInfo) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --- IAM Access Analyzer ValidatePolicy ------------------------------------------------------------

def test_validate_policy_finds_an_error_for_each_problem_the_evaluator_finds(env):
    findings = aws(env, "accessanalyzer").validate_policy(policyDocument=MALFORMED,
                                                          policyType="RESOURCE_POLICY")["findings"]
    assert [f["findingType"] for f in findings] == ["ERROR", "ERROR"]
    assert "Statement[0].Effect" in findings[0]["findingDetails"] and "Statement[1].Effect" in findings[1]["findingDetails"]


def test_validate_policy_finds_nothing_in_a_well_formed_policy(env):
    assert aws(env, "accessanalyzer").validate_policy(policyDocument=BYOC_SECRET_POLICY,
                                                      policyType="RESOURCE_POLICY")["findings"] == []


def test_validate_policy_pages_its_findings_by_next_token(env):
    analyzer = aws(env, "accessanalyzer")
    first = analyzer.validate_policy(policyDocument=MALFORMED, policyType="RESOURCE_POLICY", maxResults=1)
    assert len(first["findings"]) == 1 and first["nextToken"]
    second = analyzer.validate_policy(policyDocument=MALFORMED, policyType="RESOURCE_POLICY", maxResults=1,
                                      nextToken=first["nextToken"])
    assert len(second["findings"]) == 1 and "nextToken" not in second
    pages = list(analyzer.get_paginator("validate_policy").paginate(
        policyDocument=MALFORMED, policyType="RESOURCE_POLICY", PaginationConfig={"PageSize": 1}))
    assert sum(len(p["findings"]) for p in pages) == 2


def test_validate_policy_of_a_kind_the_evaluator_does_not_judge_is_not_implemented(env):
    with pytest.raises(ClientError) as exc:
        aws(env, "accessanalyzer").validate_policy(policyDocument=BYOC_SECRET_POLICY,
                                                   policyType="SERVICE_CONTROL_POLICY")
    assert _code(exc) == ("NotImplemented", 501)


# --- IAM Access Analyzer CheckNoPublicAccess --------------------------------------------------------

def test_check_no_public_access_fails_a_secret_policy_that_lets_anyone_read(env):
    answer = aws(env, "accessanalyzer").check_no_public_access(policyDocument=PUBLIC_READ,
                                                               resourceType="AWS::SecretsManager::Secret")
    assert answer["result"] == "FAIL"
    (reason,) = answer["reasons"]
    assert reason["statementId"] == "EveryoneReads" and reason["statementIndex"] == 0
    assert "secretsmanager:GetSecretValue" in reason["description"]


def test_check_no_public_access_passes_byocs_deny_only_secret_policy(env):
    answer = aws(env, "accessanalyzer").check_no_public_access(policyDocument=BYOC_SECRET_POLICY,
                                                               resourceType="AWS::SecretsManager::Secret")
    assert (answer["result"], answer["reasons"]) == ("PASS", [])


@pytest.mark.parametrize("principal, result", [({"AWS": "*"}, "FAIL"), ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "PASS")])
def test_check_no_public_access_judges_a_key_policy_by_its_principal(env, principal, result):
    policy = doc({"Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"})
    assert aws(env, "accessanalyzer").check_no_public_access(policyDocument=policy,
                                                             resourceType="AWS::KMS::Key")["result"] == result


def test_check_no_public_access_for_a_resource_type_the_emulator_does_not_judge_is_not_implemented(env):
    with pytest.raises(ClientError) as exc:
        aws(env, "accessanalyzer").check_no_public_access(policyDocument=PUBLIC_READ, resourceType="AWS::S3::Bucket")
    assert _code(exc) == ("NotImplemented", 501)


def test_every_other_access_analyzer_operation_is_not_implemented(env):
    with pytest.raises(ClientError) as exc:
        aws(env, "accessanalyzer").list_analyzers()
    assert _code(exc) == ("NotImplemented", 501)


# --- Secrets Manager ValidateResourcePolicy -----------------------------------------------------------

def test_validate_resource_policy_passes_byocs_secret_policy(env, secret_arn):
    answer = aws(env, "secretsmanager").validate_resource_policy(SecretId=secret_arn, ResourcePolicy=BYOC_SECRET_POLICY)
    assert answer["PolicyValidationPassed"] is True and answer["ValidationErrors"] == []


@pytest.mark.parametrize("policy, check, words", [
    (PUBLIC_READ, "EVALUATOR_BROAD_ACCESS", "allows a principal of another account secretsmanager:GetSecretValue"),
    (LOCKS_OUT, "EVALUATOR_LOCKOUT", "the policy denies the caller secretsmanager:PutResourcePolicy"),
    (MALFORMED, "EVALUATOR_SYNTAX", "Statement[0].Effect"),
], ids=["broad access", "lock-out", "syntax"])
def test_validate_resource_policy_fails_each_of_its_three_checks(env, secret_arn, policy, check, words):
    answer = aws(env, "secretsmanager").validate_resource_policy(SecretId=secret_arn, ResourcePolicy=policy)
    assert answer["PolicyValidationPassed"] is False
    assert check in {e["CheckName"] for e in answer["ValidationErrors"]}, answer
    assert any(words in e["ErrorMessage"] for e in answer["ValidationErrors"]), answer


def test_validate_resource_policy_refuses_a_document_that_is_not_json(env, secret_arn):
    with pytest.raises(ClientError) as exc:
        aws(env, "secretsmanager").validate_resource_policy(SecretId=secret_arn, ResourcePolicy="{not json")
    assert _code(exc) == ("MalformedPolicyDocumentException", 400)


def test_validate_resource_policy_of_an_unknown_secret_is_resource_not_found(env):
    with pytest.raises(ClientError) as exc:
        aws(env, "secretsmanager").validate_resource_policy(SecretId="no/such/secret", ResourcePolicy=BYOC_SECRET_POLICY)
    assert _code(exc) == ("ResourceNotFoundException", 400)
