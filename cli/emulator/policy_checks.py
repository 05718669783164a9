"""What the emulator's policy validators can answer with the independent evaluator (gaps 10 and 12:
``accessanalyzer.py``, ``secretsmanager.py``), and nothing more.

- **Syntax**: the evaluator's own validation of a document (``Evaluator.validation_errors``). It
  catches structural errors (an Effect that is neither Allow nor Deny, a malformed Condition...);
  it does not know AWS's whole grammar (a resource policy without Principal passes it).
- **Public or broad access**: the evaluator's verdict for a principal of an account the policy
  does not name, holding an administrator's identity policy, asking the resource type's actions
  from outside any VPC, on each resource the policy's Allow statements name (their wildcards
  filled). Allowed means the policy grants a principal outside the account: AWS's Zelkova answers
  the same question by reasoning over every principal; this asks one stand-in, so it finds a grant
  to ``*`` or to any account, and misses none that such a principal would get.
- **Lock-out** (Secrets Manager): the caller's own PutResourcePolicy and DeleteResourcePolicy on
  the secret, judged with the caller's identity policies and the new document as the secret's
  policy: explicitly denied by that document means it would lock the caller out of changing it.

Each answer is None when policies are not evaluated (no evaluator): the routes then answer HTTP
501 NotImplemented, never a made-up verdict. AWS documentation followed: IAM User Guide, "Policy
evaluation logic" and "Cross-account policy evaluation logic"; IAM Access Analyzer User Guide,
"Preview access" / "Checks for validating policies".
"""

from __future__ import annotations

import json
import re
from typing import Any

from cli.emulator import authorizer

#: The actions a principal outside the account could be granted on each resource type.
ACTIONS = {
    "AWS::SecretsManager::Secret": ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret",
                                    "secretsmanager:PutSecretValue", "secretsmanager:PutResourcePolicy",
                                    "secretsmanager:DeleteSecret"),
    "AWS::KMS::Key": ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant",
                      "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"),
}
ADMIN = ("AdministratorAccess", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                                         "Resource": "*"}]})
#: The caller's operations a secret policy must not deny it, or the caller cannot change it back.
LOCKOUT_ACTIONS = ("secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy")


def _stand_in_resource(resource_type: str, region: str, account: str) -> str:
    if resource_type == "AWS::KMS::Key":
        return f"arn:aws:kms:{region}:{account}:key/00000000-0000-4000-8000-000000000000"
    return f"arn:aws:secretsmanager:{region}:{account}:secret:byoc-emulator-check-AbCdEf"


def _resources(document: dict, resource_type: str, region: str, account: str) -> list[str]:
    """The concrete resources the Allow statements name (``*`` and ``?`` filled), else a stand-in."""
    found: list[str] = []
    statements = document.get("Statement")
    for s in statements if isinstance(statements, list) else [statements]:
        if not isinstance(s, dict) or s.get("Effect") != "Allow":
            continue
        named = s.get("Resource")
        for r in named if isinstance(named, list) else [named]:
            if isinstance(r, str) and r.startswith("arn:"):
                found.append(re.sub(r"[*?]", "x", r))
    return list(dict.fromkeys(found)) or [_stand_in_resource(resource_type, region, account)]


def _outsider(text: str) -> str:
    """A 12-digit account the policy does not name."""
    for candidate in ("999999999999", "888888888888", "777777777777"):
        if candidate not in text:
            return candidate
    return "666666666666"


def syntax_errors(document_text: str, *, identity: bool = False) -> list[str] | None:
    """The evaluator's validation errors for a resource (or identity) policy; None: not evaluated."""
    from cli.core.evaluator import PolicyRequest

    evaluator = authorizer._state["evaluator"]
    if evaluator is None:
        return None
    try:
        document = json.loads(document_text)
    except ValueError as exc:
        return [f"the policy is not JSON: {exc}"]
    if not isinstance(document, dict):
        return ["the policy is not a JSON object"]
    request = PolicyRequest("arn:aws:iam::123456789012:role/byoc-emulator-check", "sts:GetCallerIdentity", "*",
                            "123456789012", {}, [("checked", document)] if identity else [ADMIN],
                            None if identity else document)
    return evaluator.validation_errors(request)


def public_grants(document_text: str, resource_type: str, region: str, account: str) -> list[dict[str, Any]] | None:
    """Reasons (CheckNoPublicAccess's ReasonSummary shape) why the policy grants a principal of
    another account access; [] when it grants none; None: not evaluated."""
    from cli.core.evaluator import PolicyRequest

    evaluator = authorizer._state["evaluator"]
    if evaluator is None:
        return None
    document = json.loads(document_text)
    outsider = f"arn:aws:iam::{_outsider(document_text)}:role/anyone"
    granted: dict[tuple[str, int | None, str | None], list[str]] = {}
    for resource in _resources(document, resource_type, region, account):
        for action in ACTIONS[resource_type]:
            decision = evaluator.evaluate(PolicyRequest(outsider, action, resource, account, {}, [ADMIN], document))
            if decision.allowed:
                granting = next((m for m in decision.statements if m.policy_type == "resource"), None)
                where = (resource, granting.index if granting else None, granting.sid if granting else None)
                granted.setdefault(where, []).append(action)
    reasons: list[dict[str, Any]] = []
    for (resource, index, sid), actions in granted.items():
        statement = sid or (f"statement {index}" if index else "a statement")
        reason: dict[str, Any] = {"description": f"{statement} allows a principal of another account "
                                                 f"{', '.join(actions)} on {resource} [byoc emulator's evaluator]"}
        if index is not None:
            reason["statementIndex"] = index - 1
        if sid:
            reason["statementId"] = sid
        reasons.append(reason)
    return reasons


def lockout(document_text: str, who: authorizer.Principal, secret_arn: str, account: str) -> list[str] | None:
    """What of the caller's own policy changes the document would deny it; None: not evaluated."""
    from cli.core.evaluator import PolicyRequest

    evaluator = authorizer._state["evaluator"]
    if evaluator is None:
        return None
    document = json.loads(document_text)
    found = []
    for action in LOCKOUT_ACTIONS:
        decision = evaluator.evaluate(PolicyRequest(
            who.arn, action, secret_arn, account, {"aws:PrincipalArn": who.principal_arn,
                                                    "aws:PrincipalAccount": who.account},
            who.identity_policies, document, who.boundary))
        if decision.result == "ExplicitlyDenied" and "resource" in decision.policy_types:
            found.append(f"{action} for {who.arn} ({'; '.join(decision.decided_by)})")
    return found
