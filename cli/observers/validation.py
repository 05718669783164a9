"""The secret policy and the key policy, validated by AWS's own validators: before ``byoc deploy``
and ``byoc lockdown`` apply them (the documents a saved plan is about to write, read from
``terraform show -json`` of that plan), and as applied (``byoc doctor``).

The validators, each asked as its API reference says:

- Secrets Manager **ValidateResourcePolicy** (Secrets Manager API Reference): Zelkova's check that
  the policy grants no broad access, its syntax, and that it "does not lock out a caller". Passed
  the secret (SecretId) when the plan knows it, so the lock-out is judged for that secret. A
  ``PolicyValidationPassed`` of false stops the apply, with every ValidationErrors entry
  (CheckName, ErrorMessage); MalformedPolicyDocumentException is a syntax error, said the same way.
  Its callers need secretsmanager:ValidateResourcePolicy and secretsmanager:PutResourcePolicy.
- IAM Access Analyzer **ValidatePolicy** (Access Analyzer API Reference): policyType
  RESOURCE_POLICY; ``validatePolicyResourceType`` is left out, as its valid values (S3, IAM trust
  policies, DynamoDB) hold neither a secret nor a key, and "for resource types not supported as
  valid values, IAM Access Analyzer runs policy checks that apply to all resource policies". The
  findings are paged (nextToken): read to the end. An ERROR finding stops the apply; a
  SECURITY_WARNING is said; WARNING and SUGGESTION findings are counted.
- IAM Access Analyzer **CheckNoPublicAccess** (Access Analyzer API Reference): resourceType
  ``AWS::SecretsManager::Secret`` and ``AWS::KMS::Key``; a FAIL ("the policy might allow public
  access") stops the apply: a public secret or key policy exposes the key.

The references: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html,
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicy.html,
https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoPublicAccess.html,
https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html.

A key policy's lock-out is KMS's own to refuse: PutKeyPolicy's policy lockout safety check, which
byoc never bypasses (KMS API Reference, BypassPolicyLockoutSafetyCheck).

What cannot be asked is "not checked", said, never passed: AccessDenied (these credentials may
not call it), NotImplemented or HTTP 501 (the endpoint does not offer it — the embedded emulator
answers only what its evaluator decides, and says what it does not: ``/byoc-emulator/info``), and
a policy the plan knows only during apply (a first deploy: the documents name the secret and the
key that apply creates), which ``byoc doctor`` checks once applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cli.observers.verdicts import NotChecked, ask

SECRET_POLICY, KEY_POLICY = "aws_secretsmanager_secret_policy", "aws_kms_key_policy"
#: resource type -> (what it is called, Access Analyzer's resourceType, the attribute naming the resource)
KINDS = {SECRET_POLICY: ("the secret policy", "AWS::SecretsManager::Secret", "secret_arn"),
         KEY_POLICY: ("the key policy", "AWS::KMS::Key", "key_id")}
VALIDATE_RESOURCE_POLICY = "Secrets Manager ValidateResourcePolicy"
VALIDATE_POLICY = "IAM Access Analyzer ValidatePolicy"
NO_PUBLIC_ACCESS = "IAM Access Analyzer CheckNoPublicAccess"
#: The operation each source is, in the emulator's notes (``/byoc-emulator/info``, "validators").
OPERATIONS = {VALIDATE_RESOURCE_POLICY: "ValidateResourcePolicy", VALIDATE_POLICY: "ValidatePolicy",
              NO_PUBLIC_ACCESS: "CheckNoPublicAccess"}


@dataclass(frozen=True)
class Policy:
    """One secret or key policy: the plan's (``address``) or AWS's, its document (None: known only
    during apply) and the secret or key it is for, when known."""

    type: str
    address: str
    document: str | None
    resource: str | None = None

    @property
    def label(self) -> str:
        return KINDS[self.type][0]


def planned(plan: dict) -> list[Policy]:
    """The secret and key policies a plan (``terraform show -json``) creates or updates, with
    their planned documents: ``resource_changes[].change.after``, unless ``after_unknown`` marks
    the document as known only during apply."""
    found = []
    for change in plan.get("resource_changes") or []:
        actions = set((change.get("change") or {}).get("actions") or ())
        if change.get("type") not in KINDS or not actions & {"create", "update"}:
            continue
        after = change["change"].get("after") or {}
        unknown = change["change"].get("after_unknown") or {}
        attribute = KINDS[change["type"]][2]
        found.append(Policy(change["type"], change["address"],
                            None if unknown.get("policy") else after.get("policy"),
                            None if unknown.get(attribute) else after.get(attribute)))
    return found


@dataclass(frozen=True)
class Finding:
    policy: str
    source: str
    text: str
    #: Stops an apply (an error, a lock-out, public access); else said only.
    stops: bool

    def line(self) -> str:
        return f"{self.policy}: {self.source}: {self.text}"


@dataclass
class Validation:
    findings: list[Finding] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)
    passed: list[str] = field(default_factory=list)

    @property
    def stops(self) -> list[Finding]:
        return [f for f in self.findings if f.stops]

    def lines(self) -> list[str]:
        out = [f"  passed: {p}" for p in self.passed]
        out += [f"  {'STOP' if f.stops else 'note'}: {f.line()}" for f in self.findings]
        out += [f"  not checked: {n}" for n in self.not_checked]
        return out


def validate(target, policies: list[Policy]) -> Validation:
    """Each policy by each validator that applies to it. AWS errors other than "not offered" /
    "not allowed" are raised (the caller reports them as what AWS said)."""
    result = Validation()
    notes = ((target.emulator_info() or {}).get("validators") or {}) if target.endpoint_url else {}
    for policy in policies:
        if policy.document is None:
            result.not_checked.append(f"{policy.label} ({policy.address}) is known only during apply (it names what "
                                      "this apply creates); `byoc doctor` validates it once applied")
            continue
        checks = [(NO_PUBLIC_ACCESS, _no_public_access), (VALIDATE_POLICY, _validate_policy)]
        if policy.type == SECRET_POLICY:
            checks.insert(0, (VALIDATE_RESOURCE_POLICY, _validate_resource_policy))
        for source, check in checks:
            note = notes.get(OPERATIONS[source])
            label = f"{source} (the emulator: {note})" if note else source
            try:
                found = check(target, policy)
            except NotChecked as exc:
                result.not_checked.append(f"{policy.label}: {source}: {exc}")
                continue
            if found:
                result.findings += [Finding(policy.label, label, text, stops) for text, stops in found]
            if not any(stops for _t, stops in found):
                result.passed.append(f"{policy.label}: {label}")
    return result


def _validate_resource_policy(target, policy: Policy) -> list[tuple[str, bool]]:
    from botocore.exceptions import ClientError

    sm = target.client("secretsmanager", attempts=1)
    kwargs = {"ResourcePolicy": policy.document, **({"SecretId": policy.resource} if policy.resource else {})}
    try:
        answer = ask(lambda: sm.validate_resource_policy(**kwargs), "secretsmanager:ValidateResourcePolicy",
                     target.endpoint_url)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        if err.get("Code") == "MalformedPolicyDocumentException":
            return [(f"malformed: {err.get('Message', '')}".rstrip(": "), True)]
        raise
    if answer.get("PolicyValidationPassed"):
        return []
    errors = answer.get("ValidationErrors") or [{"CheckName": "?", "ErrorMessage": "did not pass (no reason given)"}]
    return [(f"{e.get('CheckName', '?')}: {e.get('ErrorMessage', '')}", True) for e in errors]


def _validate_policy(target, policy: Policy) -> list[tuple[str, bool]]:
    analyzer = target.client("accessanalyzer", attempts=1)

    def every_page() -> list[dict]:
        found = []
        for page in analyzer.get_paginator("validate_policy").paginate(policyDocument=policy.document,
                                                                       policyType="RESOURCE_POLICY"):
            found += page.get("findings", [])
        return found

    findings = ask(every_page, "access-analyzer:ValidatePolicy", target.endpoint_url)
    out = [(f"{f.get('findingType')} {f.get('issueCode', '')}: {f.get('findingDetails', '')}",
            f.get("findingType") == "ERROR")
           for f in findings if f.get("findingType") in ("ERROR", "SECURITY_WARNING")]
    minor = [f for f in findings if f.get("findingType") not in ("ERROR", "SECURITY_WARNING")]
    if minor:
        out.append((f"{len(minor)} warning or suggestion finding(s): "
                    + "; ".join(sorted({str(f.get('issueCode')) for f in minor})), False))
    return out


def _no_public_access(target, policy: Policy) -> list[tuple[str, bool]]:
    analyzer = target.client("accessanalyzer", attempts=1)
    answer = ask(lambda: analyzer.check_no_public_access(policyDocument=policy.document,
                                                         resourceType=KINDS[policy.type][1]),
                 "access-analyzer:CheckNoPublicAccess", target.endpoint_url)
    if answer.get("result") == "PASS":
        return []
    reasons = "; ".join(r.get("description", "") for r in answer.get("reasons") or ()) or answer.get("message", "")
    return [(f"may grant public access: {reasons}", True)]


def applied(target, outputs: dict) -> list[Policy]:
    """The secret policy and key policy as AWS holds them (GetResourcePolicy; GetKeyPolicy, whose
    only policy name is ``default``)."""
    secret, key = outputs["byoc_secret_arn"], outputs.get("kms_key_arn")
    found = [Policy(SECRET_POLICY, "the deployed secret", target.client("secretsmanager").get_resource_policy(
        SecretId=secret).get("ResourcePolicy"), secret)]
    if key:
        text = target.client("kms").get_key_policy(KeyId=key, PolicyName="default")["Policy"]
        found.append(Policy(KEY_POLICY, "the deployed key", text if isinstance(text, str) else json.dumps(text), key))
    return found
