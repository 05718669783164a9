"""IAM's policy simulator in the emulator (gap 11, cli/emulator/iam_simulator.py), with boto3 against
a moto server on 127.0.0.1: SimulatePrincipalPolicy and SimulateCustomPolicy answered by the
independent evaluator under the rules of their API reference, and byoc's verdicts
(cli/observers/verdicts.py) from both sources. No terraform: hand-made users, groups and roles.

Expected answers are the API reference's (quoted per test):
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html,
https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html,
and the IAM User Guide's "Policy evaluation logic" for the decisions.
"""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cli.core.aws import AwsTarget
from cli.emulator import authorizer
from tfrun import aws

pytestmark = pytest.mark.emulator

ACCOUNT = "123456789012"  # moto's account
OTHER_ACCOUNT = "999999999999"
REGION = "us-east-1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/PINECONE_API_KEY-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VIA = f"secretsmanager.{REGION}.amazonaws.com"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                  "Action": "sts:AssumeRole"}]}


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@pytest.fixture(scope="module")
def env(emulator_module) -> dict[str, str]:
    assert emulator_module.info()["policies"] == "evaluated", "the independent evaluator must be installed"
    return emulator_module.env()


@pytest.fixture
def iam(env):
    return aws(env, "iam")


@pytest.fixture
def unchecked(env):
    """An IAM client that sends what it is given (no client-side validation) and never retries:
    the server's answer is what the test reads."""
    return boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture
def name() -> str:
    return "t" + uuid.uuid4().hex[:10]


def role(iam, name: str, *inline: str, managed: list[str] = (), boundary: str | None = None) -> str:
    kwargs = {"PermissionsBoundary": boundary} if boundary else {}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), **kwargs)["Role"]["Arn"]
    for n, text in enumerate(inline, 1):
        iam.put_role_policy(RoleName=name, PolicyName=f"inline{n}", PolicyDocument=text)
    for policy in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def managed(iam, name: str, text: str) -> str:
    return iam.create_policy(PolicyName=name, PolicyDocument=text)["Policy"]["Arn"]


def error(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def decisions(answer: dict) -> dict[str, str]:
    return {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}


# --- decisions --------------------------------------------------------------------------------------------

def test_a_roles_managed_and_inline_policies_decide_allowed_explicit_deny_and_implicit_deny(iam, name):
    """"If you specify a user, group, or role, the simulation includes all policies that are associated
    with that entity"; an explicit deny overrides any allow, and "the deny statement is the only entry
    included in the result" (API_EvaluationResult, MatchedStatements)."""
    read = managed(iam, f"{name}-read", doc(allow(["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
                                                  SECRET, Sid="Read")))
    arn = role(iam, name, doc(deny("secretsmanager:DeleteSecret", Sid="NeverDelete")), managed=[read])
    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn, ResourceArns=[SECRET],
        ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue"])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "allowed",
                                 "secretsmanager:DeleteSecret": "explicitDeny",
                                 "secretsmanager:PutSecretValue": "implicitDeny"}
    get, delete, put = answer["EvaluationResults"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in get["MatchedStatements"]] == \
        [(f"{name}-read", "user-managed")]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in delete["MatchedStatements"]] == [("inline1", "role")]
    # The deny statement's place in the document as written (json.dumps, indent 2): lines 4-9, column 5.
    assert delete["MatchedStatements"][0]["StartPosition"] == {"Line": 4, "Column": 5}
    assert delete["MatchedStatements"][0]["EndPosition"] == {"Line": 9, "Column": 5}
    assert put["MatchedStatements"] == []
    assert get["EvalResourceName"] == SECRET
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in get["ResourceSpecificResults"]] == \
        [(SECRET, "allowed")]
    # "If the simulation evaluates policies within the same account and includes a resource ARN, then
    # the parameter is present but the response is empty."
    assert get["EvalDecisionDetails"] == {}


def test_one_result_per_action_with_the_most_restrictive_decision_across_resources(iam, name):
    """API_EvaluationResult: "The simulator now returns a single EvaluationResult per action, regardless
    of how many resource ARNs are provided"; "The top-level EvalDecision reflects the most restrictive
    decision across all resources"; ResourceSpecificResults has each."""
    other = SECRET.replace("PINECONE_API_KEY", "OTHER")
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue", SECRET)))
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"],
                                           ResourceArns=[SECRET, other])
    (result,) = answer["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny" and "EvalResourceName" not in result
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]] == \
        [(SECRET, "allowed"), (other, "implicitDeny")]


