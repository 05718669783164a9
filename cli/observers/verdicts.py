"""Who may read the secret, judged the way AWS judges it — by evaluators that are not byoc.

byoc's reader (``cli/core/policy.py``) says what the documents byoc wrote say; these verdicts
come from elsewhere, each naming its source:

1. **AWS's IAM policy simulator** (``iam:SimulatePrincipalPolicy``), for a role's *identity*
   policies only. The API reference decides the request's shape: "CallerArn is required if you
   include a ResourcePolicy and the PolicySourceArn is not the ARN for an IAM user", and CallerArn
   "can only be the ARN of an IAM user" — so a role (the execution and task roles) can be simulated
   against its identity policies, never together with the secret's or the key's policy. The
   request carries no ResourcePolicy; results are paged (``IsTruncated``/``Marker``, read to the
   end by botocore's paginator). IAM is eventually consistent: a policy changed moments ago may
   not be what the simulator sees yet (IAM User Guide, "Changes that I make are not always
   immediately visible").
2. **The independent evaluator** (``cli/core/evaluator``, ``@cloud-copilot/iam-simulate``) for the
   whole chain AWS evaluates on a read — the role's identity policies, the secret's resource
   policy, the key policy, the Secrets Manager endpoint's policy — over the documents read from
   AWS, with the request context a task start gives (``aws:SourceVpce``/``aws:SourceVpc`` through
   the endpoint; ``kms:ViaService`` = Secrets Manager on the decrypt). Used when installed
   (``byoc evaluator install``); byoc never installs it unasked on a real account.

What neither can answer is said as such ("not evaluated"), never as an allow; an AWS error is
reported as what it is, and "does not implement" only when the service said NotImplemented.
For the simulator (IAM API Reference, SimulatePrincipalPolicy, "Errors"): ``PolicyEvaluation``
(HTTP 500, "a provided policy could not be successfully evaluated") is "not evaluated" with what
AWS said; ``InvalidInput`` and ``NoSuchEntity`` (HTTP 404: a role that does not exist) are raised
for the caller to report as what AWS said; ``AccessDenied`` and ``NotImplemented`` (HTTP 501) are
"not checked" (these credentials may not call it; the endpoint does not implement it).
IAM Access Analyzer's ``CheckNoPublicAccess`` is asked about the secret policy too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from constructs_lib.catalog import SECRET_READ_ACTION, secretsmanager_via

#: A VPC endpoint id that is not the stack's: reads through it must be denied.
OTHER_VPCE = "vpce-0a0a0a0a0a0a0a0a0"
SIMULATOR = "AWS IAM policy simulator (identity policies)"
ALLOWED, DENIED, UNKNOWN = "allowed", "denied", "not evaluated"
#: Error codes that mean the service does not offer the operation (IAM API Reference, "Common
#: Errors": NotImplemented, HTTP 501; InvalidAction for an unknown action).
NOT_OFFERED = ("NotImplemented", "InvalidAction", "UnknownOperationException")


class NotChecked(Exception):
    """An evaluator could not be asked; the message says why."""


def ask(call: Callable[[], Any], operation: str, endpoint_url: str | None):
    """``call()``; NotChecked when the service does not offer ``operation`` or these credentials
    may not call it. Any other AWS error is raised as it is (reported by the caller)."""
    from botocore.exceptions import ClientError
    from botocore.parsers import ResponseParserError  # not a BotoCoreError

    try:
        return call()
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, status = err.get("Code", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise NotChecked(f"these credentials may not call {operation} (allow it to get AWS's verdict)") from None
        if code in NOT_OFFERED or status == 501:
            raise NotChecked(f"{endpoint_url or 'the endpoint'} does not implement {operation}") from None
        raise
    except ResponseParserError:  # an answer that is not AWS's (an HTML page where XML was due)
        raise NotChecked(f"{endpoint_url or 'the endpoint'} answered {operation} with a body that is not AWS's") from None


@dataclass(frozen=True)
class Verdict:
    principal: str
    question: str
    decision: str  # allowed | denied | not evaluated
    expected: str  # allowed | denied
    source: str
    decided_by: tuple[str, ...] = field(default_factory=tuple)
    why: str = ""
    #: The kinds of policy that decided (identity, resource, vpce, pb, ...): a denial the secret
    #: policy decides is "resource"; one the role's own policies decide is "identity".
    kinds: tuple[str, ...] = ()
    #: A Deny statement decided (an explicit deny), not the absence of an Allow.
    explicit: bool = False

    @property
    def by_resource_policy(self) -> bool:
        """A read the secret policy itself denies (a Deny statement of it), where a read was
        expected. byoc's secret policy holds no Allow, so an implicit deny is never its doing."""
        return self.ok is False and self.expected == ALLOWED and self.explicit and "resource" in self.kinds \
            and self.question.startswith("GetSecretValue")

    @property
    def ok(self) -> bool | None:
        """Whether the verdict is the expected one; None when nothing was evaluated."""
        return None if self.decision == UNKNOWN else self.decision == self.expected

    def line(self) -> str:
        who = self.principal.rsplit("/", 1)[-1]
        by = f" ({'; '.join(self.decided_by)})" if self.decided_by else (f" ({self.why})" if self.why else "")
        return f"{who} {self.question}: {self.decision}{by} [{self.source}]"


