"""The independent policy evaluator (cli/core/evaluator): @cloud-copilot/iam-simulate, for real.

Every verdict here comes from the real evaluator in a resident Node process, installed once per
session by ``ensure()`` into a cache under pytest's tmp dir (or taken from ``$BYOC_EVALUATOR_DIR``).
A missing evaluator or a failed install fails the tests; nothing here skips.

Expected verdicts are AWS's, from its documentation:
- IAM User Guide, "Policy evaluation logic"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
  an explicit Deny in any policy wins; otherwise an Allow is needed; otherwise implicitly denied.
  Within one account an Allow in the identity policy OR the resource policy is enough.
- IAM User Guide, "Cross-account policy evaluation logic"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
  a principal of another account needs an Allow in its identity policy AND in the resource policy.
- AWS KMS Developer Guide, "Key policies in AWS KMS"
  (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): "Unless the key policy
  explicitly allows it, you cannot use IAM policies to allow access to a KMS key"; the default key
  policy's statement for ``arn:aws:iam::ACCT:root`` is what lets IAM policies of the account grant
  use of the key.
- IAM User Guide, "AWS global condition context keys", aws:PrincipalArn
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn):
  for a role session it is the role's ARN.

The documents are the shapes this stack writes (constructs_lib/secrets.py, constructs_lib/kms.py).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import tomllib
from pathlib import Path

import pytest

from cli.core import evaluator as ev
from cli.core.evaluator import (EVALUATOR, Decision, Evaluator, EvaluatorUnavailable, PolicyRequest, ensure, install,
                                locate)

REPO = Path(__file__).resolve().parents[2]
ACCOUNT, OTHER_ACCOUNT = "111111111111", "222222222222"
REGION = "us-east-1"
APP = "byoc-agents"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{APP}/pinecone-api-key-AbCdEf"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VPCE = "vpce-0123456789abcdef0"
OTHER_VPCE = "vpce-0a0a0a0a0a0a0a0a0"
TASK_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-task"
EXECUTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-execution"
UNLISTED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{APP}-someone-else"
FOREIGN_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/admin"
READ = "secretsmanager:GetSecretValue"
VIA_SECRETS_MANAGER = {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def secret_policy(readers: list[str]) -> dict:
    """The stack's locked secret policy (constructs_lib/secrets.py): reads only through the
    endpoint, and only by the listed principals."""
    return doc(
        {"Sid": "DenyReadOutsideVpcEndpoint", "Effect": "Deny", "Principal": "*", "Action": READ,
         "Resource": SECRET, "Condition": {"StringNotEquals": {"aws:SourceVpce": VPCE}}},
        {"Sid": "DenyReadToUnlistedPrincipals", "Effect": "Deny", "Principal": "*", "Action": READ,
         "Resource": SECRET, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers}}},
    )


#: The stack's grant (constructs_lib/secrets.py grant_read), attached to every reader role.
SECRET_READ = (f"{APP}-secret-read", doc(
    {"Sid": "ReadPineconeSecret", "Effect": "Allow", "Action": READ, "Resource": SECRET},
    {"Sid": "DecryptThroughSecretsManager", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY,
     "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}},
))

#: The key policy's first statement (constructs_lib/kms.py): the account administers the key
#: through IAM — AWS's default key policy statement that "enables IAM policies".
ROOT_DELEGATION = {"Sid": "AccountAdministersKeyThroughIam", "Effect": "Allow",
                   "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": KEY}
#: The stack's key policy: root delegation + CloudWatch Logs pinned by encryption context.
KEY_POLICY = doc(ROOT_DELEGATION, {
    "Sid": "CloudWatchLogsEncryptsThisStacksLogGroups", "Effect": "Allow",
    "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
    "Resource": KEY,
    "Condition": {"StringEquals": {"kms:EncryptionContext:aws:logs:arn": [
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/{APP}"]}}})


def read_secret(principal: str, *, readers=(TASK_ROLE, EXECUTION_ROLE), vpce: str | None = VPCE,
                identity=(SECRET_READ,), **kw) -> PolicyRequest:
    context = {"aws:SourceVpce": vpce} if vpce else {}
    return PolicyRequest(principal, READ, SECRET, ACCOUNT, context={**context, **kw.pop("context", {})},
                         identity_policies=identity, resource_policy=secret_policy(list(readers)), **kw)


def decrypt(principal: str, *, key_policy=KEY_POLICY, context=VIA_SECRETS_MANAGER, identity=(SECRET_READ,)):
    return PolicyRequest(principal, "kms:Decrypt", KEY, ACCOUNT, context=context, identity_policies=identity,
                         resource_policy=key_policy)


# --- fixtures: one install per session, one evaluator process per module ------------------------------

@pytest.fixture(scope="session")
def evaluator_folder(tmp_path_factory) -> Path:
    """The evaluator, installed from byoc's lockfile into a cache under pytest's tmp dir (or
    $BYOC_EVALUATOR_DIR). Failing to install fails: never a skip."""
    with pytest.MonkeyPatch.context() as mp:
        if not os.environ.get(ev.ENV_DIR):
            mp.setenv("BYOC_CACHE_DIR", str(tmp_path_factory.mktemp("byoc-cache")))
        try:
            yield ensure(say=lambda line: print(line, file=sys.stderr))
        except EvaluatorUnavailable as exc:
            pytest.fail(f"the policy evaluator could not be installed: {exc}")


@pytest.fixture(scope="module")
def evaluator(evaluator_folder):
    with Evaluator(evaluator_folder) as e:
        yield e


def test_evaluator_is_the_pinned_package(evaluator):
    assert EVALUATOR == "@cloud-copilot/iam-simulate 0.1.173 (AGPL-3.0-or-later)"
    assert json.loads((evaluator.folder / "node_modules/@cloud-copilot/iam-simulate/package.json").read_text())[
        "version"] == "0.1.173"


# --- "Policy evaluation logic": same account ---------------------------------------------------------

def test_identity_allow_without_resource_policy_is_allowed(evaluator):
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, READ, SECRET, ACCOUNT, identity_policies=[SECRET_READ]))
    assert d.result == "Allowed" and d.allowed
    assert d.decided_by == (f"identity policy {APP}-secret-read: ReadPineconeSecret",)
    assert EVALUATOR in d.reason


def test_no_policy_at_all_is_implicitly_denied(evaluator):
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, READ, SECRET, ACCOUNT))
    assert d.result == "ImplicitlyDenied" and not d.allowed
    assert d.decided_by  # names what did not allow it


def test_identity_deny_overrides_identity_allow(evaluator):
    deny = ("deny-secrets", doc({"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}))
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, READ, SECRET, ACCOUNT, identity_policies=[SECRET_READ, deny]))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("identity policy deny-secrets: statement 1",)  # no Sid: the 1-based index


# --- the stack's secret policy ---------------------------------------------------------------------------

def test_listed_role_through_the_endpoint_is_allowed(evaluator):
    d = evaluator.evaluate(read_secret(TASK_ROLE))
    assert d.result == "Allowed", d.reason


def test_listed_role_outside_the_endpoint_is_denied_by_the_vpce_statement(evaluator):
    # No aws:SourceVpce in the request: StringNotEquals on a missing key is true (IAM User Guide,
    # "Condition operators": a negated operator matches when the key is absent), so the Deny applies.
    d = evaluator.evaluate(read_secret(TASK_ROLE, vpce=None))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("resource policy: DenyReadOutsideVpcEndpoint",)


def test_listed_role_through_another_endpoint_is_denied_by_the_vpce_statement(evaluator):
    d = evaluator.evaluate(read_secret(TASK_ROLE, vpce=OTHER_VPCE))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("resource policy: DenyReadOutsideVpcEndpoint",)


def test_unlisted_role_of_the_account_is_denied_by_the_readers_statement(evaluator):
    d = evaluator.evaluate(read_secret(UNLISTED_ROLE))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("resource policy: DenyReadToUnlistedPrincipals",)


def test_seed_trap_task_role_only_denies_the_execution_role(evaluator):
    # The seed's step 5 listed only the task role; ECS reads `secrets` with the execution role.
    assert evaluator.evaluate(read_secret(TASK_ROLE, readers=[TASK_ROLE])).result == "Allowed"
    d = evaluator.evaluate(read_secret(EXECUTION_ROLE, readers=[TASK_ROLE]))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("resource policy: DenyReadToUnlistedPrincipals",)


def test_vpc_endpoint_policy_that_does_not_allow_the_read_denies_it(evaluator):
    # PrivateLink guide, "Control access to VPC endpoints using endpoint policies": a request
    # through an endpoint must also be allowed by the endpoint's policy.
    kms_only = ("vpce-kms-only", doc({"Sid": "KmsOnly", "Effect": "Allow", "Principal": "*", "Action": "kms:*",
                                      "Resource": "*"}))
    everything = ("vpce-all", doc({"Sid": "All", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}))
    d = evaluator.evaluate(read_secret(TASK_ROLE, vpc_endpoint_policies=[kms_only]))
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("VPC endpoint policy: no statement allows it",)
    assert evaluator.evaluate(read_secret(TASK_ROLE, vpc_endpoint_policies=[everything])).result == "Allowed"


def test_permission_boundary_that_does_not_allow_the_read_denies_it(evaluator):
    # "Policy evaluation logic": with a permissions boundary, the action must be allowed by both.
    boundary = doc({"Sid": "S3Only", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    d = evaluator.evaluate(read_secret(TASK_ROLE, permission_boundary=boundary))
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("permission boundary: no statement allows it",)


# --- "Cross-account policy evaluation logic" -------------------------------------------------------------

ADMIN = ("admin", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))


def test_role_of_another_account_needs_the_resource_policy_allow(evaluator):
    # Listed and through the endpoint, so neither Deny applies: only the missing Allow decides.
    request = read_secret(FOREIGN_ROLE, readers=[TASK_ROLE, EXECUTION_ROLE, FOREIGN_ROLE], identity=[ADMIN])
    d = evaluator.evaluate(request)
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("resource policy: no statement allows it",)

    policy = copy.deepcopy(request.resource_policy)
    policy["Statement"].append({"Sid": "AllowForeignRead", "Effect": "Allow", "Principal": {"AWS": FOREIGN_ROLE},
                                "Action": READ, "Resource": SECRET})
    d = evaluator.evaluate(PolicyRequest(FOREIGN_ROLE, READ, SECRET, ACCOUNT, context=request.context,
                                         identity_policies=[ADMIN], resource_policy=policy))
    assert d.result == "Allowed"
    assert "resource policy: AllowForeignRead" in d.decided_by and "identity policy admin: statement 1" in d.decided_by


def test_role_of_another_account_without_resource_policy_is_denied(evaluator):
    d = evaluator.evaluate(PolicyRequest(FOREIGN_ROLE, READ, SECRET, ACCOUNT, identity_policies=[ADMIN]))
    assert d.result == "ImplicitlyDenied"
    assert "cross-account" in d.decided_by[0]


# --- KMS "Key policies" ----------------------------------------------------------------------------------

def test_kms_decrypt_through_secrets_manager_with_root_delegation_is_allowed(evaluator):
    d = evaluator.evaluate(decrypt(TASK_ROLE))
    assert d.result == "Allowed", d.reason
    assert f"identity policy {APP}-secret-read: DecryptThroughSecretsManager" in d.decided_by
    assert "resource policy: AccountAdministersKeyThroughIam" in d.decided_by


def test_kms_decrypt_without_via_service_is_implicitly_denied(evaluator):
    # kms:ViaService is in the request only when a service calls KMS for the principal
    # (KMS Developer Guide, "kms:ViaService"): a direct kms:Decrypt misses the identity grant.
    d = evaluator.evaluate(decrypt(TASK_ROLE, context={}))
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("identity policies: no statement allows it",)


def test_kms_key_policy_without_root_delegation_voids_the_identity_grant(evaluator):
    admins_only = doc({"Sid": "KeyAdmins", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
                       "Action": "kms:*", "Resource": KEY})
    d = evaluator.evaluate(decrypt(TASK_ROLE, key_policy=admins_only))
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("resource policy: no statement allows it",)


def test_kms_decrypt_by_a_role_of_another_account_is_denied(evaluator):
    # Root delegation is to this account only; the foreign role's own Allow * is not enough.
    d = evaluator.evaluate(decrypt(FOREIGN_ROLE, identity=[ADMIN]))
    assert d.result == "ImplicitlyDenied"
    assert d.decided_by == ("resource policy: no statement allows it",)


def test_kms_decrypt_without_any_key_policy_is_denied(evaluator):
    d = evaluator.evaluate(decrypt(TASK_ROLE, key_policy=None))
    assert d.result == "ImplicitlyDenied"
    assert "key policy" in d.decided_by[0]


# --- rule 1: aws:PrincipalArn / aws:PrincipalAccount ---------------------------------------------------------

def test_principal_context_of_an_assumed_role_session_is_the_role():
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{APP}-task/8f2c1e0b"
    assert ev.principal_context(session) == {"aws:PrincipalArn": TASK_ROLE, "aws:PrincipalAccount": ACCOUNT}
    assert ev.principal_context(TASK_ROLE) == {"aws:PrincipalArn": TASK_ROLE, "aws:PrincipalAccount": ACCOUNT}
    assert ev.principal_context("ecs-tasks.amazonaws.com") == {}


def test_session_of_a_listed_role_reads_because_principal_arn_is_the_role(evaluator):
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{APP}-task/8f2c1e0b"
    d = evaluator.evaluate(read_secret(session))
    assert d.result == "Allowed", d.reason
    # Were aws:PrincipalArn the session's ARN, ArnNotEquals [role ARNs] would match and deny.
    d = evaluator.evaluate(read_secret(session, context={"aws:PrincipalArn": session}))
    assert d.result == "ExplicitlyDenied"
    assert d.decided_by == ("resource policy: DenyReadToUnlistedPrincipals",)


def test_caller_passed_principal_arn_is_kept(evaluator):
    # Case-insensitive: IAM's condition key names are (IAM User Guide, "Condition element").
    d = evaluator.evaluate(read_secret(TASK_ROLE, context={"AWS:principalarn": UNLISTED_ROLE}))
    assert d.result == "ExplicitlyDenied"
    assert ev.simulation(read_secret(TASK_ROLE, context={"AWS:principalarn": UNLISTED_ROLE}))["request"][
        "contextVariables"].get("aws:PrincipalArn") is None


def test_root_user_as_caller_is_not_evaluated(evaluator):
    d = evaluator.evaluate(PolicyRequest(f"arn:aws:iam::{ACCOUNT}:root", READ, SECRET, ACCOUNT))
    assert d.result == "NotEvaluated" and not d.allowed
    assert "root user" in d.reason


# --- rule 2: context keys the evaluator drops -------------------------------------------------------------

SECRET_ARN_CONTEXT = {**VIA_SECRETS_MANAGER, "kms:EncryptionContext:SecretARN": SECRET}


def test_dropped_context_key_that_a_policy_reads_is_not_evaluated(evaluator):
    # Secrets Manager calls KMS with encryption context {"SecretARN": ...} (Secrets Manager User
    # Guide, "Secret encryption and decryption"); the evaluator drops that key, so a condition on
    # it would be judged on a missing key. Referenced here in another case: still the same key.
    pinned = doc(ROOT_DELEGATION, {"Sid": "DenyOtherSecrets", "Effect": "Deny", "Principal": "*",
                                   "Action": "kms:Decrypt", "Resource": KEY,
                                   "Condition": {"StringNotEquals": {"kms:encryptioncontext:secretarn": SECRET}}})
    d = evaluator.evaluate(decrypt(TASK_ROLE, key_policy=pinned, context=SECRET_ARN_CONTEXT))
    assert d.result == "NotEvaluated" and not d.allowed
    assert "kms:EncryptionContext:SecretARN" in d.reason
    assert d.ignored_context_keys == ("kms:EncryptionContext:SecretARN",)


def test_dropped_context_key_that_no_policy_reads_is_harmless(evaluator):
    # The stack's key policy reads kms:EncryptionContext:aws:logs:arn, not SecretARN.
    d = evaluator.evaluate(decrypt(TASK_ROLE, context=SECRET_ARN_CONTEXT))
    assert d.result == "Allowed", d.reason
    assert d.ignored_context_keys == ("kms:EncryptionContext:SecretARN",)


def test_referenced_keys_include_conditions_and_policy_variables():
    policy = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*",
                  "Condition": {"StringLike": {"S3:Prefix": ["${aws:PrincipalTag/team, 'none'}/*", "${*}"]}}})
    assert ev.referenced_keys(policy) == {"s3:prefix", "aws:username", "aws:principaltag/team"}


# --- rule 3: errors and wildcards ---------------------------------------------------------------------------

def test_malformed_policy_is_not_evaluated_with_the_evaluators_message(evaluator):
    bad = doc({"Sid": "Oops", "Effect": "Permit", "Principal": "*", "Action": READ, "Resource": SECRET})
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, READ, SECRET, ACCOUNT, identity_policies=[SECRET_READ],
                                         resource_policy=bad))
    assert d.result == "NotEvaluated" and not d.allowed
    assert "resource policy Statement[0].Effect" in d.reason and "Allow" in d.reason and "Deny" in d.reason


def test_unknown_action_is_not_evaluated(evaluator):
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, "secretsmanager:GetSecretValu", SECRET, ACCOUNT,
                                         identity_policies=[SECRET_READ]))
    assert d.result == "NotEvaluated"
    assert "invalid.action" in d.reason


def test_wildcard_resource_is_not_evaluated(evaluator):
    d = evaluator.evaluate(PolicyRequest(TASK_ROLE, READ, f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:*",
                                         ACCOUNT, identity_policies=[SECRET_READ]))
    assert d.result == "NotEvaluated"
    assert "wildcard" in d.reason


# --- the resident process -------------------------------------------------------------------------------------

def test_evaluations_from_many_threads_are_all_answered_right(evaluator):
    cases = [(read_secret(TASK_ROLE), "Allowed"), (read_secret(UNLISTED_ROLE), "ExplicitlyDenied"),
             (read_secret(TASK_ROLE, vpce=None), "ExplicitlyDenied"), (decrypt(TASK_ROLE), "Allowed"),
             (decrypt(TASK_ROLE, context={}), "ImplicitlyDenied")]
    work = [cases[i % len(cases)] for i in range(50)]
    results: list[tuple[Decision, str] | BaseException] = []
    lock = threading.Lock()

    def run(part):
        for request, expected in part:
            try:
                outcome = (evaluator.evaluate(request), expected)
            except BaseException as exc:  # reported below
                outcome = exc
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=run, args=(work[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 50
    wrong = [r for r in results if isinstance(r, BaseException) or r[0].result != r[1]]
    assert not wrong


def test_killed_node_process_is_restarted_for_the_next_request(evaluator):
    pid = evaluator.pid
    os.kill(pid, 9)
    assert evaluator.evaluate(read_secret(TASK_ROLE)).result == "Allowed"
    assert evaluator.pid != pid


def test_node_process_that_cannot_restart_raises_evaluator_unavailable(evaluator_folder, tmp_path):
    folder = tmp_path / "evaluator"
    (folder / "node_modules").mkdir(parents=True)
    (folder / "node_modules" / "@cloud-copilot").symlink_to(evaluator_folder / "node_modules" / "@cloud-copilot")
    e = Evaluator(folder)
    try:
        (folder / "node_modules" / "@cloud-copilot").unlink()  # the install is gone (cache cleaned)
        os.kill(e.pid, 9)
        with pytest.raises(EvaluatorUnavailable, match="iam-simulate"):
            e.evaluate(read_secret(TASK_ROLE))
    finally:
        e.close()


def test_closed_evaluator_leaves_no_process(evaluator_folder):
    e = Evaluator(evaluator_folder)
    process = e._holder[0].proc
    e.close()
    assert process.poll() is not None
    with pytest.raises(EvaluatorUnavailable, match="closed"):
        e.evaluate(read_secret(TASK_ROLE))


# --- install / locate -------------------------------------------------------------------------------------------

def test_install_from_the_lockfile_into_an_empty_cache_once_even_when_racing(tmp_path, monkeypatch):
    # Three processes (as pytest-xdist workers would) ask for the evaluator at once: one installs.
    monkeypatch.delenv(ev.ENV_DIR, raising=False)
    monkeypatch.setenv("BYOC_CACHE_DIR", str(tmp_path))
    assert locate() is None
    script = ("from cli.core.evaluator import ensure\n"
              "print('FOLDER=' + str(ensure(say=lambda line: print('SAID ' + line))))\n")
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    folders = {line.split("=", 1)[1] for out in outputs for line in out.splitlines() if line.startswith("FOLDER=")}
    target = tmp_path / "evaluator" / ev._digest()
    assert folders == {str(target)}
    said = [line for out in outputs for line in out.splitlines() if line.startswith("SAID Installing")]
    assert len(said) == 1 and "(npm, once)" in said[0]
    assert locate() == target
    assert sorted(p.name for p in target.iterdir() if p.is_file()) == sorted(ev.FILES)
    assert not [p for p in target.parent.iterdir() if p.name != target.name and not p.name.endswith(".lock")]

    lines: list[str] = []
    marker = (target / "node_modules").stat().st_ino
    assert ensure(say=lines.append) == target
    assert lines == [] and (target / "node_modules").stat().st_ino == marker


def test_cache_folder_follows_byoc_cache_dir_then_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("BYOC_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert ev._cache_target() == tmp_path / "xdg" / "byoc" / "evaluator" / ev._digest()
    monkeypatch.setenv("BYOC_CACHE_DIR", str(tmp_path / "mine"))
    assert ev._cache_target() == tmp_path / "mine" / "evaluator" / ev._digest()
    assert len(ev._digest()) == 12


def test_evaluator_dir_with_the_pinned_version_is_used(evaluator_folder, monkeypatch):
    monkeypatch.setenv(ev.ENV_DIR, str(evaluator_folder))
    assert locate() == evaluator_folder.resolve()
    assert ensure(say=pytest.fail) == evaluator_folder.resolve()


def test_evaluator_dir_with_another_version_is_refused(tmp_path, monkeypatch):
    package = tmp_path / "node_modules" / "@cloud-copilot" / "iam-simulate"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@cloud-copilot/iam-simulate", "version": "0.1.170"}))
    monkeypatch.setenv(ev.ENV_DIR, str(tmp_path))
    with pytest.raises(EvaluatorUnavailable) as info:
        ensure(say=pytest.fail)
    message = str(info.value)
    assert "0.1.170" in message and "exactly 0.1.173" in message and "npm ci" in message and "\n" not in message


def test_evaluator_dir_without_the_package_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(ev.ENV_DIR, str(tmp_path))
    with pytest.raises(EvaluatorUnavailable, match="holds no node_modules/@cloud-copilot/iam-simulate"):
        locate()


def test_install_without_npm_says_how_to_prepare_a_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(ev.ENV_DIR, raising=False)
    monkeypatch.setenv("BYOC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(EvaluatorUnavailable) as info:
        install(say=pytest.fail)
    message = str(info.value)
    assert "needs npm" in message and ev.ENV_DIR in message and "npm ci --omit=dev" in message
    assert "\n" not in message


def test_install_offline_fails_with_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(ev.ENV_DIR, raising=False)
    monkeypatch.setenv("BYOC_CACHE_DIR", str(tmp_path / "cache"))
    # An unreachable registry and an empty npm cache: what a machine without registry access sees.
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    said: list[str] = []
    with pytest.raises(EvaluatorUnavailable) as info:
        install(say=said.append)
    message = str(info.value)
    assert "npm ci exited with" in message and "ECONNREFUSED" in message
    assert "npm registry" in message and ev.ENV_DIR in message and "\n" not in message
    assert len(said) == 1 and said[0].startswith("Installing the policy evaluator")
    leftovers = [p.name for p in (tmp_path / "cache" / "evaluator").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == [] and locate() is None


# --- what byoc ships ------------------------------------------------------------------------------------------------

def test_lockfile_pins_four_packages_with_resolved_and_integrity():
    folder = REPO / "cli" / "core" / "evaluator"
    lock = json.loads((folder / "package-lock.json").read_text())
    manifest = json.loads((folder / "package.json").read_text())
    assert lock["lockfileVersion"] == 3 and manifest["private"] is True
    assert manifest["dependencies"] == {"@cloud-copilot/iam-simulate": "0.1.173"}
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert sorted(packages) == [f"node_modules/@cloud-copilot/{n}" for n in
                                ("iam-data", "iam-policy", "iam-simulate", "iam-utils")]
    assert packages["node_modules/@cloud-copilot/iam-simulate"]["version"] == "0.1.173"
    for name, entry in packages.items():
        assert entry["resolved"].startswith("https://") and entry["integrity"].startswith("sha512-"), name
    text = (folder / "package-lock.json").read_text()
    assert not any(marker in text for marker in ('"/', "file:", str(Path.home()), str(REPO)))


def test_python_package_carries_the_three_files_and_never_node_modules():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-data"]["cli.core.evaluator"] == list(ev.FILES)
    assert all("node_modules" not in glob and "*" not in glob for glob in config["package-data"]["cli.core.evaluator"])
    assert "*node_modules*" in config["packages"]["find"]["exclude"]
    assert "node_modules/" in (REPO / ".gitignore").read_text().splitlines()
    for name in ev.FILES:
        assert (REPO / "cli" / "core" / "evaluator" / name).is_file()
