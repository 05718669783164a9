"""byoc's reader of the IAM policy documents this stack writes — and only those.

byoc is not IAM's policy evaluator, and does not try to be. On real AWS the verdict comes from
AWS itself (``cli/observers/verdicts.py``: ``iam:SimulatePrincipalPolicy`` and IAM Access
Analyzer), and ``cli/core/evaluator`` is an independent evaluator that byoc's reader is checked
against (``tests/core/test_policy_matrix.py``). What is here reads the documents byoc writes, to
say what they say when no evaluator is at hand (moto stores resource policies but neither
enforces nor simulates them):

- ``grants``: whether a role's identity policies grant an action on a resource, for the plain
  ``Allow`` statements this stack writes; any statement that could change the answer and that
  byoc does not recognise (a ``Deny``, ``NotAction``, ``NotResource``, a condition other than the
  stack's ``kms:ViaService``) makes the answer ``None``: unknown.
- ``SecretPolicy``: the secret's resource policy — the two ``Deny`` statements the stack writes
  (reads only through the endpoint, ``aws:SourceVpce``; reads only by the listed principals,
  ``aws:PrincipalArn``). Any other statement makes ``may_read`` answer ``None``: unknown.
- ``KeyPolicy``: the KMS key's policy — the statement that delegates to the account (its root,
  so that IAM policies take effect) and the statements for AWS services (CloudWatch Logs,
  CloudWatch alarms), which never name an IAM role. Any other statement: unknown.
- ``reader_verdict``: the three together, for the two questions a reader of the secret asks
  (``secretsmanager:GetSecretValue`` on the secret, ``kms:Decrypt`` on its key as Secrets Manager
  asks for it), with the cross-account rule.

The cross-account rule. IAM User Guide, "Cross-account policy evaluation logic"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html):
"To allow cross-account access, you attach a resource-based policy to the resource that you want
to share. You must also attach an identity-based policy to the identity that acts as the principal
in the request. The resource-based policy in the trusting account must specify the principal of
the trusted account that will have access to the resource." Within one account either policy's
Allow is enough ("Policy evaluation for requests within a single account": "If either the
identity-based policy or the resource-based policy within the same account allows the request and
the other doesn't, the request is still allowed"). byoc's secret policy holds no Allow at all, and
its key policy allows only this account's root, so a principal of another account may do neither,
whatever its own policies say; byoc answers False for it unless a statement byoc does not write
is there (None).

Condition evaluation follows the IAM User Guide ("IAM JSON policy elements: Condition
operators"): condition key names are case-insensitive; several values for one key match when
any does; several keys, and several operators, must all match; a key missing from the request
makes a condition false, a negated one (``...Not...``) true, and an ``...IfExists`` one true;
``ArnEquals`` and ``ArnLike`` are the same test, component by component, with wildcards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.catalog import SECRET_READ_ACTION, secretsmanager_via

READ_ACTION = SECRET_READ_ACTION
DECRYPT_ACTION = "kms:Decrypt"
#: The condition keys byoc's statements use, lower case (IAM compares key names so).
SOURCE_VPCE, PRINCIPAL_ARN, VIA_SERVICE = "aws:sourcevpce", "aws:principalarn", "kms:viaservice"


def as_list(value: Any) -> list:
    """A policy field that holds one value or a list, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _glob(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """IAM's wildcards: ``*`` any run, ``?`` one character; nothing else is special (unlike
    fnmatch's ``[...]``)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """ArnEquals/ArnLike: the six colon-separated parts matched one by one (wildcards allowed)."""
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) == 6 and all(_glob(w, h) for w, h in zip(want, have))


def account_of(arn: Any) -> str | None:
    """The account of an ARN (its fifth part, twelve digits); None for anything else (``*``, a
    service principal, an ARN without an account such as an AWS managed policy's)."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and re.fullmatch(r"\d{12}", parts[4]) else None


def _resource_account(statements: list[dict]) -> str | None:
    """The one account the statements' ``Resource`` ARNs name (byoc names its secret and its key
    by ARN), or None when they name none or several."""
    found = {account_of(r) for s in statements if isinstance(s, dict) for r in as_list(s.get("Resource"))}
    found.discard(None)
    return found.pop() if len(found) == 1 else None


def action_matches(patterns: list[str], action: str) -> bool:
    # Action names are case-insensitive in IAM.
    return any(_glob(p, action, ignore_case=True) for p in patterns if isinstance(p, str))


def condition_holds(operator: str, expected: list[str], actual: str | None) -> bool:
    """One operator on one single-valued key: ``expected`` are the policy's values, ``actual``
    the request's (None: the key is not in the request context)."""
    if_exists = operator.endswith("IfExists")
    base = operator[:-len("IfExists")] if if_exists else operator
    negated = "Not" in base
    if actual is None:
        return True if if_exists else negated
    positive = base.replace("Not", "")
    tests = {
        "StringEquals": lambda e: actual == e,
        "StringEqualsIgnoreCase": lambda e: actual.lower() == e.lower(),
        "StringLike": lambda e: _glob(e, actual),
        "ArnEquals": lambda e: arn_like(e, actual),
        "ArnLike": lambda e: arn_like(e, actual),
    }
    if positive not in tests:
        raise ValueError(f"condition operator {operator} is not one byoc reads")
    hit = any(tests[positive](str(e)) for e in expected)
    return hit != negated


def conditions_hold(condition: dict | None, context: dict[str, str]) -> bool:
    """A statement's whole Condition block against a request context (key names any case)."""
    lowered = {k.lower(): v for k, v in context.items()}
    return all(condition_holds(op, [str(v) for v in as_list(values)], lowered.get(key.lower()))
               for op, pairs in (condition or {}).items() for key, values in pairs.items())


# ---- identity policies (the roles' grants) -----------------------------------------------------

def statements(doc: str | dict) -> list[dict]:
    """An IAM policy document (JSON text or parsed) as the statement shape of
    ``aws_iam_policy_document`` (effect/actions/resources/condition); one place for both the
    synthesized JSON and what AWS returns (where Statement may be a single object)."""
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return [{"effect": s.get("Effect"), "actions": s.get("Action"), "resources": s.get("Resource"),
             "condition": s.get("Condition"), "not_actions": s.get("NotAction"),
             "not_resources": s.get("NotResource")} for s in as_list(doc.get("Statement"))]


def _resource_matches(resources: list, resource_ref: str) -> bool:
    # An ARN from AWS, or a ``${aws_x.y.arn}`` reference in the synthesized JSON.
    return any(r == "*" or resource_ref in r or (r.startswith("arn:") and arn_like(r, resource_ref))
               for r in resources if isinstance(r, str))


def _stack_condition(condition: Any) -> bool:
    """The only condition byoc's grants carry: kms:ViaService (both JSON shapes)."""
    if not condition:
        return True
    if isinstance(condition, list):  # aws_iam_policy_document: [{test, variable, values}]
        return all(isinstance(c, dict) and c.get("test") == "StringEquals"
                   and str(c.get("variable", "")).lower() == VIA_SERVICE for c in condition)
    return isinstance(condition, dict) and list(condition) == ["StringEquals"] \
        and isinstance(condition["StringEquals"], dict) \
        and [k.lower() for k in condition["StringEquals"]] == [VIA_SERVICE]


def _as_condition_block(condition: Any) -> dict:
    """A Condition in AWS's shape: aws_iam_policy_document's ``[{test, variable, values}]`` folded."""
    if not isinstance(condition, list):
        return condition or {}
    block: dict = {}
    for c in condition:
        block.setdefault(c["test"], {}).setdefault(c["variable"], []).extend(as_list(c.get("values")))
    return block


def grants(statements: list[dict], action: str, resource_ref: str,
           context: dict[str, str] | None = None) -> bool | None:
    """Whether these identity-policy statements grant ``action`` on ``resource_ref``.

    True: a plain Allow this stack would write grants it and nothing byoc cannot read could take
    it away. False: nothing grants it (and nothing unreadable might). None: unknown — a
    statement byoc does not recognise touches the action.

    ``context``: the request's condition keys (e.g. ``kms:ViaService``). Given, the stack's own
    condition is tested against it (an Allow whose condition does not hold grants nothing);
    without it, the stack's condition is taken to hold (the synthesized JSON, where it is a
    reference)."""
    granted, unknown = False, False
    for s in statements:
        effect = s.get("effect") or "Allow"
        if s.get("not_actions") or s.get("not_resources"):
            unknown = True
            continue
        if not action_matches(as_list(s.get("actions")), action):
            continue
        if not _resource_matches(as_list(s.get("resources")), resource_ref):
            continue
        if effect != "Allow" or not _stack_condition(s.get("condition")):
            unknown = True
            continue
        if context is not None and not conditions_hold(_as_condition_block(s.get("condition")), context):
            continue
        granted = True
    return None if unknown else granted


def allows(statements: list[dict], action: str, resource_ref: str) -> bool:
    """``grants`` for the synthesized JSON, where byoc wrote every statement: a grant it cannot
    read counts as no grant."""
    return grants(statements, action, resource_ref) is True


# ---- the secret's resource policy ---------------------------------------------------------------

#: The kinds of statement the stack writes into the secret policy, by the key they test.
_STACK_DENIES = {SOURCE_VPCE: ("StringNotEquals",), PRINCIPAL_ARN: ("ArnNotEquals", "StringNotEquals")}


def _principal_is_everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and list(principal) == ["AWS"]
                                and as_list(principal["AWS"]) == ["*"])


def _stack_kind(statement: dict) -> str | None:
    """``aws:sourcevpce`` / ``aws:principalarn`` for the two Deny statements byoc writes, else None."""
    if statement.get("Effect") != "Deny" or not _principal_is_everyone(statement.get("Principal")):
        return None
    if "NotAction" in statement or "NotResource" in statement or "NotPrincipal" in statement:
        return None
    if [a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)] != [READ_ACTION.lower()]:
        return None
    condition = statement.get("Condition") or {}
    if len(condition) != 1:
        return None
    operator, pairs = next(iter(condition.items()))
    if not isinstance(pairs, dict) or len(pairs) != 1:
        return None
    key = next(iter(pairs)).lower()
    return key if operator in _STACK_DENIES.get(key, ()) else None


