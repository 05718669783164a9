"""Gap 11: moto enforces no identity, resource, key or VPC endpoint policy — the emulator's
authorizer asks an independent evaluator, with the request context AWS would give.

moto stores every policy and enforces none, so against moto alone nothing is ever denied: a
lockdown that shuts out the execution role, a key policy that no longer delegates to the
account, a detached read grant — every task still starts. The emulator judges the requests
that decide this stack's outcome with ``@cloud-copilot/iam-simulate`` (``cli/core/evaluator``:
not byoc's code, so byoc is never proven by byoc) over the documents moto holds:

- a task start, as the execution role (``ecs_tasks.py``): the secret read and its decryption,
  the ECR pull, the awslogs stream;
- the caller's own Secrets Manager and KMS requests (``secretsmanager.py``, ``kms.py``);
- IAM's policy simulator, SimulatePrincipalPolicy and SimulateCustomPolicy (``iam_simulator.py``),
  over the policies this module reads for an IAM user, group or role (``entity``).

A request is judged the way AWS's evaluation logic documents it (IAM User Guide, "Policy
evaluation logic" and "Cross-account policy evaluation logic"; KMS Developer Guide, "Key
policies"): the principal's identity policies (attached managed, inline and its groups') and
permissions boundary, the resource's policy (the secret's, the key's, the repository's), and the
policy of the VPC endpoint the request came through. The caller: an IAM user or assumed role moto
issued the access key to; any other key (the emulator's ``testing`` credentials) is the
emulator's operator, an administrator (``Allow *:*``), as a deployer usually is, calling from
outside every VPC.

Not evaluated (the README's emulator section lists them): service control and resource control
policies, session policies, the root user, and requests other than those above. When the
evaluator cannot answer (it dropped a context key a policy reads, an invalid policy), the
emulator fails the request or the task start saying so — it never makes up an allow. Without
the evaluator installed, ``start`` says in one line that policies are not evaluated, and
``GET /byoc-emulator/info`` tells byoc, which then says "not evaluated" wherever it would claim
a policy proof.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

#: The emulator's operator: any access key moto did not issue (``testing``). AWS names a user so.
OPERATOR_POLICY = ("AdministratorAccess (the emulator's operator)",
                   {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})

_lock = threading.Lock()
_state: dict[str, Any] = {"evaluator": None, "why_not": "not started"}


def start(say: Callable[[str], Any] = print) -> bool:
    """Start the evaluator (installing it from byoc's pinned lockfile on first use); say in one
    line when policies cannot be evaluated. Returns whether they are."""
    from cli.core.evaluator import Evaluator, EvaluatorUnavailable, ensure

    with _lock:
        if _state["evaluator"] is not None:
            return True
        try:
            _state["evaluator"] = Evaluator(ensure(say))
            _state["why_not"] = None
        except EvaluatorUnavailable as exc:
            _state["why_not"] = str(exc)
            say(f"byoc emulator: policies are NOT evaluated (every request is allowed as by moto): {exc}")
    return _state["evaluator"] is not None


def stop() -> None:
    with _lock:
        if _state["evaluator"] is not None:
            _state["evaluator"].close()
        _state.update(evaluator=None, why_not="stopped")


def info() -> dict[str, Any]:
    """What ``GET /byoc-emulator/info`` answers: whether policies are evaluated, and by what."""
    from cli.core.evaluator import EVALUATOR

    on = _state["evaluator"] is not None
    return {"policies": "evaluated" if on else "not evaluated", "evaluator": EVALUATOR if on else None,
            "why_not": None if on else _state["why_not"]}


# --- who is asking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    #: The ARN AWS names in an access-denied message (a user, or an assumed-role session).
    arn: str
    account: str
    #: aws:PrincipalArn: a user's ARN, or the role's for an assumed-role session.
    principal_arn: str
    identity_policies: tuple[tuple[str, dict], ...] = ()
    boundary: dict | None = None
    partition: str = "aws"


def _doc(text: Any) -> dict:
    if isinstance(text, dict):
        return text
    from urllib.parse import unquote

    try:
        return json.loads(text)
    except ValueError:
        return json.loads(unquote(text))  # IAM returns documents URL-encoded


def _iam(account: str):
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _text(text: Any) -> str:
    """A policy document's text as IAM holds it (moto keeps some URL-encoded, as IAM returns them)."""
    if isinstance(text, dict):
        return json.dumps(text)
    from urllib.parse import unquote

    try:
        json.loads(text)
        return text
    except ValueError:
        return unquote(text)


@dataclass(frozen=True)
class Document:
    """One policy that applies to an IAM entity, named as IAM's policy simulator names it (IAM API
    Reference, "Statement": SourcePolicyId, the policy's name; SourcePolicyType, one of user |
    group | role for an inline policy, aws-managed | user-managed for a managed one)."""

    id: str
    type: str
    document: dict
    text: str  #: the document as written, for the statements' positions


def _managed_document(policy) -> Document:
    """A managed policy at its default version."""
    version = next((v for v in policy.versions if v.is_default), None)
    text = version.document if version else policy.document
    return Document(policy.name, "aws-managed" if ":aws:policy/" in policy.arn else "user-managed", _doc(text),
                    _text(text))


def _documents(holder, kind: str) -> list[Document]:
    """A user's, group's or role's managed policies, then its inline ones (``kind``)."""
    return [_managed_document(p) for p in holder.managed_policies.values()] + \
        [Document(name, kind, _doc(text), _text(text)) for name, text in holder.policies.items()]


def _boundary_document(iam, arn: str | None) -> Document | None:
    if not arn:
        return None
    try:
        return _managed_document(iam.get_policy(arn))
    except Exception:  # noqa: BLE001 - a boundary that no longer exists: AWS denies; so does an empty one
        empty = {"Version": "2012-10-17", "Statement": []}
        return Document(arn.rsplit("/", 1)[-1], "user-managed", empty, json.dumps(empty))


@dataclass(frozen=True)
class Entity:
    """An IAM user, group or role and the policies that apply to it: its own (attached managed and
    inline), a user's groups' too, and its permissions boundary."""

    kind: str  #: user | group | role
    arn: str
    name: str
    documents: tuple[Document, ...]
    boundary: Document | None


def _find_role(iam, role_arn: str):
    name = role_arn.rsplit("/", 1)[-1]
    return next((r for r in iam.roles.values() if r.arn == role_arn), None) or \
        next((r for r in iam.roles.values() if r.name == name), None)


def _role_entity(iam, role) -> Entity:
    return Entity("role", role.arn, role.name, tuple(_documents(role, "role")),
                  _boundary_document(iam, role.permissions_boundary_arn))


def _user_entity(iam, user) -> Entity:
    documents = _documents(user, "user")
    for group in iam.groups.values():
        if any(u.name == user.name for u in group.users):
            documents += _documents(group, "group")
    return Entity("user", user.arn, user.name, tuple(documents),
                  _boundary_document(iam, getattr(user, "permissions_boundary", None)))


def entity(account: str, arn: str) -> Entity | None:
    """The IAM user, group or role ``arn`` names (exactly, path included), or None when there is
    none in ``account``."""
    iam = _iam(account)
    kind = arn.split(":", 5)[-1].split("/", 1)[0] if arn.count(":") >= 5 else ""
    if kind == "role":
        role = next((r for r in iam.roles.values() if r.arn == arn), None)
        return _role_entity(iam, role) if role else None
    if kind == "user":
        user = next((u for u in iam.users.values() if u.arn == arn), None)
        return _user_entity(iam, user) if user else None
    if kind == "group":
        group = next((g for g in iam.groups.values() if g.arn == arn), None)
        return Entity("group", group.arn, group.name, tuple(_documents(group, "group")), None) if group else None
    return None


def role_principal(account: str, role_arn: str, session: str) -> Principal:
    """A role's session (a task's execution role, ``arn:aws:sts::ACCT:assumed-role/NAME/SESSION``)."""
    iam = _iam(account)
    name = role_arn.rsplit("/", 1)[-1]
    role = _find_role(iam, role_arn)
    partition = role_arn.split(":")[1] if role_arn.startswith("arn:") else "aws"
    session_arn = f"arn:{partition}:sts::{account}:assumed-role/{name}/{session}"
    if role is None:  # a role that does not exist has no policies: everything is denied
        return Principal(session_arn, account, role_arn, partition=partition)
    found = _role_entity(iam, role)
    return Principal(session_arn, account, role.arn, tuple((d.id, d.document) for d in found.documents),
                     found.boundary.document if found.boundary else None, partition)


def user_principal(account: str, user) -> Principal:
    found = _user_entity(_iam(account), user)
    return Principal(user.arn, account, user.arn, tuple((d.id, d.document) for d in found.documents),
                     found.boundary.document if found.boundary else None)


def caller(access_key: str | None, account: str) -> Principal:
    """Who signed a request: the IAM user or assumed role moto issued ``access_key`` to, else the
    emulator's operator."""
    from moto.sts.models import sts_backends

    iam = _iam(account)
    user = iam.get_user_from_access_key_id(access_key) if access_key else None
    if user is not None:
        return user_principal(account, user)
    assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key) if access_key else None
    if assumed is not None:
        role_arn = assumed.role_arn
        return role_principal(account, role_arn, assumed.session_name)
    return Principal(f"arn:aws:iam::{account}:user/moto", account, f"arn:aws:iam::{account}:user/moto",
                     (OPERATOR_POLICY,))