@dataclass(frozen=True)
class Documents:
    """What AWS holds that decides a read: read once, judged many times."""

    account: str
    region: str
    secret_arn: str
    key_arn: str
    vpce: str
    vpc_id: str | None
    secret_policy: dict | None
    key_policy: dict | None
    endpoint_policy: dict | None


def _json(text: Any) -> dict | None:
    import json

    if not text:
        return None
    return text if isinstance(text, dict) else json.loads(text)


def read_documents(target, outputs: dict) -> Documents:
    sm, kms, ec2 = target.client("secretsmanager"), target.client("kms"), target.client("ec2")
    secret_arn, key_arn, vpce = outputs["byoc_secret_arn"], outputs["kms_key_arn"], outputs["secretsmanager_vpce_id"]
    endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"] if vpce else []
    return Documents(
        account=secret_arn.split(":")[4], region=target.region, secret_arn=secret_arn, key_arn=key_arn, vpce=vpce,
        vpc_id=endpoints[0].get("VpcId") if endpoints else outputs.get("vpc_id"),
        secret_policy=_json(sm.get_resource_policy(SecretId=secret_arn).get("ResourcePolicy")),
        # GetKeyPolicy: "PolicyName ... The only valid name is default" (KMS API Reference).
        key_policy=_json(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]),
        endpoint_policy=_json(endpoints[0].get("PolicyDocument")) if endpoints else None)