def test_a_users_groups_policies_are_included(iam, name):
    """"If you specify a user, the simulation also includes all policies that are attached to any groups
    the user belongs to." """
    iam.create_user(UserName=name)
    iam.create_group(GroupName=name)
    iam.add_user_to_group(GroupName=name, UserName=name)
    iam.put_group_policy(GroupName=name, PolicyName="group-read", PolicyDocument=doc(
        allow("secretsmanager:GetSecretValue", SECRET)))
    user = iam.get_user(UserName=name)["User"]["Arn"]
    answer = iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["secretsmanager:GetSecretValue"],
                                           ResourceArns=[SECRET])
    (result,) = answer["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == \
        [("group-read", "group")]
    group = iam.get_group(GroupName=name)["Group"]["Arn"]
    answer = iam.simulate_principal_policy(PolicySourceArn=group, ActionNames=["secretsmanager:GetSecretValue"],
                                           ResourceArns=[SECRET])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "allowed"}


def test_a_permissions_boundary_caps_the_identity_policies(iam, name):
    """IAM User Guide, "Permissions boundaries": the effective permissions are what both the
    identity-based policies and the boundary allow; PermissionsBoundaryDecisionDetail says whether the
    boundary allowed it. PermissionsBoundaryPolicyInputList replaces the entity's boundary."""
    boundary = managed(iam, f"{name}-boundary", doc(allow("secretsmanager:DescribeSecret")))
    arn = role(iam, name, doc(allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"])),
               boundary=boundary)
    answer = iam.simulate_principal_policy(
        PolicySourceArn=arn, ResourceArns=[SECRET],
        ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "implicitDeny",
                                 "secretsmanager:DescribeSecret": "allowed"}
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]
            for r in answer["EvaluationResults"]] == [False, True]
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ResourceArns=[SECRET],
                                           ActionNames=["secretsmanager:GetSecretValue"],
                                           PermissionsBoundaryPolicyInputList=[doc(allow("secretsmanager:*"))])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "allowed"}


def test_policy_input_list_is_added_to_the_entitys_policies(iam, name):
    arn = role(iam, name)
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"],
                                           ResourceArns=[SECRET],
                                           PolicyInputList=[doc(allow("secretsmanager:GetSecretValue"))])
    (result,) = answer["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == \
        [("PolicyInputList.1", "none")]


# --- context entries ------------------------------------------------------------------------------------------

def test_context_entries_decide_aws_source_vpce(iam, name):
    """"Whenever a context key is evaluated in one of the simulated IAM permissions policies, the
    corresponding value is supplied"; a key the policies read that the request did not give is listed in
    MissingContextValues."""
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue", SECRET,
                                    Condition={"StringEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}})))

    def read(*entries):
        (result,) = iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET],
            ContextEntries=[{"ContextKeyName": "aws:SourceVpce", "ContextKeyValues": [v], "ContextKeyType": "string"}
                            for v in entries])["EvaluationResults"]
        return result

    assert read("vpce-0123456789abcdef0")["EvalDecision"] == "allowed"
    assert read("vpce-0a0a0a0a0a0a0a0a0")["EvalDecision"] == "implicitDeny"
    missing = read()
    assert missing["EvalDecision"] == "implicitDeny" and missing["MissingContextValues"] == ["aws:SourceVpce"]
    assert missing["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:SourceVpce"]


