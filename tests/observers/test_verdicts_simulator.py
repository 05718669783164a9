"""byoc's side of IAM's policy simulator (cli/observers/verdicts.py), with botocore's Stubber: no
network. The request byoc sends is one AWS accepts, every page is read, and each of AWS's documented
answers is reported as what it is.

AWS's rules quoted from the IAM API Reference, SimulatePrincipalPolicy
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html):
"CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for an
IAM user"; CallerArn "You can specify only the ARN of an IAM user"; errors InvalidInput (400),
NoSuchEntity (404), PolicyEvaluation (500); "Common Errors": AccessDenied, NotImplemented (501).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from cli.core.aws import aws_error
from cli.observers import verdicts
from cli.observers.verdicts import ALLOWED, DENIED, SIMULATOR, UNKNOWN, Documents, NotChecked, simulator_verdicts

ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app-execution-role"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:app/PINECONE_API_KEY-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VPCE = "vpce-0123456789abcdef0"
DOCS = Documents(ACCOUNT, REGION, SECRET, KEY, VPCE, "vpc-0123", None, None, None)
#: byoc's two questions per reader, exactly as AWS must receive them.
READ = {"PolicySourceArn": ROLE, "ActionNames": ["secretsmanager:GetSecretValue"], "ResourceArns": [SECRET],
        "ContextEntries": [{"ContextKeyName": "aws:SourceVpce", "ContextKeyValues": [VPCE],
                            "ContextKeyType": "string"}]}
DECRYPT = {"PolicySourceArn": ROLE, "ActionNames": ["kms:Decrypt"], "ResourceArns": [KEY],
           "ContextEntries": [{"ContextKeyName": "kms:ViaService",
                               "ContextKeyValues": [f"secretsmanager.{REGION}.amazonaws.com"],
                               "ContextKeyType": "string"}]}


class Target:
    """What simulator_verdicts needs of an AwsTarget: one IAM client (stubbed) and the endpoint."""

    endpoint_url = "https://iam.amazonaws.com"
    region = REGION

    def __init__(self) -> None:
        self.iam = boto3.client("iam", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stub = Stubber(self.iam)

    def client(self, service: str, *, attempts: int | None = None):
        assert service == "iam" and attempts == 1  # an error is an answer: never retried
        return self.iam


def result(action: str, resource: str, decision: str = "allowed", **extra) -> dict:
    matched = [] if decision == "implicitDeny" else [{"SourcePolicyId": "app-secret-read",
                                                      "SourcePolicyType": "user-managed"}]
    return {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision,
            "MatchedStatements": matched, "MissingContextValues": [], **extra}


@pytest.fixture
def target() -> Target:
    return Target()


def test_the_request_is_one_aws_accepts_and_every_page_is_read(target):
    """No ResourcePolicy and no CallerArn (a role cannot be simulated with a resource policy without a
    user as caller), the role as PolicySourceArn, context entries typed string; a first page
    truncated (IsTruncated, Marker) and the next one asked with that Marker."""
    stub = target.stub
    for params, action, resource in ((READ, "secretsmanager:GetSecretValue", SECRET), (DECRYPT, "kms:Decrypt", KEY)):
        assert "ResourcePolicy" not in params and "CallerArn" not in params
        assert params["PolicySourceArn"].split(":")[5].startswith("role/")
        assert {e["ContextKeyType"] for e in params["ContextEntries"]} == {"string"}
        stub.add_response("simulate_principal_policy", {"EvaluationResults": [result(action, resource)],
                                                        "IsTruncated": True, "Marker": "page-2"}, params)
        stub.add_response("simulate_principal_policy", {"EvaluationResults": [result(action, resource)],
                                                        "IsTruncated": False}, {**params, "Marker": "page-2"})
    with stub:
        found = simulator_verdicts(target, DOCS, [ROLE])
        stub.assert_no_pending_responses()
    assert [(v.question, v.decision, v.expected, v.source) for v in found] == [
        ("identity policies allow GetSecretValue on the secret", ALLOWED, ALLOWED, SIMULATOR),
        ("identity policies allow kms:Decrypt via Secrets Manager", ALLOWED, ALLOWED, SIMULATOR)]
    assert found[0].line() == ("app-execution-role identity policies allow GetSecretValue on the secret: allowed "
                               "(allowed by user-managed policy app-secret-read) [AWS IAM policy simulator (identity "
                               "policies)]")


def test_a_denial_on_a_later_page_denies(target):
    """Every page counts: one result that is not "allowed" makes the verdict "denied", with what AWS said."""
    stub = target.stub
    first = {"EvaluationResults": [result("secretsmanager:GetSecretValue", SECRET)], "IsTruncated": True, "Marker": "m"}
    stub.add_response("simulate_principal_policy", first, READ)
    stub.add_response("simulate_principal_policy", {
        "EvaluationResults": [result("secretsmanager:GetSecretValue", SECRET, "implicitDeny",
                                     MissingContextValues=["aws:SourceVpc"])], "IsTruncated": False},
        {**READ, "Marker": "m"})
    stub.add_response("simulate_principal_policy", {"EvaluationResults": [result("kms:Decrypt", KEY)],
                                                    "IsTruncated": False}, DECRYPT)
    with stub:
        read, decrypt = simulator_verdicts(target, DOCS, [ROLE])
    assert (read.decision, read.ok, decrypt.decision) == (DENIED, False, ALLOWED)
    assert "(allowed by user-managed policy app-secret-read)" in read.line()
    assert read.why == "allowed; implicitDeny, missing context values aws:SourceVpc"


def test_invalid_input_is_reported_as_what_aws_said(target):
    """InvalidInput (HTTP 400) is AWS's word on byoc's request: raised, and said as AWS said it."""
    message = ("CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for an "
               "IAM user")
    target.stub.add_client_error("simulate_principal_policy", "InvalidInput", message, 400, expected_params=READ)
    with target.stub, pytest.raises(ClientError) as caught:
        simulator_verdicts(target, DOCS, [ROLE])
    assert str(aws_error(caught.value, "asking for the policy verdicts")) == \
        f"asking for the policy verdicts: AWS said InvalidInput: {message}"


def test_a_role_that_does_not_exist_is_said_as_such(target):
    """NoSuchEntity (HTTP 404): the role does not exist — a verdict that says so (the reader cannot
    read), never "does not implement", and never an error that hides the other readers' verdicts."""
    message = "The role with name app-execution-role cannot be found."
    target.stub.add_client_error("simulate_principal_policy", "NoSuchEntity", message, 404, expected_params=READ)
    with target.stub:
        (verdict,) = simulator_verdicts(target, DOCS, [ROLE])
    assert (verdict.question, verdict.decision, verdict.expected) == ("exists", "denied", "allowed")
    assert "IAM answers NoSuchEntity: no such principal in this account" in verdict.line()
    assert "does not implement" not in verdict.line()


