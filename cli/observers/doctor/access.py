"""Doctor's access checks: the execution role's grants, ``valueFrom``, the secret, its policy
and its KMS key — the fix doc's first two root causes and the runbook's permission checks.

These read the documents; ``evaluator`` then asks AWS for its own verdict on the same question.
The secret's plaintext is read only with ``--check-value`` (a read shows in CloudTrail).
"""

from __future__ import annotations

import json
import re

from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.secret import secret_state
from cli.core.policy import PRINCIPAL_ARN, SecretPolicy, account_of, delegates_to_iam, grants, statements
from constructs_lib import catalog
from constructs_lib.catalog import EXECUTION_MANAGED_POLICY, SECRET_JSON_KEY, SECRET_READ_ACTION

EXEC_ROLE = "execution role can read the secret"
VALUE_FROM = "task definition injects the JSON key"
SECRET = "secret has a current value"
POLICY = "secret policy: roles read, only via the endpoint"
KEY = "KMS key enabled and delegated to IAM"


def _role_statements(iam, role: str) -> list[dict]:
    """Statements of every policy attached to or inline in ``role``, but AWS's managed one."""
    found: list[dict] = []
    for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        if p["PolicyName"] == EXECUTION_MANAGED_POLICY:
            continue
        version = iam.get_policy(PolicyArn=p["PolicyArn"])["Policy"]["DefaultVersionId"]
        found += statements(iam.get_policy_version(PolicyArn=p["PolicyArn"], VersionId=version)
                            ["PolicyVersion"]["Document"])
    for inline in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        found += statements(iam.get_role_policy(RoleName=role, PolicyName=inline)["PolicyDocument"])
    return found


def exec_role(d) -> Check:
    iam, name = d.client("iam"), d.outputs["ecs_execution_role_arn"].rsplit("/", 1)[-1]
    names = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    found = _role_statements(iam, name)
    problems, unknown = [], []
    if EXECUTION_MANAGED_POLICY not in names:
        problems.append(f"{EXECUTION_MANAGED_POLICY} not attached")
    for action, resource in ((SECRET_READ_ACTION, d.outputs["byoc_secret_arn"]),
                             ("kms:Decrypt", d.outputs.get("kms_key_arn") or "")):
        if not resource:
            continue
        verdict = grants(found, action, resource)
        if verdict is False:
            problems.append(f"no attached policy grants {action} on the {'secret' if 'secrets' in action else 'key'}")
        elif verdict is None:
            unknown.append(action)
    fix = "attach the <app>-secret-read policy to the execution role (`byoc deploy` restores it)"
    if problems:
        return Check(EXEC_ROLE, FAIL, "; ".join(problems), fix)
    if unknown:
        return Check(EXEC_ROLE, WARN, f"{name}: statements byoc did not write decide {', '.join(unknown)}; "
                     "see AWS's evaluator below", "remove policies byoc did not write, or read them by hand")
    return Check(EXEC_ROLE, PASS, f"{name}: {', '.join(names)}")


def _injects_the_key(text: str, secret_arn: str) -> bool:
    """``<secret arn>:PINECONE_API_KEY::`` with no version stage, and a pinned version id or none."""
    parts = catalog.split_value_from(text or "")
    return bool(parts) and parts[:3] == (secret_arn, SECRET_JSON_KEY, "") and (
        parts[3] == "" or re.fullmatch(catalog.SECRET_VERSION_ID_RE, parts[3]) is not None)


def value_from(d) -> Check:
    secret_arn = d.outputs["byoc_secret_arn"]
    problems = []
    for td in d.task_definitions:
        rev = td["taskDefinitionArn"].rsplit(":", 1)[-1]
        if not td.get("executionRoleArn"):
            problems.append(f"revision {rev} has no execution role")
        for c in td.get("containerDefinitions", []):
            for sec in c.get("secrets", []):
                if not _injects_the_key(sec.get("valueFrom", ""), secret_arn):
                    problems.append(f"revision {rev}: {sec.get('name')} valueFrom {sec.get('valueFrom')!r} "
                                    f"is not <secret arn>:{SECRET_JSON_KEY}::<version id>")
    if not d.task_definitions:
        return Check(VALUE_FROM, FAIL, "the service has no task definition", "re-run `byoc deploy`")
    return Check(VALUE_FROM, FAIL if problems else PASS,
                 "; ".join(problems) or f"valueFrom = <secret arn>:{SECRET_JSON_KEY}::<version id> (the pinned key "
                                        "version, or none: AWSCURRENT)",
                 f"register the revision with valueFrom \"{catalog.value_from(secret_arn)}\" (plus a version id to "
                 "pin one) and an execution role (`byoc deploy` does)" if problems else "")