def test_context_entries_decide_kms_via_service_on_the_identity_policies_alone(iam, name):
    """"The IAM policy simulator evaluates statements in the identity-based policy and the inputs that you
    provide": with no ResourcePolicy, a key's decrypt is the identity policies' decision (the key policy
    is not part of the simulation)."""
    arn = role(iam, name, doc(allow("kms:Decrypt", KEY, Sid="DecryptThroughSecretsManager",
                                    Condition={"StringEquals": {"kms:ViaService": VIA}})))

    def decrypt(via: str) -> dict:
        (result,) = iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["kms:Decrypt"], ResourceArns=[KEY],
            ContextEntries=[{"ContextKeyName": "kms:ViaService", "ContextKeyValues": [via],
                             "ContextKeyType": "string"}])["EvaluationResults"]
        return result

    allowed = decrypt(VIA)
    assert allowed["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in allowed["MatchedStatements"]] == \
        [("inline1", "role")]
    assert decrypt(f"ec2.{REGION}.amazonaws.com")["EvalDecision"] == "implicitDeny"


def test_context_entry_values_must_be_of_their_type(iam, unchecked, name):
    """API_ContextEntry: ContextKeyType is "The data type of the value (or values)"; one of the
    documented types (ValidationError otherwise: an enum of the input shape); a value that is not of
    its type, or several for a type that is not a list, is InvalidInput."""
    arn = role(iam, name)

    def simulate(*entries: dict):
        return unchecked.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"],
                                                   ResourceArns=[SECRET], ContextEntries=list(entries))

    code, message, status = error(lambda: simulate({"ContextKeyName": "aws:SourceVpce", "ContextKeyValues": ["v"],
                                                    "ContextKeyType": "text"}))
    assert (code, status) == ("ValidationError", 400)
    assert "'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set" \
        in message
    for entry in ({"ContextKeyName": "aws:MultiFactorAuthAge", "ContextKeyValues": ["soon"],
                   "ContextKeyType": "numeric"},
                  {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.300"], "ContextKeyType": "ip"},
                  {"ContextKeyName": "aws:SourceVpce", "ContextKeyValues": ["a", "b"], "ContextKeyType": "string"}):
        code, message, status = error(lambda: simulate(entry))
        assert (code, status) == ("InvalidInput", 400), message
    answer = simulate(
        {"ContextKeyName": "aws:SourceVpce", "ContextKeyValues": ["a", "b"], "ContextKeyType": "stringList"},
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.0.0.0/8"], "ContextKeyType": "ip"})
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "implicitDeny"}


# --- the CallerArn rule ---------------------------------------------------------------------------------------

def test_a_role_with_a_resource_policy_needs_a_caller_arn(iam, name):
    """"CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for
    an IAM user" — InvalidInput (HTTP 400)."""
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    code, message, status = error(lambda: iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET],
        ResourcePolicy=doc(allow("secretsmanager:GetSecretValue", Principal={"AWS": arn}))))
    assert (code, status) == ("InvalidInput", 400)
    assert "CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for an IAM " \
           "user" in message


def test_a_caller_arn_can_only_be_an_iam_user(iam, name):
    """"You can specify only the ARN of an IAM user. You cannot specify the ARN of an assumed role,
    federated user, or a service principal." """
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    for caller in (arn, f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/session",
                   f"arn:aws:sts::{ACCOUNT}:federated-user/bob"):
        code, message, status = error(lambda: iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET],
            CallerArn=caller, ResourcePolicy=doc(allow("secretsmanager:GetSecretValue", Principal={"AWS": arn}))))
        assert (code, status) == ("InvalidInput", 400) and "only the ARN of an IAM user" in message, caller