def test_not_implemented_is_not_checked_does_not_implement(target):
    target.stub.add_client_error("simulate_principal_policy", "NotImplemented", "not here", 501, expected_params=READ)
    with target.stub, pytest.raises(NotChecked, match="^https://iam.amazonaws.com does not implement "
                                                      "iam:SimulatePrincipalPolicy$"):
        simulator_verdicts(target, DOCS, [ROLE])


def test_access_denied_is_not_checked_may_not_call(target):
    message = (f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: iam:SimulatePrincipalPolicy on "
               f"resource: {ROLE}")
    target.stub.add_client_error("simulate_principal_policy", "AccessDenied", message, 403, expected_params=READ)
    with target.stub, pytest.raises(NotChecked, match="may not call iam:SimulatePrincipalPolicy") as caught:
        simulator_verdicts(target, DOCS, [ROLE])
    assert "does not implement" not in str(caught.value)


def test_a_policy_aws_cannot_evaluate_is_not_evaluated_with_what_aws_said(target):
    """PolicyEvaluation (HTTP 500): "a provided policy could not be successfully evaluated" — no
    verdict, never an allow or a deny."""
    target.stub.add_client_error("simulate_principal_policy", "PolicyEvaluation", "the policy could not be evaluated",
                                 500, expected_params=READ)
    target.stub.add_response("simulate_principal_policy", {"EvaluationResults": [result("kms:Decrypt", KEY)],
                                                           "IsTruncated": False}, DECRYPT)
    with target.stub:
        read, decrypt = simulator_verdicts(target, DOCS, [ROLE])
    assert (read.decision, read.ok) == (UNKNOWN, None)
    assert read.line().endswith("not evaluated (AWS said PolicyEvaluation: the policy could not be evaluated) "
                                f"[{SIMULATOR}]")
    assert decrypt.decision == ALLOWED


def test_judge_readers_keeps_what_could_not_be_asked_apart(monkeypatch):
    """judge_readers: a source that cannot be asked is listed in not_checked, by name, the other's
    verdicts kept."""
    def not_offered(target, docs, readers):
        raise NotChecked("http://127.0.0.1:5000 does not implement iam:SimulatePrincipalPolicy")

    monkeypatch.setattr(verdicts, "read_documents", lambda target, outputs: DOCS)
    monkeypatch.setattr(verdicts, "simulator_verdicts", not_offered)
    kept = verdicts.Verdict(ROLE, "q", ALLOWED, ALLOWED, "the evaluator")
    monkeypatch.setattr(verdicts, "evaluator_verdicts", lambda target, docs, readers: [kept])
    judgement = verdicts.judge_readers(None, {}, [ROLE])
    assert judgement.verdicts == [kept]
    assert judgement.not_checked == ["AWS's IAM policy simulator: http://127.0.0.1:5000 does not implement "
                                     "iam:SimulatePrincipalPolicy"]
