"""Policies validated before apply (cli/actions/policy_check.py, cli/observers/validation.py).

A partial stack — a secret, a key and their policies, nothing else — planned for real by
terraform against a moto server on 127.0.0.1 whose validators the independent evaluator answers
(gaps 10 and 12): the documents are read from ``terraform show -json`` of the saved plan, and a
public grant or a lock-out stops the command before apply, with nothing created. What deploy and
lockdown printed of it on the session's shared deployment is read last (that deployment only
read).
"""

from __future__ import annotations

import json
import pytest

from cli.actions.policy_check import plan_validated
from cli.core.config import Project
from cli.core.errors import ByocError
from cli.core.session import Session
from cli.core.terraform import Terraform
from tfrun import aws

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]

PUBLIC_READ = {"Sid": "EveryoneReads", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
               "Resource": "*"}
LOCKS_OUT = {"Sid": "NobodyChangesThis", "Effect": "Deny", "Principal": "*", "Action": "secretsmanager:PutResourcePolicy",
             "Resource": "*"}
DENY_OUTSIDE = {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*",
                "Action": "secretsmanager:GetSecretValue", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}}}
KEY_OF_THE_ACCOUNT = {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
                      "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}
KEY_FOR_ANYONE = {"Sid": "AnyoneDecrypts", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                  "Resource": "*"}


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _stack(secret_policy: dict | str, key_policy: dict) -> dict:
    """A secret and a key with their policies; a document given as a string is written as is (an
    expression: known only during apply when it names what the apply creates)."""
    return {
        "variable": {"aws_region": {"type": "string"}},
        "provider": {"aws": [{"region": "${var.aws_region}"}]},
        "resource": {
            "aws_secretsmanager_secret": {"s": {"name": "partial/PINECONE_API_KEY", "recovery_window_in_days": 0}},
            "aws_secretsmanager_secret_policy": {"s": {
                "secret_arn": "${aws_secretsmanager_secret.s.arn}",
                "policy": secret_policy if isinstance(secret_policy, str) else json.dumps(secret_policy)}},
            "aws_kms_key": {"k": {"description": "partial"}},
            "aws_kms_key_policy": {"k": {"key_id": "${aws_kms_key.k.key_id}", "policy": json.dumps(key_policy)}},
        },
    }


@pytest.fixture(scope="module")
def partial(tmp_path_factory, aws_env_module):
    """A project whose stack folder holds the partial stack, initialized once; returns a function
    that writes a variant of it and runs ``plan_validated`` on it."""
    root = tmp_path_factory.mktemp("partial")
    project = Project(root)
    project.stack_dir.mkdir(parents=True)
    session = Session(project, endpoint_url=aws_env_module["AWS_ENDPOINT_URL"], command="deploy")
    tf = Terraform(project.stack_dir, session.target("us-east-1").terraform_env(), log_path=project.log_file("deploy"))
    (project.stack_dir / "main.tf.json").write_text(json.dumps(_stack(_policy(DENY_OUTSIDE), _policy(KEY_OF_THE_ACCOUNT))))
    tf.init(None)

    def plan(secret_policy, key_policy):
        (project.stack_dir / "main.tf.json").write_text(json.dumps(_stack(secret_policy, key_policy)))
        return plan_validated(session, tf, {"aws_region": "us-east-1"})

    plan.project = project
    return plan


def _nothing_created(env) -> bool:
    return aws(env, "secretsmanager").list_secrets()["SecretList"] == [] and \
        aws(env, "kms").list_keys()["Keys"] == []


@pytest.mark.parametrize("secret_policy, key_policy, words", [
    (_policy(PUBLIC_READ), _policy(KEY_OF_THE_ACCOUNT), "the secret policy: IAM Access Analyzer CheckNoPublicAccess"),
    (_policy(LOCKS_OUT), _policy(KEY_OF_THE_ACCOUNT), "EVALUATOR_LOCKOUT: the policy denies the caller "
                                                      "secretsmanager:PutResourcePolicy"),
    (_policy(DENY_OUTSIDE), _policy(KEY_FOR_ANYONE), "the key policy: IAM Access Analyzer CheckNoPublicAccess"),
], ids=["public secret policy", "lock-out", "public key policy"])
def test_a_planned_policy_that_validation_refuses_stops_before_apply(partial, aws_env_module, capsys, secret_policy,
                                                                       key_policy, words):
    with pytest.raises(ByocError) as stopped:
        partial(secret_policy, key_policy)
    label = words.split(":")[0] if words.startswith("the ") else "the secret policy"
    assert str(stopped.value).startswith(f"nothing was applied: {label}: "), stopped.value
    said = capsys.readouterr().err.splitlines()
    assert any(line.startswith("  STOP: ") and words in line for line in said), said
    assert not (partial.project.state_dir / "byoc.tfplan").exists()  # the plan cannot be applied by mistake
    assert _nothing_created(aws_env_module)


def test_planned_policies_that_pass_are_said_and_the_plan_is_kept_for_apply(partial, aws_env_module, capsys):
    summary, plan_file = partial(_policy(DENY_OUTSIDE), _policy(KEY_OF_THE_ACCOUNT))
    try:
        assert summary.add == 4 and plan_file.exists()
        said = capsys.readouterr().err
        assert "Policies validated before apply (" in said
        assert "aws_kms_key_policy.k" in said.splitlines()[0] and "aws_secretsmanager_secret_policy.s" in said.splitlines()[0]
        for passed in ("the secret policy: Secrets Manager ValidateResourcePolicy",
                       "the secret policy: IAM Access Analyzer ValidatePolicy",
                       "the secret policy: IAM Access Analyzer CheckNoPublicAccess",
                       "the key policy: IAM Access Analyzer CheckNoPublicAccess"):
            assert f"  passed: {passed} (the emulator: " in said, said
    finally:
        plan_file.unlink(missing_ok=True)
    assert _nothing_created(aws_env_module)


def test_a_policy_known_only_during_apply_is_said_not_checked_and_not_stopped(partial, capsys):
    naming_the_secret = json.dumps(_policy({**PUBLIC_READ, "Resource": "ARN"})).replace(
        '"ARN"', '"${aws_secretsmanager_secret.s.arn}"')
    summary, plan_file = partial(naming_the_secret, _policy(KEY_OF_THE_ACCOUNT))
    plan_file.unlink(missing_ok=True)
    said = capsys.readouterr().err
    assert ("not checked: the secret policy (aws_secretsmanager_secret_policy.s) is known only during apply "
            "(it names what this apply creates); `byoc doctor` validates it once applied") in said
    assert "STOP" not in said


# --- what deploy and lockdown said of it on the shared deployment (read only) -----------------------

@pytest.mark.xdist_group("deployed_stack")
def test_deploy_and_lockdown_say_what_they_validated_before_apply(deployed_stack):
    first_deploy = deployed_stack.steps["deploy"].output
    assert "Policies validated before apply (" in first_deploy
    # The first deploy's secret policy names the secret it creates: said so, never passed.
    assert "not checked: the secret policy (aws_secretsmanager_secret_policy.pinecone_policy) is known only " \
           "during apply" in first_deploy
    lockdown = deployed_stack.steps["lockdown"].output
    assert "Policies validated before apply (aws_secretsmanager_secret_policy.pinecone_policy):" in lockdown
    assert "  passed: the secret policy: Secrets Manager ValidateResourcePolicy (the emulator: " in lockdown
    assert "STOP" not in lockdown