@dataclass(frozen=True)
class SecretPolicy:
    document: dict

    @classmethod
    def parse(cls, text: str | dict | None) -> "SecretPolicy":
        if not text:
            return cls({"Statement": []})
        doc = json.loads(text) if isinstance(text, str) else text
        return cls(doc)

    @property
    def statements(self) -> list[dict]:
        return as_list(self.document.get("Statement"))

    @property
    def unrecognised(self) -> list[dict]:
        """Statements this stack does not write: with any of them, byoc gives no verdict."""
        return [s for s in self.statements if _stack_kind(s) is None]

    @property
    def account(self) -> str | None:
        """The secret's account, from the ARN the statements name as their Resource."""
        return _resource_account(self.statements)

    def may_read(self, principal_arn: str, source_vpce: str | None, *, account: str | None = None) -> bool | None:
        """Whether the policy lets ``principal_arn`` call GetSecretValue through ``source_vpce``
        (None: from outside any endpoint). ``account``: the secret's (default: the account of the
        ARN the statements name; None if they name none).

        True: no Deny applies and the principal is of the secret's account, so its identity
        policies decide (they must still allow it). False: a Deny applies, or the principal is of
        another account — the policy byoc writes has no Allow, and a cross-account read needs one
        (IAM User Guide, "Cross-account policy evaluation logic": "The resource-based policy in the
        trusting account must specify the principal of the trusted account that will have access
        to the resource"). None when the policy holds a statement byoc does not recognise (it may
        allow or deny anything), or when the secret's account is unknown: ask AWS's evaluator."""
        if self.unrecognised:
            return None
        account = account or self.account
        if account is None:
            return None
        if account_of(principal_arn) != account:
            return False
        context = {"aws:PrincipalArn": principal_arn}
        if source_vpce:
            context["aws:SourceVpce"] = source_vpce
        return not any(conditions_hold(s.get("Condition"), context) for s in self.statements)

    def _values(self, kind: str) -> list[str] | None:
        for s in self.statements:
            if _stack_kind(s) == kind:
                (pairs,) = s["Condition"].values()
                (values,) = pairs.values()
                return [str(v) for v in as_list(values)]
        return None

    @property
    def readers(self) -> list[str] | None:
        """Principals not denied reads by the stack's aws:PrincipalArn deny; None without one."""
        return self._values(PRINCIPAL_ARN)

    @property
    def endpoints(self) -> list[str] | None:
        """The VPC endpoints reads must come through; None when reads are not restricted so."""
        return self._values(SOURCE_VPCE)