def access_key_of(environ: dict) -> str | None:
    """The access key id of a SigV4-signed request (``Credential=AKID/date/region/service/...``)."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker not in auth:
        return None
    return auth.split(marker, 1)[1].split("/", 1)[0]


def region_of(environ: dict, default: str = "us-east-1") -> str:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    try:
        return auth.split("Credential=", 1)[1].split("/")[2]
    except IndexError:
        return default


# --- the verdict -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: AWS's access-denied message (IAM User Guide, "Troubleshoot access denied error messages"),
    #: or why the evaluator could not judge; empty when allowed.
    message: str = ""
    #: The evaluator could not judge: the request must fail, never pass as allowed.
    not_evaluated: bool = False
    decided_by: tuple[str, ...] = field(default_factory=tuple)


#: AWS's words for the kind of policy that decided (IAM User Guide, "Access denied error messages").
_KINDS = {"identity": "identity-based policy", "resource": "resource-based policy", "vpce": "VPC endpoint policy",
          "pb": "permissions boundary", "scp": "service control policy", "rcp": "resource control policy",
          "session": "session policy"}


def evaluating() -> bool:
    """Whether policies are evaluated (the evaluator started)."""
    return _state["evaluator"] is not None


class EvaluatorStopped(Exception):
    """The evaluator was started but can no longer answer (its process failed twice)."""


def evaluate(request):
    """The independent evaluator's Decision on a ``cli.core.evaluator.PolicyRequest``; None when
    policies are not evaluated. Raises EvaluatorStopped when the evaluator can no longer answer."""
    from cli.core.evaluator import EvaluatorUnavailable

    evaluator = _state["evaluator"]
    if evaluator is None:
        return None
    try:
        return evaluator.evaluate(request)
    except EvaluatorUnavailable as exc:
        raise EvaluatorStopped(str(exc)) from None


def authorize(who: Principal, action: str, resource: str, resource_account: str, *,
              context: dict[str, Any] | None = None, resource_policy: Any = None,
              endpoint_policies: list[tuple[str, Any]] | None = None) -> Verdict:
    """Judge one request; allowed when policies are not evaluated (moto's behaviour, said at start)."""
    from cli.core.evaluator import PolicyRequest

    if not evaluating():
        return Verdict(True)
    request = PolicyRequest(
        principal=who.arn, action=action, resource=resource, resource_account=resource_account,
        context={"aws:PrincipalArn": who.principal_arn, "aws:PrincipalAccount": who.account, **(context or {})},
        identity_policies=who.identity_policies,
        resource_policy=_doc(resource_policy) if resource_policy else None,
        permission_boundary=who.boundary,
        vpc_endpoint_policies=tuple((n, _doc(p)) for n, p in endpoint_policies or ()))
    try:
        decision = evaluate(request)
    except EvaluatorStopped as exc:
        return Verdict(False, f"byoc emulator: the policy evaluator stopped ({exc})", True)
    if decision is None:  # stopped between the two looks
        return Verdict(True)
    if decision.allowed:
        return Verdict(True, decided_by=decision.decided_by)
    if decision.result == "NotEvaluated":
        return Verdict(False, f"byoc emulator: cannot evaluate {action} on {resource}: {decision.reason}", True,
                       decision.decided_by)
    kind = next((_KINDS[k] for k in decision.policy_types if k in _KINDS), _KINDS["identity"])
    if decision.result == "ExplicitlyDenied":
        why = f"with an explicit deny in a {kind}"
    else:
        why = f"because no {kind} allows the {action} action"
    return Verdict(False, f"User: {who.arn} is not authorized to perform: {action} on resource: {resource} {why}",
                   decided_by=decision.decided_by)


# --- the documents moto holds ---------------------------------------------------------------------------

def find_secret(account: str, region: str, secret_id: str):
    """The moto secret a SecretId names (name, full ARN or partial ARN), or None."""
    from moto.secretsmanager.models import secretsmanager_backends

    for secret in secretsmanager_backends[account][region].secrets.values():
        arn = getattr(secret, "arn", "")
        if secret_id in (getattr(secret, "name", None), arn) or (secret_id.startswith("arn:") and arn.startswith(secret_id)):
            return secret
    return None


def find_key(account: str, region: str, key_id: str | None):
    """The moto KMS key a KeyId names (id, ARN, alias name or alias ARN), or None (the AWS-managed
    key aws/secretsmanager, which moto does not model: no policy to judge)."""
    from moto.kms.models import kms_backends

    if not key_id:
        return None
    backend = kms_backends[account][region]
    try:
        return backend.describe_key(key_id)
    except Exception:  # noqa: BLE001 - NotFoundException and moto's other lookups
        return None


def secret_key(account: str, region: str, secret):
    """The customer-managed key the secret is encrypted with, or None for AWS's default key."""
    key_id = getattr(secret, "kms_key_id", None)
    if not key_id or key_id.endswith("aws/secretsmanager"):
        return None
    return find_key(account, region, key_id)


def secretsmanager_via(region: str) -> str:
    from constructs_lib.catalog import secretsmanager_via as via

    return via(region)


def decrypt_through_secrets_manager(who: Principal, region: str, secret, action: str = "kms:Decrypt") -> Verdict:
    """The KMS call Secrets Manager makes for ``who`` when it reads (Decrypt) or stores
    (GenerateDataKey) a value encrypted with a customer-managed key: ``kms:ViaService`` is Secrets
    Manager, the encryption context names the secret (Secrets Manager User Guide, "Secret
    encryption and decryption in AWS Secrets Manager"); the key policy decides."""
    key = secret_key(who.account, region, secret)
    if key is None:
        return Verdict(True)
    context = {"kms:ViaService": secretsmanager_via(region), "kms:CallerAccount": who.account,
               "kms:EncryptionContext:SecretARN": secret.arn}
    return authorize(who, action, key.arn, key.account_id, context=context, resource_policy=key.policy)