def actual_arn(iam, arn: str) -> str | None:
    """The principal's ARN as AWS puts it in ``aws:PrincipalArn`` — a role's includes its path
    (``role/team/name``), which an ARN typed without it does not — or None when IAM has no such
    role (GetRole: NoSuchEntity, HTTP 404)."""
    from botocore.exceptions import ClientError

    if ":role/" not in arn:
        return arn
    try:
        return iam.get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]["Arn"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise


def identity_policies(iam, role_arn: str) -> list[tuple[str, dict]]:
    """A role's identity policies as AWS evaluates them: every attached managed policy's default
    version and every inline policy. Both lists are paged (``IsTruncated``/``Marker``): read to the
    end."""
    name = role_arn.rsplit("/", 1)[-1]
    found: list[tuple[str, dict]] = []
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for attached in page["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]
            found.append((attached["PolicyName"], _json(_decoded(document["Document"]))))
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy in page["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
            found.append((policy, _json(_decoded(document))))
    return found


def _decoded(document: Any) -> Any:
    """IAM returns policy documents URL-encoded (RFC 3986); botocore decodes them, an endpoint
    that does not may hand them over still encoded."""
    from urllib.parse import unquote

    return unquote(document) if isinstance(document, str) and document.startswith("%7B") else document


# --- 1. AWS's simulator: identity policies only ------------------------------------------------------

def _simulated(iam, principal: str, action: str, resource: str, context: dict[str, str]
               ) -> tuple[str, tuple[str, ...], str]:
    """One action on one resource for a role's identity policies: (allowed | denied | not
    evaluated, the statements AWS says decided, why). Every page is read (IsTruncated/Marker).

    AWS's ``PolicyEvaluation`` error ("a provided policy could not be successfully evaluated",
    HTTP 500) is no verdict: "not evaluated", with what AWS said. Any other AWS error is raised."""
    from botocore.exceptions import ClientError

    entries = [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"} for k, v in context.items()]
    results = []
    try:
        for page in iam.get_paginator("simulate_principal_policy").paginate(
                PolicySourceArn=principal, ActionNames=[action], ResourceArns=[resource], ContextEntries=entries):
            results += page["EvaluationResults"]
    except ClientError as exc:
        err = exc.response.get("Error", {})
        if err.get("Code") != "PolicyEvaluation":
            raise
        return UNKNOWN, (), f"AWS said PolicyEvaluation: {err.get('Message', '')}".rstrip(": ")
    if not results:
        return UNKNOWN, (), "AWS's simulator returned no result"
    decision = ALLOWED if all(r["EvalDecision"] == "allowed" for r in results) else DENIED
    by = tuple(dict.fromkeys(f"{r['EvalDecision']} by {m.get('SourcePolicyType', 'a')} policy {m['SourcePolicyId']}"
                             for r in results for m in r.get("MatchedStatements") or [] if m.get("SourcePolicyId")))
    missing = sorted({k for r in results for k in r.get("MissingContextValues") or []})
    why = "; ".join(r["EvalDecision"] for r in results)
    return decision, by, why + (f", missing context values {', '.join(missing)}" if missing else "")


def simulator_verdicts(target, docs: Documents, readers: list[str]) -> list[Verdict]:
    """The identity side of each reader, by AWS's simulator (raises NotChecked when it cannot be
    asked). A principal IAM does not know (NoSuchEntity, HTTP 404) is said as such."""
    from botocore.exceptions import ClientError

    iam = target.client("iam", attempts=1)
    questions = (("identity policies allow GetSecretValue on the secret", SECRET_READ_ACTION, docs.secret_arn,
                  {"aws:SourceVpce": docs.vpce}),
                 ("identity policies allow kms:Decrypt via Secrets Manager", "kms:Decrypt", docs.key_arn,
                  {"kms:ViaService": secretsmanager_via(docs.region)}))

    def one(principal: str) -> list[Verdict]:
        found = []
        for question, action, resource, context in questions:
            try:
                decision, by, why = _simulated(iam, principal, action, resource, context)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":  # HTTP 404: said as such
                    return [Verdict(principal, "exists", DENIED, ALLOWED, SIMULATOR,
                                    why="IAM answers NoSuchEntity: no such principal in this account")]
                raise
            found.append(Verdict(principal, question, decision, ALLOWED, SIMULATOR, by, why,
                                 kinds=("identity",) if decision == DENIED else ()))
        return found

    verdicts: list[Verdict] = []
    for reader in readers:
        verdicts += ask(lambda: one(reader), "iam:SimulatePrincipalPolicy", target.endpoint_url)
    return verdicts


# --- 2. The independent evaluator: the whole chain ---------------------------------------------------

def evaluator_verdicts(target, docs: Documents, readers: list[str], evaluator=None) -> list[Verdict]:
    """Each reader's read through the endpoint (allowed), through another endpoint and from
    outside any (denied), and its decrypt through Secrets Manager (allowed), by the independent
    evaluator over the documents AWS holds. Raises NotChecked when it is not installed."""
    from cli.core.evaluator import EVALUATOR, Evaluator, EvaluatorUnavailable, PolicyRequest, locate

    try:
        owned = None
        if evaluator is None:
            folder = locate()
            if folder is None:
                raise NotChecked("the independent policy evaluator is not installed (`byoc evaluator install`)")
            evaluator = owned = Evaluator(folder)
    except EvaluatorUnavailable as exc:
        raise NotChecked(str(exc)) from None
    iam = target.client("iam")
    verdicts = []
    try:
        for reader in readers:
            principal = actual_arn(iam, reader)
            if principal is None:
                verdicts += [Verdict(reader, "exists", DENIED, ALLOWED, "IAM", why="IAM answers NoSuchEntity: no such "
                                     "principal in this account")]
                continue
            identity = identity_policies(iam, principal)
            endpoint = [(docs.vpce, docs.endpoint_policy)] if docs.endpoint_policy else []
            paths = ((f"GetSecretValue via {docs.vpce}", {"aws:SourceVpce": docs.vpce, "aws:SourceVpc": docs.vpc_id},
                      endpoint, ALLOWED),
                     ("GetSecretValue via another endpoint", {"aws:SourceVpce": OTHER_VPCE}, [], DENIED),
                     ("GetSecretValue from outside any endpoint", {}, [], DENIED))
            for question, context, endpoints, expected in paths:
                decision = evaluator.evaluate(PolicyRequest(
                    principal, SECRET_READ_ACTION, docs.secret_arn, docs.account,
                    {k: v for k, v in context.items() if v}, identity, docs.secret_policy, None, endpoints))
                verdicts.append(_verdict(principal, question, decision, expected, EVALUATOR))
            decision = evaluator.evaluate(PolicyRequest(
                principal, "kms:Decrypt", docs.key_arn, docs.key_arn.split(":")[4],
                {"kms:ViaService": secretsmanager_via(docs.region), "kms:CallerAccount": principal.split(":")[4]},
                identity, docs.key_policy))
            verdicts.append(_verdict(principal, "kms:Decrypt via Secrets Manager", decision, ALLOWED, EVALUATOR))
    except EvaluatorUnavailable as exc:
        raise NotChecked(str(exc)) from None
    finally:
        if owned is not None:
            owned.close()
    return verdicts


def _verdict(principal: str, question: str, decision, expected: str, source: str) -> Verdict:
    result = {"Allowed": ALLOWED, "ExplicitlyDenied": DENIED, "ImplicitlyDenied": DENIED}.get(decision.result, UNKNOWN)
    return Verdict(principal, question, result, expected, source, decision.decided_by,
                   decision.reason if result == UNKNOWN else "", decision.policy_types if result == DENIED else (),
                   decision.result == "ExplicitlyDenied")


@dataclass
class Judgement:
    """Both evaluators' verdicts, and what could not be asked (by which, and why)."""

    verdicts: list[Verdict] = field(default_factory=list)
    not_checked: list[str] = field(default_factory=list)

    @property
    def wrong(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.ok is False]

    @property
    def unknown(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.ok is None]


def judge_readers(target, outputs: dict, readers: list[str]) -> Judgement:
    """Every reader by both evaluators. AWS errors other than "not offered" / "not allowed" are
    raised (the caller reports them as what AWS said)."""
    docs = read_documents(target, outputs)
    judgement = Judgement()
    for name, source in (("AWS's IAM policy simulator", simulator_verdicts),
                         ("the independent evaluator", evaluator_verdicts)):
        try:
            judgement.verdicts += source(target, docs, readers)
        except NotChecked as exc:
            judgement.not_checked.append(f"{name}: {exc}")
    return judgement


#: An administrator's identity policy (AWS's AdministratorAccess): what a broad role of this or
#: another account holds, for the matrix of who may read.
ADMIN = ("AdministratorAccess", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                                         "Resource": "*"}]})


@dataclass(frozen=True)
class Cell:
    who: str
    path: str
    action: str
    decision: str
    decided_by: tuple[str, ...]


def reader_matrix(target, outputs: dict, evaluator) -> list[Cell]:
    """Who may read and decrypt the secret, through which path, and the statement that decided —
    by the independent evaluator over the policies AWS holds: the execution and task roles (their
    real identity policies), an administrator role of this account not on the reader list, and an
    administrator role of another account."""
    from cli.core.evaluator import PolicyRequest

    docs = read_documents(target, outputs)
    iam = target.client("iam")
    other_account = "999999999999" if docs.account != "999999999999" else "111111111111"
    who = [("execution role", outputs["ecs_execution_role_arn"],
            identity_policies(iam, outputs["ecs_execution_role_arn"])),
           ("task role", outputs["ecs_task_role_arn"], identity_policies(iam, outputs["ecs_task_role_arn"])),
           ("an admin role of this account", f"arn:aws:iam::{docs.account}:role/an-admin", [ADMIN]),
           ("an admin role of another account", f"arn:aws:iam::{other_account}:role/an-admin", [ADMIN])]
    endpoint = [(docs.vpce, docs.endpoint_policy)] if docs.endpoint_policy else []
    cells = []
    for label, arn, identity in who:
        for path, context, endpoints in ((f"through {docs.vpce}", {"aws:SourceVpce": docs.vpce,
                                                                    "aws:SourceVpc": docs.vpc_id}, endpoint),
                                         ("from outside the VPC", {}, [])):
            decision = evaluator.evaluate(PolicyRequest(arn, SECRET_READ_ACTION, docs.secret_arn, docs.account,
                                                        {k: v for k, v in context.items() if v}, identity,
                                                        docs.secret_policy, None, endpoints))
            cells.append(Cell(label, path, "GetSecretValue", _verdict(arn, "", decision, ALLOWED, "").decision,
                              decision.decided_by))
        decision = evaluator.evaluate(PolicyRequest(
            arn, "kms:Decrypt", docs.key_arn, docs.key_arn.split(":")[4],
            {"kms:ViaService": secretsmanager_via(docs.region), "kms:CallerAccount": arn.split(":")[4]},
            identity, docs.key_policy))
        cells.append(Cell(label, "via Secrets Manager", "kms:Decrypt", _verdict(arn, "", decision, ALLOWED, "").decision,
                          decision.decided_by))
    return cells