def _value_problems(d) -> list[str] | None:
    """``--check-value``: the plaintext's shape (never its content). None: not readable here."""
    from botocore.exceptions import ClientError

    try:
        text = d.client("secretsmanager").get_secret_value(SecretId=d.outputs["byoc_secret_arn"]).get(
            "SecretString") or ""
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "AccessDeniedException":
            return None
        raise
    try:
        value = json.loads(text)
    except ValueError:
        return ["the value is not JSON"]
    finally:
        del text
    if not isinstance(value, dict) or not str(value.get(SECRET_JSON_KEY, "")).strip():
        return [f"the value is JSON but has no non-empty {SECRET_JSON_KEY} key"]
    return []


def secret(d) -> Check:
    arn = d.outputs["byoc_secret_arn"]
    state = secret_state(d.target, arn)
    problems = []  # which key encrypts it is posture (posture.py): a task reads it either way
    unusable = state.problem(arn)
    fix = "store it with `byoc secret put` (writes {\"PINECONE_API_KEY\": \"...\"})"
    if unusable:
        problems.append(unusable[0])
        fix = unusable[1]
    if problems:
        return Check(SECRET, FAIL, "; ".join(problems), fix)
    if not d.check_value:
        return Check(SECRET, PASS, "has a current version (content not read: --check-value reads it)")
    content = _value_problems(d)
    if content is None:
        return Check(SECRET, WARN, "has a current version; its content is readable only through the VPC endpoint "
                     "(denied here by design)", "run doctor --check-value inside the VPC to check the content")
    return Check(SECRET, FAIL if content else PASS,
                 "; ".join(content) or "current value is JSON with the key (not shown)",
                 fix if content else "")


def secret_policy(d) -> Check:
    out = d.outputs
    text = d.client("secretsmanager").get_resource_policy(SecretId=out["byoc_secret_arn"]).get("ResourcePolicy")
    policy = SecretPolicy.parse(text)
    if policy.unrecognised:
        return Check(POLICY, WARN, f"{len(policy.unrecognised)} statement(s) byoc did not write: not judged here "
                     "(see AWS's evaluator below)", "`byoc lockdown` writes the policy again")
    vpce = out["secretsmanager_vpce_id"]
    # The secret's account, from its ARN: the cross-account rule (cli/core/policy.py) needs it.
    account = account_of(out["byoc_secret_arn"]) or d.account
    problems = []
    for label, arn in (("execution role", out["ecs_execution_role_arn"]), ("task role", out["ecs_task_role_arn"])):
        if policy.may_read(arn, vpce, account=account):
            continue
        if policy.readers is not None and arn not in policy.readers and label == "execution role":
            problems.append(f"the execution role {arn} is not on the reader list: ECS fetches the secret with it "
                            "when a task starts, so every task start is denied (the fix doc's first root cause: "
                            "the execution role without secret access)")
        else:
            problems.append(f"the {label} may not read through {vpce}")
    if policy.endpoints is None or policy.may_read(out["ecs_task_role_arn"], None, account=account):
        problems.append("reads from outside the VPC endpoint are not denied")
    locked = "" if policy.readers is None else f"; readers: {len(policy.readers)} principals ({PRINCIPAL_ARN} list)"
    return Check(POLICY, FAIL if problems else PASS,
                 "; ".join(problems) or f"execution and task roles may read; only through {vpce}{locked}",
                 "run `byoc lockdown` (it always keeps the execution role)" if problems else "")


def kms_key(d) -> Check:
    arn = d.outputs.get("kms_key_arn")
    if not arn:
        return Check(KEY, WARN, "the deployment has no kms_key_arn output", "re-run `byoc deploy`")
    kms = d.client("kms")
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    problems = []
    if meta.get("KeyState") != "Enabled":
        problems.append(f"the key is {meta.get('KeyState')} (ECS cannot decrypt the secret)")
    policy_text = kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"]
    if not delegates_to_iam(policy_text, account_of(arn) or d.account):
        problems.append("the key policy does not let the account (IAM) use the key: the roles' kms:Decrypt "
                        "grants have no effect")
    # Rotation is posture (posture.py): a key that does not rotate still decrypts.
    return Check(KEY, FAIL if problems else PASS, "; ".join(problems) or f"{meta['KeyId']}: enabled, "
                 "account root delegated",
                 f"aws kms enable-key --key-id {meta['KeyId']}, or re-run `byoc deploy` (it restores the key policy)"
                 if problems else "")


CHECKS = ((EXEC_ROLE, exec_role), (VALUE_FROM, value_from), (SECRET, secret), (POLICY, secret_policy),
          (KEY, kms_key))
