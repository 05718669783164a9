"""byoc's policy reader against the IAM User Guide's own rules and examples ("IAM JSON policy
elements: Condition operators", "Creating a condition with multiple context keys or values"),
and its refusal to judge statements this stack does not write.

The documented rules quoted per test; the verdicts are the Guide's, not derived from byoc.
"""

from __future__ import annotations

import copy

import pytest

from cli.core.policy import SecretPolicy, condition_holds, conditions_hold, grants, statements

ROLE = "arn:aws:iam::123456789012:role/byoc-agents-task"
EXEC = "arn:aws:iam::123456789012:role/byoc-agents-execution"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:byoc-agents/PINECONE_API_KEY-AbCdEf"
VPCE = "vpce-0123456789abcdef0"


# --- condition operators: the Guide's rules -------------------------------------------------------

def test_missing_key_makes_a_positive_condition_false_and_a_negated_one_true():
    # "If the key that you specify in a policy condition is not present in the request context,
    # the values do not match and the condition is false. If the policy condition requires that
    # the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
    # present, the condition is true."
    assert condition_holds("StringLike", ["t2.*"], None) is False
    assert condition_holds("StringNotLike", ["t2.*"], None) is True
    assert condition_holds("ArnNotLike", [ROLE], None) is True
    assert condition_holds("StringEquals", [VPCE], None) is False


def test_if_exists_is_true_when_the_key_is_missing_and_tested_when_present():
    # The Guide's ...IfExists example: "StringLikeIfExists": {"ec2:InstanceType": ["t1.*",
    # "t2.*", "m3.*"]} — "If the key is not present, evaluate the condition element as true."
    values = ["t1.*", "t2.*", "m3.*"]
    assert condition_holds("StringLikeIfExists", values, None) is True
    assert condition_holds("StringLikeIfExists", values, "t2.micro") is True
    assert condition_holds("StringLikeIfExists", values, "m5.large") is False
    # Negated as well: absent key -> true (the IfExists rule), present key -> the negated test.
    assert condition_holds("StringNotEqualsIfExists", [VPCE], None) is True
    assert condition_holds("StringNotEqualsIfExists", [VPCE], VPCE) is False


def test_several_values_of_one_key_match_when_any_does_and_negated_when_none_does():
    # "If a single condition operator includes multiple values for a context key, those values
    # are evaluated using a logical OR." For negated operators the Guide's table: a NOR.
    assert condition_holds("StringEquals", ["finance", "hr", "legal"], "hr") is True
    assert condition_holds("StringEquals", ["finance", "hr", "legal"], "sales") is False
    assert condition_holds("StringNotEquals", ["finance", "hr"], "hr") is False
    assert condition_holds("StringNotEquals", ["finance", "hr"], "sales") is True


