"""byoc's reader of the IAM policy documents this stack writes — and only those.

byoc is not IAM's policy evaluator, and does not try to be. On real AWS the verdict comes from
AWS itself (``cli/doctor/evaluator.py``: ``iam:SimulatePrincipalPolicy`` and IAM Access
Analyzer). What is here reads the documents byoc writes, to say what they say when no evaluator
is at hand (moto stores resource policies but neither enforces nor simulates them):

- ``grants``: whether a role's identity policies grant an action on a resource, for the plain
  ``Allow`` statements this stack writes; any statement that could change the answer and that
  byoc does not recognise (a ``Deny``, ``NotAction``, ``NotResource``, a condition other than the
  stack's ``kms:ViaService``) makes the answer ``None``: unknown.
- ``SecretPolicy``: the secret's resource policy — the two ``Deny`` statements the stack writes
  (reads only through the endpoint, ``aws:SourceVpce``; reads only by the listed principals,
  ``aws:PrincipalArn``). Any other statement makes ``may_read`` answer ``None``: unknown.

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

from constructs_lib.catalog import SECRET_READ_ACTION

READ_ACTION = SECRET_READ_ACTION
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
        and [k.lower() for k in condition["StringEquals"]] == [VIA_SERVICE]


def grants(statements: list[dict], action: str, resource_ref: str) -> bool | None:
    """Whether these identity-policy statements grant ``action`` on ``resource_ref``.

    True: a plain Allow this stack would write grants it and nothing byoc cannot read could take
    it away. False: nothing grants it (and nothing unreadable might). None: unknown — a
    statement byoc does not recognise touches the action."""
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

    def may_read(self, principal_arn: str, source_vpce: str | None) -> bool | None:
        """Whether the policy lets ``principal_arn`` call GetSecretValue through ``source_vpce``
        (None: from outside any endpoint). Identity policies must still allow it. None when the
        policy holds a statement byoc does not recognise: ask AWS's evaluator."""
        if self.unrecognised:
            return None
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


@dataclass
class LockdownReport:
    locked: bool
    readers: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_lockdown(policy: SecretPolicy, *, execution_role: str, task_role: str,
                   expected_vpce: str, extra_readers: list[str] = ()) -> LockdownReport:
    """Everything ``byoc lockdown`` promises, checked on the policy read back from AWS."""
    readers = policy.readers
    endpoints = policy.endpoints or []
    report = LockdownReport(locked=readers is not None, readers=list(readers or []), endpoints=endpoints)
    if policy.unrecognised:
        report.problems.append(f"the policy holds {len(policy.unrecognised)} statement(s) byoc did not write; "
                               "`byoc lockdown` writes the whole policy again")
        return report
    for name, arn in (("execution role", execution_role), ("task role", task_role),
                      *(("principal", a) for a in extra_readers)):
        if not policy.may_read(arn, expected_vpce):
            report.problems.append(f"the {name} {arn} may not read the secret through {expected_vpce}")
    if readers is None:
        report.problems.append("the policy does not restrict reads to named principals")
    if endpoints != [expected_vpce]:
        report.problems.append(f"reads are not restricted to the endpoint {expected_vpce} (policy names {endpoints})")
    elif policy.may_read(task_role, None) or policy.may_read(task_role, "vpce-00000000000000000"):
        report.problems.append("reads from outside the VPC endpoint are not denied")
    if policy.may_read("arn:aws:iam::000000000000:role/byoc-policy-probe", expected_vpce):
        report.problems.append("a principal not on the list may still read the secret")
    return report