def test_a_user_with_a_resource_policy_is_simulated_as_itself(iam, name):
    """A user as PolicySourceArn needs no CallerArn: "it defaults to the ARN of the user that you specify
    in PolicySourceArn". Same account: the resource policy's allow suffices; its deny decides."""
    user = iam.create_user(UserName=name)["User"]["Arn"]
    grant = doc(allow("secretsmanager:GetSecretValue", SECRET, Sid="LetTheUserRead", Principal={"AWS": user}))
    (result,) = iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["secretsmanager:GetSecretValue"],
                                              ResourceArns=[SECRET], ResourcePolicy=grant)["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in result["MatchedStatements"]] == \
        [("ResourcePolicy", "resource")]
    refuse = doc(deny("secretsmanager:GetSecretValue", SECRET, Principal="*",
                      Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-0123456789abcdef0"}}))
    (result,) = iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["secretsmanager:GetSecretValue"],
                                              ResourceArns=[SECRET], ResourcePolicy=refuse,
                                              PolicyInputList=[doc(allow("secretsmanager:*"))])["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny" and result["MissingContextValues"] == ["aws:SourceVpce"]


def test_a_role_simulated_as_a_caller_user_across_accounts_details_each_kind_of_policy(iam, name):
    """With a CallerArn "you simulate calling the API operations as Bob, as if Bob had David's
    policies"; across accounts EvalDecisionDetails has "a brief summary of how each policy type
    contributes", and both sides must allow."""
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    caller = iam.create_user(UserName=name)["User"]["Arn"]
    foreign = SECRET.replace(ACCOUNT, OTHER_ACCOUNT)
    (result,) = iam.simulate_principal_policy(
        PolicySourceArn=arn, CallerArn=caller, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[foreign],
        ResourcePolicy=doc(allow("secretsmanager:GetSecretValue", Principal={"AWS": caller})))["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    assert result["EvalDecisionDetails"] == {"identity-based policy": "allowed", "resource-based policy": "allowed"}
    (result,) = iam.simulate_principal_policy(
        PolicySourceArn=arn, CallerArn=caller, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[foreign],
        ResourcePolicy=doc(allow("secretsmanager:GetSecretValue", Principal={"AWS": arn})))["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["EvalDecisionDetails"]["resource-based policy"] == "implicitDeny"


# --- what does not exist, what is not valid ----------------------------------------------------------------------

def test_a_policy_source_that_does_not_exist_is_no_such_entity(iam):
    """PolicySourceArn: "a user, group, or role": one that does not exist is NoSuchEntity (HTTP 404)."""
    for kind in ("role", "user", "group"):
        code, message, status = error(lambda: iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:{kind}/nobody-here", ActionNames=["s3:GetObject"],
            ResourceArns=["arn:aws:s3:::bucket/key"]))
        assert (code, status) == ("NoSuchEntity", 404)
        assert message == f"The {kind} with name nobody-here cannot be found."
    code, _, status = error(lambda: iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:policy/not-an-entity", ActionNames=["s3:GetObject"]))
    assert (code, status) == ("InvalidInput", 400)


def test_required_parameters_and_max_items_are_the_input_shapes_constraints(unchecked, iam, name):
    """The input shape: PolicySourceArn and ActionNames required, MaxItems 1..1000 — AWS's
    ValidationError (HTTP 400, CommonErrors)."""
    arn = role(iam, name)
    code, message, status = error(lambda: unchecked.simulate_principal_policy(PolicySourceArn=arn))
    assert (code, status) == ("ValidationError", 400)
    assert message == ("1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: "
                       "Member must not be null")
    code, message, _ = error(lambda: unchecked.simulate_custom_policy(ActionNames=["s3:GetObject"]))
    assert code == "ValidationError" and "'policyInputList'" in message
    for items, bound in ((0, "greater than or equal to 1"), (1001, "less than or equal to 1000")):
        code, message, status = error(lambda: unchecked.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=["s3:GetObject"], MaxItems=items))
        assert (code, status) == ("ValidationError", 400) and bound in message, message
    code, message, _ = error(lambda: unchecked.simulate_principal_policy(PolicySourceArn=arn,
                                                                         ActionNames=["GetObject"]))
    assert code == "InvalidInput" and "service identifier" in message


def test_a_decision_the_evaluator_cannot_give_is_a_policy_evaluation_error(unchecked, iam, name):
    """"PolicyEvaluation: The request failed because a provided policy could not be successfully
    evaluated" (HTTP 500), with the reason — never a made-up decision: the default resource "*", and a
    condition on a key the evaluator does not know for the action."""
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    code, message, status = error(lambda: unchecked.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"]))
    assert (code, status) == ("PolicyEvaluation", 500) and "wildcard" in message
    other = role(iam, f"{name}-via", doc(allow("secretsmanager:GetSecretValue",
                                               Condition={"StringEquals": {"kms:ViaService": VIA}})))
    code, message, status = error(lambda: unchecked.simulate_principal_policy(
        PolicySourceArn=other, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET],
        ContextEntries=[{"ContextKeyName": "kms:ViaService", "ContextKeyValues": [VIA], "ContextKeyType": "string"}]))
    assert (code, status) == ("PolicyEvaluation", 500) and "kms:ViaService" in message


# --- paging -------------------------------------------------------------------------------------------------------

def test_max_items_pages_the_results_and_the_paginator_collects_them(iam, name):
    """"If additional items exist beyond the maximum you specify, the IsTruncated response element is
    true"; "Set it to the value of the Marker element in the response"."""
    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    actions = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue"]
    pages, marker = [], None
    while True:
        page = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions, ResourceArns=[SECRET],
                                             MaxItems=1, **({"Marker": marker} if marker else {}))
        pages.append(page)
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert len(pages) == 3 and [p["IsTruncated"] for p in pages] == [True, True, False]
    assert "Marker" not in pages[-1]
    assert [r["EvalActionName"] for p in pages for r in p["EvaluationResults"]] == actions
    collected = [r for p in iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=arn, ActionNames=actions, ResourceArns=[SECRET], PaginationConfig={"PageSize": 1})
        for r in p["EvaluationResults"]]
    assert [(r["EvalActionName"], r["EvalDecision"]) for r in collected] == \
        [(actions[0], "allowed"), (actions[1], "implicitDeny"), (actions[2], "implicitDeny")]
    code, _, status = error(lambda: iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=actions,
                                                                  ResourceArns=[SECRET], Marker="not-a-marker"))
    assert (code, status) == ("InvalidInput", 400)


# --- SimulateCustomPolicy -----------------------------------------------------------------------------------------

def test_simulate_custom_policy(iam, name):
    policy = doc(allow("secretsmanager:GetSecretValue", SECRET), deny("secretsmanager:DeleteSecret"))
    answer = iam.simulate_custom_policy(
        PolicyInputList=[policy], ResourceArns=[SECRET],
        ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue"])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "allowed",
                                 "secretsmanager:DeleteSecret": "explicitDeny",
                                 "secretsmanager:PutSecretValue": "implicitDeny"}
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in answer["EvaluationResults"][1]["MatchedStatements"]] \
        == [("PolicyInputList.1", "none")]
    collected = [r for p in iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[policy], ResourceArns=[SECRET], ActionNames=["secretsmanager:GetSecretValue"] * 3,
        PaginationConfig={"PageSize": 2}) for r in p["EvaluationResults"]]
    assert len(collected) == 3
    # The boundary caps the custom policy too.
    (result,) = iam.simulate_custom_policy(
        PolicyInputList=[policy], ResourceArns=[SECRET], ActionNames=["secretsmanager:GetSecretValue"],
        PermissionsBoundaryPolicyInputList=[doc(allow("kms:*"))])["EvaluationResults"]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulate_custom_policys_own_rules(iam, name):
    """SimulateCustomPolicy: "CallerArn is required if you include a ResourcePolicy"; "This operation
    does not support using wildcards (*) in an action name"; the ResourcePolicy "must be applicable to
    all of the resources included in the simulation or you receive an invalid input error"; "You can
    input only one permissions boundary"."""
    policy = doc(allow("secretsmanager:*"))
    user = iam.create_user(UserName=name)["User"]["Arn"]
    resource_policy = doc(allow("secretsmanager:GetSecretValue", SECRET, Principal={"AWS": user}))
    for kwargs, words in (
            ({"ResourcePolicy": resource_policy}, "CallerArn is required if you include a ResourcePolicy"),
            ({"ActionNames": ["secretsmanager:Get*"]}, "wildcards"),
            ({"ResourcePolicy": resource_policy, "CallerArn": user,
              "ResourceArns": [SECRET, SECRET.replace("PINECONE", "OTHER")]}, "applicable to all of the resources"),
            ({"PermissionsBoundaryPolicyInputList": [policy, policy]}, "only one permissions boundary"),
            ({"PolicyInputList": ["{not json"]}, "not valid JSON")):
        call = {"PolicyInputList": [policy], "ActionNames": ["secretsmanager:GetSecretValue"], "ResourceArns": [SECRET],
                **kwargs}
        code, message, status = error(lambda: iam.simulate_custom_policy(**call))
        assert (code, status) == ("InvalidInput", 400) and words in message, (kwargs, message)
    (result,) = iam.simulate_custom_policy(
        PolicyInputList=[doc(allow("s3:*"))], ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET],
        ResourcePolicy=resource_policy, CallerArn=user)["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"


# --- who may ask, and without the evaluator -------------------------------------------------------------------

def test_the_caller_needs_iam_simulate_principal_policy(env, iam, name):
    """The simulator is an IAM action like any other: a user without iam:SimulatePrincipalPolicy is
    AccessDenied (HTTP 403); with it, answered."""
    arn = role(iam, name)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = boto3.client("iam", endpoint_url=env["AWS_ENDPOINT_URL"], region_name=REGION,
                          aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    code, message, status = error(lambda: client.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"], ResourceArns=[SECRET]))
    assert (code, status) == ("AccessDenied", 403)
    assert f"is not authorized to perform: iam:SimulatePrincipalPolicy on resource: {arn}" in message
    iam.put_user_policy(UserName=name, PolicyName="simulate", PolicyDocument=doc(allow("iam:SimulatePrincipalPolicy")))
    answer = client.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"],
                                              ResourceArns=[SECRET])
    assert decisions(answer) == {"secretsmanager:GetSecretValue": "implicitDeny"}


def test_without_the_evaluator_the_simulator_is_not_implemented(env, iam, name, monkeypatch):
    """Policies not evaluated: HTTP 501 NotImplemented, as AWS answers what it does not offer — never a
    made-up verdict; byoc then says the endpoint does not implement it."""
    from cli.observers.verdicts import NotChecked, ask

    arn = role(iam, name, doc(allow("secretsmanager:GetSecretValue")))
    monkeypatch.setitem(authorizer._state, "evaluator", None)

    def call():
        return iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["secretsmanager:GetSecretValue"],
                                             ResourceArns=[SECRET])

    code, _, status = error(call)
    assert (code, status) == ("NotImplemented", 501)
    with pytest.raises(NotChecked, match="does not implement iam:SimulatePrincipalPolicy"):
        ask(call, "iam:SimulatePrincipalPolicy", env["AWS_ENDPOINT_URL"])
    assert iam.get_role(RoleName=name)["Role"]["Arn"] == arn  # every other IAM request is moto's


# --- byoc's verdicts, from both sources ------------------------------------------------------------------------------

def test_judge_readers_has_verdicts_from_aws_simulator_and_the_independent_evaluator(env, name, monkeypatch):
    """cli/observers/verdicts.judge_readers against the emulator: the execution and task roles granted the
    read as the stack grants it (PineconeSecret.grant_read), a secret with the stack's locked policy, a
    key whose policy delegates to the account root, a Secrets Manager endpoint. Both sources answer, every
    verdict is the expected one, and each line names its source."""
    from cli.core.evaluator import EVALUATOR as EVALUATOR_SOURCE
    from cli.observers.verdicts import SIMULATOR, judge_readers

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    iam, sm, kms, ec2 = (aws(env, s) for s in ("iam", "secretsmanager", "kms", "ec2"))
    key = kms.create_key(Description=name)["KeyMetadata"]["Arn"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=doc(
        {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": key}))
    secret = sm.create_secret(Name=f"{name}/PINECONE_API_KEY", KmsKeyId=key)["ARN"]
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.secretsmanager",
                                   VpcEndpointType="Interface")["VpcEndpoint"]["VpcEndpointId"]
    read = managed(iam, f"{name}-secret-read", doc(
        {"Sid": "ReadPineconeSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret},
        {"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key,
         "Condition": {"StringEquals": {"kms:ViaService": VIA}}}))
    execution = role(iam, f"{name}-execution", managed=[read])
    task = role(iam, f"{name}-task", managed=[read])
    sm.put_resource_policy(SecretId=secret, ResourcePolicy=doc(
        {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*",
         "Action": "secretsmanager:GetSecretValue", "Resource": secret,
         "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}},
        {"Sid": "DenyReadToUnlistedPrincipals", "Effect": "Deny", "Principal": "*",
         "Action": "secretsmanager:GetSecretValue", "Resource": secret,
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [execution, task]}}}))
    outputs = {"byoc_secret_arn": secret, "kms_key_arn": key, "secretsmanager_vpce_id": vpce, "vpc_id": vpc}

    judgement = judge_readers(AwsTarget(REGION, env["AWS_ENDPOINT_URL"]), outputs, [execution, task])
    assert judgement.not_checked == [] and judgement.unknown == [], judgement
    assert judgement.wrong == [], [v.line() for v in judgement.wrong]
    assert {v.source for v in judgement.verdicts} == {SIMULATOR, EVALUATOR_SOURCE}
    by_source = {s: [v for v in judgement.verdicts if v.source == s] for s in (SIMULATOR, EVALUATOR_SOURCE)}
    assert len(by_source[SIMULATOR]) == 4 and len(by_source[EVALUATOR_SOURCE]) == 8
    for verdict in judgement.verdicts:
        assert verdict.line().endswith(f"[{verdict.source}]"), verdict.line()
    assert {v.decision for v in by_source[SIMULATOR]} == {"allowed"}
    # AWS's simulator names the policy that allowed (API_Statement: SourcePolicyId, SourcePolicyType).
    assert all(f"allowed by user-managed policy {name}-secret-read" in v.line() for v in by_source[SIMULATOR])