# ---- the KMS key's policy -------------------------------------------------------------------------

_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def _root_accounts(principal: Any) -> set[str] | None:
    """The accounts an ``{"AWS": ...}`` principal names, when it names only accounts (their root
    ARNs ``arn:<partition>:iam::ACCT:root``, or the bare 12 digits); None otherwise."""
    if not isinstance(principal, dict) or list(principal) != ["AWS"]:
        return None
    found = set()
    for who in as_list(principal["AWS"]):
        match = re.fullmatch(r"(?:arn:(?:%s):iam::)?(\d{12})(?::root)?" % "|".join(_PARTITIONS), str(who))
        if not match or (str(who).startswith("arn:") != str(who).endswith(":root")):
            return None
        found.add(match.group(1))
    return found or None


def _key_kind(statement: dict) -> str | None:
    """What a key-policy statement is to byoc: ``delegation`` (AWS's default statement that
    "enables IAM policies": Allow kms:* to the account, no condition), ``service`` (an Allow to
    AWS services only, such as the stack's CloudWatch Logs and alarms statements: it never names an
    IAM role, whatever its actions and conditions), or None (a statement byoc does not write)."""
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return None
    if any(k in statement for k in ("NotAction", "NotResource", "NotPrincipal")):
        return None
    principal = statement.get("Principal")
    if isinstance(principal, dict) and list(principal) == ["Service"]:
        return "service"
    actions = {a.lower() for a in as_list(statement.get("Action")) if isinstance(a, str)}
    if _root_accounts(principal) and actions and actions <= {"kms:*", "*"} and not statement.get("Condition"):
        return "delegation"
    return None