def test_several_keys_and_several_operators_must_all_match():
    # "If your policy has multiple condition operators or multiple context keys, the conditions
    # are evaluated using a logical AND."
    block = {"StringEquals": {"aws:PrincipalTag/team": "data", "aws:RequestedRegion": "us-east-1"},
             "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}}
    context = {"aws:PrincipalTag/team": "data", "aws:RequestedRegion": "us-east-1", "aws:PrincipalArn": ROLE}
    assert conditions_hold(block, context) is True
    assert conditions_hold(block, {**context, "aws:RequestedRegion": "eu-west-1"}) is False
    assert conditions_hold(block, {**context, "aws:PrincipalArn": "arn:aws:iam::999999999999:role/x"}) is False


def test_condition_key_names_are_case_insensitive_but_string_values_are_not():
    # "Condition key names are not case-sensitive." StringEquals: "Exact matching, case sensitive".
    assert conditions_hold({"StringEquals": {"AWS:SourceVpce": VPCE}}, {"aws:sourcevpce": VPCE}) is True
    assert conditions_hold({"StringEquals": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE.upper()}) is False
    assert conditions_hold({"StringEqualsIgnoreCase": {"aws:SourceVpce": VPCE}}, {"aws:SourceVpce": VPCE.upper()})


def test_arn_operators_match_each_of_the_six_parts_with_wildcards():
    # "Each of the six colon-delimited components of the ARN is checked separately and each can
    # include multi-character match wildcards (*) or single-character match wildcards (?)."
    assert condition_holds("ArnLike", ["arn:aws:iam::123456789012:role/byoc-*"], ROLE) is True
    assert condition_holds("ArnEquals", ["arn:aws:iam::12345678901?:role/*"], ROLE) is True
    # The wildcard of one part does not reach into the next: the account part has no '*'.
    assert condition_holds("ArnLike", ["arn:aws:iam::*"], ROLE) is False
    assert condition_holds("ArnNotEquals", [EXEC], ROLE) is True


def test_fnmatch_brackets_are_not_iam_wildcards():
    # IAM knows only '*' and '?': "[abc]" is three literal characters, unlike fnmatch's set.
    assert condition_holds("StringLike", ["role[12]"], "role1") is False
    assert condition_holds("StringLike", ["role[12]"], "role[12]") is True


# --- the secret policy: the two Deny statements the stack writes, nothing else ---------------------

def stack_policy(readers: list[str] | None) -> dict:
    """The secret policy as aws_iam_policy_document renders it (one value -> a string)."""
    statements = [{"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*",
                   "Action": "secretsmanager:GetSecretValue", "Resource": SECRET,
                   "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}}}]
    if readers:
        statements.append({"Sid": "DenyReadToUnlistedPrincipals", "Effect": "Deny", "Principal": {"AWS": "*"},
                           "Action": "secretsmanager:GetSecretValue", "Resource": SECRET,
                           "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers}}})
    return {"Version": "2012-10-17", "Statement": statements}


def test_stack_policy_lets_listed_roles_read_only_through_the_endpoint():
    policy = SecretPolicy.parse(stack_policy([ROLE, EXEC]))
    assert policy.unrecognised == []
    assert policy.may_read(EXEC, VPCE) is True and policy.may_read(ROLE, VPCE) is True
    assert policy.may_read(ROLE, None) is False and policy.may_read(ROLE, "vpce-other") is False
    assert policy.may_read("arn:aws:iam::123456789012:role/other", VPCE) is False
    assert policy.readers == [ROLE, EXEC] and policy.endpoints == [VPCE]


def test_open_stack_policy_lets_anyone_read_through_the_endpoint():
    policy = SecretPolicy.parse(stack_policy(None))
    assert policy.readers is None and policy.may_read("arn:aws:iam::123456789012:role/other", VPCE) is True


def test_condition_key_in_another_case_is_still_the_stack_statement():
    doc = stack_policy([ROLE, EXEC])
    doc["Statement"][0]["Condition"] = {"StringNotEquals": {"AWS:SOURCEVPCE": VPCE}}
    policy = SecretPolicy.parse(doc)
    assert policy.unrecognised == [] and policy.may_read(ROLE, "vpce-other") is False


@pytest.mark.parametrize("edit", [
    pytest.param(lambda d: d["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                                                  "Action": "secretsmanager:GetSecretValue", "Resource": "*"}),
                 id="an Allow to another account"),
    pytest.param(lambda d: d["Statement"][0].update(Condition={"StringNotEqualsIfExists": {"aws:SourceVpce": VPCE}}),
                 id="IfExists on the endpoint deny"),
    pytest.param(lambda d: d["Statement"][1].update(Condition={"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}),
                 id="an operator byoc never writes"),
    pytest.param(lambda d: d["Statement"][1].update(Action=["secretsmanager:*"]), id="a wider action"),
    pytest.param(lambda d: d["Statement"][1].update(NotPrincipal={"AWS": ROLE}), id="NotPrincipal"),
])
def test_statements_byoc_does_not_write_give_no_verdict(edit):
    doc = copy.deepcopy(stack_policy([ROLE, EXEC]))
    edit(doc)
    policy = SecretPolicy.parse(doc)
    assert policy.unrecognised
    assert policy.may_read(ROLE, VPCE) is None and policy.may_read("arn:aws:iam::1:role/x", None) is None


# --- identity policies: the stack's plain grants, unknown for anything that could change them -----

GRANT = {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET}


def test_plain_allow_grants_and_absence_does_not():
    assert grants(statements({"Statement": [GRANT]}), "secretsmanager:GetSecretValue", SECRET) is True
    assert grants(statements({"Statement": [GRANT]}), "kms:Decrypt", SECRET) is False
    assert grants(statements({"Statement": {**GRANT, "Action": "secretsmanager:Get*"}}),
                  "secretsmanager:GetSecretValue", SECRET) is True


@pytest.mark.parametrize("extra", [
    pytest.param({"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}, id="a Deny"),
    pytest.param({"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}, id="NotAction"),
    pytest.param({**GRANT, "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}, id="a condition"),
])
def test_identity_statements_byoc_does_not_write_make_the_grant_unknown(extra):
    assert grants(statements({"Statement": [GRANT, extra]}), "secretsmanager:GetSecretValue", SECRET) is None
