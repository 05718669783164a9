"""byoc's one reader of IAM policy documents.

- ``statements`` / ``allows``: identity policies (the roles' grants), in the synthesized JSON's
  ``aws_iam_policy_document`` shape or as AWS returns them.
- ``SecretPolicy``: the secret's resource policy — who may read it, and only through which
  endpoint. moto stores resource policies but does not enforce them, and AWS's own answer
  (AccessDenied) only comes when a read is tried. So byoc evaluates the *document*: the Deny
  statements on ``secretsmanager:GetSecretValue`` and their conditions, for the condition
  operators this stack writes (and their usual relatives).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

READ_ACTION = "secretsmanager:GetSecretValue"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _action_matches(patterns: list[str], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def statements(doc: str | dict) -> list[dict]:
    """An IAM policy document (JSON text or parsed) as the statement shape of
    ``aws_iam_policy_document`` (effect/actions/resources/condition); one place for both the
    synthesized JSON and what AWS returns (where Statement may be a single object)."""
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return [{"effect": s.get("Effect"), "actions": s.get("Action"), "resources": s.get("Resource"),
             "condition": s.get("Condition")} for s in _as_list(doc.get("Statement"))]


def allows(statements: list[dict], action: str, resource_ref: str) -> bool:
    """Whether some statement (in ``statements``' shape) names ``action`` on a resource that is
    ``*`` or contains ``resource_ref`` (an ARN, or a ``${aws_x.y.arn}`` reference)."""
    return any(_action_matches(_as_list(s.get("actions")), action)
               and any(r == "*" or resource_ref in r for r in _as_list(s.get("resources")))
               for s in statements)


def _condition_holds(operator: str, actual: str | None, expected: list[str]) -> bool:
    """One condition operator of IAM's, for a single-valued key. A missing key makes the
    positive operators false and the negated ones true (IAM's rule without ...IfExists)."""
    negated = "Not" in operator
    base = operator.replace("IfExists", "").replace("Not", "")
    if actual is None:
        return negated
    if base in ("StringEquals", "ArnEquals"):
        hit = actual in expected
    elif base in ("StringEqualsIgnoreCase",):
        hit = actual.lower() in (e.lower() for e in expected)
    elif base in ("StringLike", "ArnLike"):
        hit = any(fnmatch.fnmatchcase(actual, e) for e in expected)
    else:
        raise ValueError(f"condition operator {operator} is not understood by byoc's policy reader")
    return hit != negated


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
        return _as_list(self.document.get("Statement"))

    def _read_denies(self) -> list[dict]:
        return [s for s in self.statements
                if s.get("Effect") == "Deny" and _action_matches(_as_list(s.get("Action")), READ_ACTION)]

    def denies(self, action: str, context: dict[str, str]) -> bool:
        """Whether some Deny statement stops ``action`` for a request with these condition keys."""
        for s in self.statements:
            if s.get("Effect") != "Deny" or not _action_matches(_as_list(s.get("Action")), action):
                continue
            if all(_condition_holds(op, context.get(key), [str(v) for v in _as_list(values)])
                   for op, pairs in (s.get("Condition") or {}).items() for key, values in pairs.items()):
                return True
        return False

    def may_read(self, principal_arn: str, source_vpce: str | None) -> bool:
        """Not denied GetSecretValue (identity policies must still allow it)."""
        context = {"aws:PrincipalArn": principal_arn}
        if source_vpce:
            context["aws:SourceVpce"] = source_vpce
        return not self.denies(READ_ACTION, context)

    def _condition_values(self, key: str) -> list[str] | None:
        for s in self._read_denies():
            for op, pairs in (s.get("Condition") or {}).items():
                if "Not" in op and key in pairs:
                    return [str(v) for v in _as_list(pairs[key])]
        return None

    @property
    def readers(self) -> list[str] | None:
        """Principals not denied reads by an aws:PrincipalArn deny; None when there is none."""
        return self._condition_values("aws:PrincipalArn")

    @property
    def endpoints(self) -> list[str] | None:
        """The VPC endpoints reads must come through; None when reads are not restricted so."""
        return self._condition_values("aws:SourceVpce")

    @property
    def denied_management_actions(self) -> list[str]:
        """Non-read actions some Deny statement names (should be none: no lock-outs)."""
        out = []
        for s in self.statements:
            if s.get("Effect") == "Deny":
                out += [a for a in _as_list(s.get("Action")) if a.lower() != READ_ACTION.lower()]
        return out


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
    if policy.denied_management_actions:
        report.problems.append(f"the policy denies management actions {policy.denied_management_actions}; "
                               "that can lock operators out")
    return report