def delegates_to_iam(policy: str | dict | None, account: str) -> bool:
    """Whether a key policy holds the first rule of AWS's default: the account (root) may use the
    key, so that IAM policies of the account — like the roles' kms:Decrypt grant — take effect.
    AWS KMS Developer Guide, "Key policies in AWS KMS": "Unless the key policy explicitly allows
    it, you cannot use IAM policies to allow access to a KMS key. Without permission from the key
    policy, IAM policies that allow permissions have no effect."
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html)"""
    doc = json.loads(policy) if isinstance(policy, str) else (policy or {})
    roots = {account, *(f"arn:{p}:iam::{account}:root" for p in _PARTITIONS)}
    for s in as_list(doc.get("Statement")):
        principal = s.get("Principal") or {}
        who = set(as_list(principal.get("AWS") if isinstance(principal, dict) else principal))
        if s.get("Effect") == "Allow" and not s.get("Condition") and who & roots \
                and {"kms:*", "*"} & set(as_list(s.get("Action"))):
            return True
    return False


@dataclass(frozen=True)
class KeyPolicy:
    document: dict

    @classmethod
    def parse(cls, text: str | dict | None) -> "KeyPolicy":
        if not text:
            return cls({"Statement": []})
        return cls(json.loads(text) if isinstance(text, str) else text)

    @property
    def statements(self) -> list[dict]:
        return as_list(self.document.get("Statement"))

    @property
    def account(self) -> str | None:
        """The key's account, from the ARN the statements name as their Resource."""
        return _resource_account(self.statements)

    def unrecognised(self, account: str) -> list[dict]:
        """Statements this stack does not write into the key policy of a key of ``account``: any
        but the delegation to ``account`` itself and the statements for AWS services."""
        return [s for s in self.statements
                if _key_kind(s) is None or (_key_kind(s) == "delegation" and _root_accounts(s["Principal"]) != {account})]

    def may_decrypt(self, principal_arn: str, *, account: str | None = None) -> bool | None:
        """Whether the key policy lets ``principal_arn``'s identity policies grant it the use of the
        key. ``account``: the key's (default: the account of the ARN the statements name).

        True: the principal is of the key's account and the policy delegates to that account, so
        the principal's IAM policies decide (they must still allow it). False: no delegation (KMS
        Developer Guide, "Key policies in AWS KMS": "Without permission from the key policy, IAM
        policies that allow permissions have no effect"), or the principal is of another account,
        which byoc's key policy never names ("Allowing users in other accounts to use a KMS key":
        the key policy must give the external account permission, and IAM policies in the external
        account must delegate it; https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html).
        None: a statement byoc does not write is there, or the key's account is unknown."""
        account = account or self.account
        if account is None or self.unrecognised(account):
            return None
        if account_of(principal_arn) != account:
            return False
        return any(_key_kind(s) == "delegation" for s in self.statements)


# ---- byoc's verdict on a reader's question ------------------------------------------------------------

def reader_verdict(principal_arn: str, action: str, resource: str, *, identity_statements: list[dict],
                   secret_policy: SecretPolicy | str | dict | None = None,
                   key_policy: KeyPolicy | str | dict | None = None, account: str | None = None,
                   source_vpce: str | None = None) -> bool | None:
    """byoc's verdict: may ``principal_arn`` do ``action`` on ``resource``?

    - ``secretsmanager:GetSecretValue`` on the secret ``resource``, through the VPC endpoint
      ``source_vpce`` (None: not through an endpoint): ``identity_statements`` (``statements()`` of
      every policy of the principal) and ``secret_policy`` (None: the secret has none).
    - ``kms:Decrypt`` on the key ``resource`` as Secrets Manager asks for it when it reads the
      secret for the principal (``kms:ViaService`` = ``secretsmanager.<the key's region>.amazonaws.com``;
      that call is Secrets Manager's, not through the caller's endpoint): ``identity_statements``
      and ``key_policy`` (required: every KMS key has one; None gives no verdict).

    ``account``: the resource's account (default: the ARN's). True: allowed; False: denied; None:
    a statement byoc does not write could decide it — ask AWS's evaluator.

    Same account (IAM User Guide, "Policy evaluation for requests within a single account"): an
    explicit Deny wins; else an Allow in the identity policy or the resource policy is enough.
    byoc's secret policy holds only Denies, so the identity policy must allow; for a KMS key the
    identity policy counts only when the key policy delegates to the account (``KeyPolicy``).
    Another account ("Cross-account policy evaluation logic"): the resource policy must allow it
    too, which byoc's never does: False (``SecretPolicy.may_read`` / ``KeyPolicy.may_decrypt``).
    """
    account = account or account_of(resource)
    if action.lower() == READ_ACTION.lower():
        policy = secret_policy if isinstance(secret_policy, SecretPolicy) else SecretPolicy.parse(secret_policy)
        resource_side = policy.may_read(principal_arn, source_vpce, account=account)
        context = {"aws:PrincipalArn": principal_arn, **({"aws:SourceVpce": source_vpce} if source_vpce else {})}
    elif action.lower() == DECRYPT_ACTION.lower():
        if key_policy is None:
            return None
        policy = key_policy if isinstance(key_policy, KeyPolicy) else KeyPolicy.parse(key_policy)
        resource_side = policy.may_decrypt(principal_arn, account=account)
        region = resource.split(":")[3] if resource.count(":") >= 5 else ""
        context = {"kms:ViaService": secretsmanager_via(region), "kms:CallerAccount": account_of(principal_arn) or ""}
    else:
        raise ValueError(f"reader_verdict answers {READ_ACTION} and {DECRYPT_ACTION}, not {action}")
    if resource_side is not True:
        # False: a Deny of the resource policy, or nothing there lets the principal in (another
        # account; a key without delegation) — no identity policy changes that. None: a statement
        # byoc does not write might allow or deny it, whatever the identity policies say.
        return resource_side
    return grants(identity_statements, action, resource, context=context)


@dataclass
class LockdownReport:
    locked: bool
    readers: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_lockdown(policy: SecretPolicy, *, execution_role: str, task_role: str,
                   expected_vpce: str, extra_readers: list[str] = ()) -> LockdownReport:
    """Everything ``byoc lockdown`` promises, checked on the policy read back from AWS.

    The secret's account is the one its ARN names in the policy (else the execution role's): a
    reader of another account could not read at all (cross-account rule, ``SecretPolicy.may_read``),
    and the probe for "a principal not on the list" is a role of the secret's own account, since
    one of another account is refused by the cross-account rule whatever the list says."""
    readers = policy.readers
    endpoints = policy.endpoints or []
    report = LockdownReport(locked=readers is not None, readers=list(readers or []), endpoints=endpoints)
    if policy.unrecognised:
        report.problems.append(f"the policy holds {len(policy.unrecognised)} statement(s) byoc did not write; "
                               "`byoc lockdown` writes the whole policy again")
        return report
    account = policy.account or account_of(execution_role)
    for name, arn in (("execution role", execution_role), ("task role", task_role),
                      *(("principal", a) for a in extra_readers)):
        if not policy.may_read(arn, expected_vpce, account=account):
            elsewhere = account_of(arn) != account
            report.problems.append(f"the {name} {arn} may not read the secret through {expected_vpce}" +
                                   (f" (it is of account {account_of(arn)}, the secret of {account}: a cross-account "
                                    "read needs an Allow in the secret policy and the key policy, which byoc does not "
                                    "write)" if elsewhere else ""))
    if readers is None:
        report.problems.append("the policy does not restrict reads to named principals")
    if endpoints != [expected_vpce]:
        report.problems.append(f"reads are not restricted to the endpoint {expected_vpce} (policy names {endpoints})")
    elif policy.may_read(task_role, None, account=account) or \
            policy.may_read(task_role, "vpce-00000000000000000", account=account):
        report.problems.append("reads from outside the VPC endpoint are not denied")
    partition = execution_role.split(":")[1] if execution_role.startswith("arn:") else "aws"
    if policy.may_read(f"arn:{partition}:iam::{account}:role/byoc-policy-probe", expected_vpce, account=account):
        report.problems.append("a principal not on the list may still read the secret")
    return report
