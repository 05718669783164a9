"""An independent AWS policy evaluator: @cloud-copilot/iam-simulate in a resident Node process.

byoc's own reader of its documents (``cli/policy.py``) cannot vouch for byoc ("proving byoc with
byoc"). This module asks an evaluator that is not byoc's code: the npm package
``@cloud-copilot/iam-simulate`` 0.1.173 (AGPL-3.0-or-later; its dependencies iam-policy and
iam-utils are AGPL too, iam-data is MIT). Because of that licence byoc does not ship it:

- ``package.json`` / ``package-lock.json`` beside this file pin it (lockfileVersion 3, ``resolved`` and
  ``integrity`` for all four packages); ``install()`` runs ``npm ci`` from them into the user's cache,
  once, and ``locate()`` finds that install (or ``$BYOC_EVALUATOR_DIR``, a folder the user prepared).
- ``server.mjs`` beside this file (byoc's own shim) is run as ``node server.mjs <folder>``: one JSON
  request per line on stdin, one JSON answer per line on stdout. ``Evaluator`` keeps one such process.

Where it is installed: ``$BYOC_EVALUATOR_DIR`` when set (it must hold
``node_modules/@cloud-copilot/iam-simulate`` at exactly 0.1.173; any other version is refused), else
``${BYOC_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/byoc}/evaluator/<12 hex>/``, the hex being the
first 12 of sha256(package-lock.json + server.mjs), so a change to either installs anew beside the
old. The install is atomic (``npm ci`` in a temporary folder beside the target, then one rename),
under an fcntl lock, so processes installing at once (pytest-xdist workers) do not collide.

Rules the client enforces on top of the evaluator, so that a verdict is never wrong silently:

1. ``aws:PrincipalArn`` and ``aws:PrincipalAccount`` are filled from ``PolicyRequest.principal`` unless
   the caller passed them: the evaluator does not derive them, and without them a
   ``ArnNotEquals aws:PrincipalArn`` deny matches everyone. For an assumed-role session
   (``arn:aws:sts::ACCT:assumed-role/NAME/SESSION``) aws:PrincipalArn is the ROLE's ARN
   (``arn:aws:iam::ACCT:role/NAME``): IAM User Guide, "AWS global condition context keys",
   aws:PrincipalArn ("For IAM roles, the request context returns the ARN of the role, not the ARN
   of the user that assumed the role";
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
   A session ARN does not carry the role's path: for a role with a path, pass aws:PrincipalArn yourself.
2. The evaluator drops context keys it does not know for the action (``ignoredContextKeys``; e.g.
   ``kms:EncryptionContext:SecretARN`` on kms:Decrypt). If any policy of the request references a
   dropped key — as a Condition key or as a ``${...}`` policy variable, key names compared
   case-insensitively as IAM does — the decision is ``NotEvaluated`` naming the key, never an allow
   or deny (a condition on a missing key evaluates differently). A dropped key no policy references
   is harmless and only reported in ``ignored_context_keys``.
3. ``resultType`` ``error`` (an invalid policy, an unknown action, ...) is ``NotEvaluated`` with the
   evaluator's message; ``wildcard`` (a resource ARN with ``*``) is ``NotEvaluated`` too: byoc asks
   about one concrete resource.
4. The account root user as the caller is ``NotEvaluated``: the evaluator treats
   ``arn:aws:iam::ACCT:root`` like any principal whose identity policies are the ones given, while
   AWS lets the root user do anything in its account that no policy explicitly denies.
5. ``decided_by`` names the deciding statements: for a deny the evaluator's ``getDenialReasons``
   (policy type, policy name, Sid or statement index; when some are marked ``blocking``, only those),
   for an allow its ``getGrantReasons``.
6. If the node process dies (or stops answering within ``timeout``) it is restarted once for the
   request; if that fails too, ``EvaluatorUnavailable``. Requests and answers carry an id and are
   matched by it; one lock serializes requests, so one ``Evaluator`` is safe from several threads.

Policy evaluation itself is the evaluator's: IAM User Guide, "Policy evaluation logic" (explicit
deny > allow > implicit deny; same-account: identity OR resource policy allows;
reference_policies_evaluation-logic.html) and "Cross-account policy evaluation logic" (both the
identity policy and the resource policy must allow; reference_policies_evaluation-logic-cross-account.html);
AWS KMS Developer Guide, "Key policies" (no IAM policy grants access to a key unless the key policy
allows it, e.g. by delegating to the account: ``"Principal": {"AWS": "arn:aws:iam::ACCT:root"}``;
https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from cli.core.errors import ByocError

PACKAGE = "@cloud-copilot/iam-simulate"
VERSION = "0.1.173"
EVALUATOR = f"{PACKAGE} {VERSION} (AGPL-3.0-or-later)"
#: The files byoc ships for the evaluator (package-data); node_modules is never among them.
FILES = ("package.json", "package-lock.json", "server.mjs")
NPM_CI = ["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--ignore-scripts"]
ENV_DIR = "BYOC_EVALUATOR_DIR"

RESULTS = ("Allowed", "ExplicitlyDenied", "ImplicitlyDenied", "NotEvaluated")
_POLICY_TYPES = {"identity": "identity policy", "resource": "resource policy", "pb": "permission boundary",
                 "vpce": "VPC endpoint policy", "scp": "SCP", "rcp": "RCP", "s3-bpa": "S3 Block Public Access"}
_ARN = re.compile(r"^arn:(?P<partition>[^:]+):(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):(?P<resource>.+)$")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class EvaluatorUnavailable(ByocError):
    """The evaluator cannot run here; the message says why and how to install it."""


@dataclass(frozen=True)
class PolicyRequest:
    """One request context and the policies that apply to it."""

    principal: str  # e.g. a role ARN, or the assumed-role session ARN
    action: str  # "secretsmanager:GetSecretValue"
    resource: str  # ARN
    resource_account: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)  # aws:SourceVpce, kms:ViaService, ...
    identity_policies: Sequence[tuple[str, dict]] = ()  # (name, document)
    resource_policy: dict | None = None  # secret policy / key policy / repository policy
    permission_boundary: dict | None = None
    vpc_endpoint_policies: Sequence[tuple[str, dict]] = ()  # (name, document)


@dataclass(frozen=True)
class Matched:
    """One statement that decided: the kind of policy (identity, resource, pb, vpce, ...), the
    policy's name as given in the PolicyRequest (None for the resource policy), its Sid and its
    1-based index in the policy's Statement list."""

    policy_type: str
    policy: str | None
    sid: str | None
    index: int | None


@dataclass(frozen=True)
class Decision:
    result: str  # "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "NotEvaluated"
    decided_by: tuple[str, ...]  # e.g. ("resource policy: DenyReadToUnlistedPrincipals",)
    reason: str  # one human line; for NotEvaluated, why
    ignored_context_keys: tuple[str, ...] = ()
    #: The kinds of policy that decided, as the evaluator names them (identity, resource, vpce, pb,
    #: scp, rcp, session): what AWS's access-denied message names ("in a resource-based policy").
    policy_types: tuple[str, ...] = ()
    #: The deciding statements, as the evaluator names them (only those it names a statement of:
    #: an implicit deny has none).
    statements: tuple[Matched, ...] = ()
    #: The evaluator's result per kind of policy ("identity", "resource", "permissionBoundary",
    #: "endpoint"): Allowed, ExplicitlyDenied, ImplicitlyDenied or NotApplicable.
    analysis: tuple[tuple[str, str], ...] = ()

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


# --- install / locate ---------------------------------------------------------------------------

def _shipped(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


def _digest() -> str:
    return hashlib.sha256(_shipped("package-lock.json") + _shipped("server.mjs")).hexdigest()[:12]


def _cache_root() -> Path:
    if os.environ.get("BYOC_CACHE_DIR"):
        return Path(os.environ["BYOC_CACHE_DIR"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "byoc"


def _cache_target() -> Path:
    return _cache_root() / "evaluator" / _digest()


def _installed_version(folder: Path) -> str | None:
    try:
        return json.loads((folder / "node_modules" / PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def prepare_commands() -> str:
    """The commands that prepare a folder for ``BYOC_EVALUATOR_DIR`` on a connected machine."""
    here = resources.files(__package__)
    return (f"mkdir byoc-evaluator && cp {here / 'package.json'} {here / 'package-lock.json'} byoc-evaluator/ "
            f"&& (cd byoc-evaluator && {' '.join(NPM_CI)}), then copy that folder here and "
            f"export {ENV_DIR}=<that folder>")


def _env_dir() -> Path | None:
    """``$BYOC_EVALUATOR_DIR`` checked: None when unset; refused unless it holds exactly VERSION."""
    value = os.environ.get(ENV_DIR)
    if not value:
        return None
    folder = Path(value).expanduser()
    found = _installed_version(folder)
    if found is None:
        raise EvaluatorUnavailable(f"{ENV_DIR}={value} holds no node_modules/{PACKAGE}: prepare it with "
                                   f"{prepare_commands()}")
    if found != VERSION:
        raise EvaluatorUnavailable(f"{ENV_DIR}={value} holds {PACKAGE} {found}, but byoc needs exactly {VERSION} "
                                   f"(its lockfile's): prepare it anew with {prepare_commands()}")
    return folder.resolve()


def locate() -> Path | None:
    """The folder holding the evaluator's node_modules: ``$BYOC_EVALUATOR_DIR`` (checked, see
    ``EvaluatorUnavailable``), else the cache's install for this lockfile, else None."""
    env = _env_dir()
    if env is not None:
        return env
    target = _cache_target()
    return target if _installed_version(target) == VERSION else None


#: npm's error lines that say nothing on their own (the error object's fields, the stack, advice).
_NPM_NOISE = ("syscall", "errno", "at ", "{", "}", "code:", "address:", "port:", "type:", "A complete log",
              "If you are behind", "/")


def _npm_failure(proc: subprocess.CompletedProcess) -> str:
    """npm's failure in a few words: its error code and first telling "npm error" line."""
    lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
    errors = [ln.removeprefix("npm error").removeprefix("npm ERR!").strip() for ln in lines
              if ln.startswith(("npm error", "npm ERR!"))]
    errors = [e for e in errors if e and not e.startswith(_NPM_NOISE)]
    return f"npm ci exited with {proc.returncode}: " + ("; ".join(errors[:2]) or (lines[-1] if lines else "no output"))


def install(say: Callable[[str], Any] = print) -> Path:
    """``npm ci`` from byoc's pinned lockfile into the cache (never into ``$BYOC_EVALUATOR_DIR``):
    in a temporary folder beside the target, then renamed into place, under an fcntl lock. Returns
    the folder; if another process installed it meanwhile, that one."""
    target = _cache_target()
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _installed_version(target) == VERSION:
            return target
        npm = shutil.which("npm")
        if npm is None:
            raise EvaluatorUnavailable(f"the policy evaluator needs npm (Node.js) to install {PACKAGE}: install "
                                       f"Node.js 18+ with npm, or set {ENV_DIR} to a folder prepared elsewhere: "
                                       f"{prepare_commands()}")
        say(f"Installing the policy evaluator {EVALUATOR} into {target} … (npm, once)")
        start = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            for name in FILES:
                (tmp / name).write_bytes(_shipped(name))
            try:
                proc = subprocess.run([npm, *NPM_CI[1:]], cwd=tmp, capture_output=True, text=True, timeout=900,
                                      stdin=subprocess.DEVNULL, env={**os.environ, "npm_config_update_notifier": "false"})
            except subprocess.TimeoutExpired:
                raise EvaluatorUnavailable(f"npm ci did not finish in 15 min: byoc needs the npm registry once to "
                                           f"install {PACKAGE}, or set {ENV_DIR}: {prepare_commands()}") from None
            if proc.returncode != 0:
                raise EvaluatorUnavailable(f"could not install {PACKAGE} ({_npm_failure(proc)}): byoc needs the npm "
                                           f"registry once, or set {ENV_DIR} to a folder prepared on a connected "
                                           f"machine: {prepare_commands()}")
            found = _installed_version(tmp)
            if found != VERSION:
                raise EvaluatorUnavailable(f"npm ci installed {PACKAGE} {found}, not {VERSION}: byoc's lockfile "
                                           f"is damaged; reinstall byoc")
            if target.exists():  # a leftover that is not a complete install of this version
                shutil.rmtree(target)
            os.rename(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    say(f"Installed the policy evaluator in {time.monotonic() - start:.1f} s.")
    return target


def ensure(say: Callable[[str], Any] = print) -> Path:
    """``locate()``, else ``install(say)``."""
    return locate() or install(say)


# --- the request ------------------------------------------------------------------------------------

def principal_context(principal: str) -> dict[str, str]:
    """aws:PrincipalArn and aws:PrincipalAccount as AWS sets them for ``principal`` (an ARN), or {}.

    IAM User Guide, "AWS global condition context keys": aws:PrincipalArn is the ARN of the IAM
    user, role, or root user that made the request; for a role session it is the role's ARN.
    """
    match = _ARN.match(principal)
    if not match:
        return {}
    partition, service, account, resource = (match[k] for k in ("partition", "service", "account", "resource"))
    arn = principal
    if service == "sts" and resource.startswith("assumed-role/"):
        parts = resource.split("/")
        if len(parts) >= 3:
            arn = f"arn:{partition}:iam::{account}:role/{parts[1]}"
    out = {"aws:PrincipalArn": arn}
    if re.fullmatch(r"\d{12}", account):
        out["aws:PrincipalAccount"] = account
    return out


def _statements(policy: Any) -> list:
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    return statements if isinstance(statements, list) else [statements]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def referenced_keys(policy: Any) -> set[str]:
    """The context keys a policy reads, lower case: every Condition key, and every ``${key}``
    policy variable (``${key, 'default'}`` too; ``${*}``, ``${?}``, ``${$}`` are escapes)."""
    keys: set[str] = set()
    for statement in _statements(policy):
        if not isinstance(statement, dict):
            continue
        for block in (statement.get("Condition") or {}).values() if isinstance(statement.get("Condition"), dict) else ():
            if isinstance(block, dict):
                keys.update(str(k).lower() for k in block)
        for text in _strings(statement):
            for variable in _VARIABLE.findall(text):
                name = variable.split(",")[0].strip()
                if name not in ("*", "?", "$"):
                    keys.add(name.lower())
    return keys


def _policies(request: PolicyRequest) -> list[Any]:
    return [doc for _, doc in request.identity_policies] + [doc for _, doc in request.vpc_endpoint_policies] + \
        [doc for doc in (request.resource_policy, request.permission_boundary) if doc is not None]


def simulation(request: PolicyRequest) -> dict:
    """The evaluator's ``Simulation`` for ``request``, aws:PrincipalArn/Account filled (rule 1)."""
    context = {k: (v if isinstance(v, str) else list(v)) for k, v in request.context.items()}
    given = {k.lower() for k in context}
    for key, value in principal_context(request.principal).items():
        if key.lower() not in given:
            context[key] = value
    sim: dict[str, Any] = {
        "request": {"principal": request.principal, "action": request.action,
                    "resource": {"resource": request.resource, "accountId": request.resource_account},
                    "contextVariables": context},
        "identityPolicies": [{"name": name, "policy": doc} for name, doc in request.identity_policies],
        "serviceControlPolicies": [],
        "resourceControlPolicies": [],
    }
    if request.resource_policy is not None:
        sim["resourcePolicy"] = request.resource_policy
    if request.permission_boundary is not None:
        sim["permissionBoundaryPolicies"] = [{"name": "permission-boundary", "policy": request.permission_boundary}]
    if request.vpc_endpoint_policies:
        sim["vpcEndpointPolicies"] = [{"name": name, "policy": doc} for name, doc in request.vpc_endpoint_policies]
    return sim


# --- the answer -------------------------------------------------------------------------------------

def _statement_name(item: dict) -> str:
    return item.get("statementId") or f"statement {item.get('statementIndex', '?')}"


def _policy_name(item: dict) -> str:
    kind = _POLICY_TYPES.get(item.get("policyType"), str(item.get("policyType")))
    name = item.get("policyIdentifier")
    if name and item.get("policyType") != "resource":
        return f"{kind} {name}"
    return "identity policies" if item.get("policyType") == "identity" else kind


def _describe(item: dict) -> str:
    """One grant or denial of getGrantReasons / getDenialReasons, readable."""
    if item.get("denialType") == "Implicit":
        return f"{_policy_name(item)}: no statement allows it"
    return f"{_policy_name(item)}: {_statement_name(item)}"


def _errors(errors: Any) -> str:
    """The evaluator's validation errors as one line."""
    return "; ".join(error_lines(errors)) or (str(errors.get("message", errors)) if isinstance(errors, dict)
                                              else str(errors))


def error_lines(errors: Any) -> list[str]:
    """The evaluator's validation errors, one per problem, each naming the policy and the path."""
    if not isinstance(errors, dict):
        return [str(errors)] if errors else []
    parts = []
    labels = {"sessionPolicyErrors": "session policy", "resourcePolicyErrors": "resource policy",
              "identityPolicyErrors": "identity policy", "permissionBoundaryErrors": "permission boundary",
              "vpcEndpointErrors": "VPC endpoint policy", "serviceControlPolicyErrors": "SCP",
              "resourceControlPolicyErrors": "RCP", "anonymousRequestErrors": "anonymous request"}
    for key, label in labels.items():
        value = errors.get(key)
        if isinstance(value, dict):  # by policy name
            for name, errs in value.items():
                parts += [f"{label} {name} {e.get('path', '')}: {e.get('message', e)}".replace(" :", ":") for e in errs]
        elif isinstance(value, list):
            parts += [f"{label} {e.get('path', '')}: {e.get('message', e)}".replace(" :", ":") if isinstance(e, dict)
                      else f"{label}: {e}" for e in value]
    return parts


def _no_reason(answer: dict, request: PolicyRequest) -> str:
    """Why an implicit deny that getDenialReasons names no policy for (nothing allows it)."""
    if not answer.get("sameAccount", True) and request.resource_policy is None:
        return "cross-account request and no resource policy: nothing in the resource's account allows it"
    if request.resource_policy is None and request.action.lower().startswith("kms:"):
        return "no key policy given: a KMS key is usable only when its key policy allows it"
    return "no policy allows it"


def decide(request: PolicyRequest, answer: dict) -> Decision:
    """The evaluator's answer to ``request`` as a Decision, with rules 2-5 of the module applied."""
    by = f"[evaluator: {EVALUATOR}]"
    kind = answer.get("resultType")
    if kind == "error":
        return Decision("NotEvaluated", (), f"the evaluator rejected the request: {_errors(answer.get('errors'))} {by}")
    if kind == "wildcard":
        return Decision("NotEvaluated", (), f"{request.resource} is a wildcard ARN (the evaluator ran "
                        f"{answer.get('resources', 'several')} simulations); byoc asks about one concrete resource {by}")
    if kind != "single" or answer.get("overallResult") not in RESULTS[:3]:
        return Decision("NotEvaluated", (), f"the evaluator answered something byoc does not read: "
                        f"resultType={kind!r} overallResult={answer.get('overallResult')!r} {by}")
    ignored = tuple(answer.get("ignoredContextKeys") or ())
    referenced = set().union(*(referenced_keys(p) for p in _policies(request)))
    harmful = [k for k in ignored if k.lower() in referenced]
    if harmful:
        return Decision("NotEvaluated", (), f"the evaluator dropped context key{'s' if len(harmful) > 1 else ''} "
                        f"{', '.join(harmful)} (not a key it knows for {request.action}), which a policy's condition "
                        f"reads: its verdict would not be AWS's {by}", ignored)
    principal = principal_context(request.principal).get("aws:PrincipalArn", "")
    if re.fullmatch(r"arn:[^:]+:iam::\d{12}:root", principal):
        return Decision("NotEvaluated", (), f"{request.principal} is the account's root user, which the evaluator does "
                        f"not model as a caller (AWS allows the root user anything not explicitly denied) {by}", ignored)
    result = answer["overallResult"]
    if result == "Allowed":
        decisive = list(answer.get("grants") or ())
        decided = tuple(_describe(g) for g in decisive)
    else:
        denials = answer.get("denials") or []
        if result == "ExplicitlyDenied":
            denials = [d for d in denials if d.get("denialType") == "Explicit"]
        # "blocking": a policy that denied what the others would have allowed (a VPC endpoint policy,
        # a permissions boundary); the evaluator also lists every policy type that merely allowed
        # nothing (a same-account resource policy of Deny statements only), which decided nothing.
        denials = [d for d in denials if d.get("blocking")] or denials
        decisive = denials
        decided = tuple(_describe(d) for d in denials) or (_no_reason(answer, request),)
    verb = {"Allowed": "allowed by", "ExplicitlyDenied": "explicitly denied by",
            "ImplicitlyDenied": "implicitly denied:"}[result]
    kinds = tuple(dict.fromkeys(str(d.get("policyType")) for d in decisive if d.get("policyType")))
    statements = tuple(Matched(str(d.get("policyType")), d.get("policyIdentifier"), d.get("statementId"),
                               d.get("statementIndex"))
                       for d in decisive if d.get("statementId") is not None or d.get("statementIndex") is not None)
    analysis = tuple((k, str(v)) for k, v in (answer.get("analysis") or {}).items() if v is not None)
    return Decision(result, decided, f"{request.action} on {request.resource} by {request.principal}: {verb} "
                    f"{'; '.join(decided)} {by}", ignored, kinds, statements, analysis)


# --- the resident process ----------------------------------------------------------------------------

class _Process:
    """One ``node server.mjs <folder>``, its stdout lines on a queue, its stderr's tail kept."""

    def __init__(self, node: str, folder: Path) -> None:
        server = resources.files(__package__).joinpath("server.mjs")
        self.proc = subprocess.Popen([node, str(server), str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines.put, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr.append, False), daemon=True).start()

    @staticmethod
    def _read(stream, put: Callable[[Any], Any], wake: bool) -> None:
        """Until end of file, which comes when the process exits; this thread alone closes the stream."""
        with contextlib.suppress(OSError, ValueError), stream:
            for line in stream:
                put(line.rstrip("\n"))
        if wake:  # the process is gone: wake the reader waiting for an answer
            put(None)

    def ask(self, message: dict, timeout: float) -> dict:
        """Send one request, return the answer with its id; raise _Died if the process is gone."""
        try:
            self.proc.stdin.write(json.dumps(message, separators=(",", ":")) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _Died(self.why()) from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise _Died(f"no answer within {timeout:.0f} s") from None
            if line is None:
                raise _Died(self.why())
            try:
                answer = json.loads(line)
            except ValueError:
                continue  # not an answer (the shim writes only JSON lines; nothing else should)
            if isinstance(answer, dict) and answer.get("id") == message["id"]:
                return answer

    def why(self) -> str:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        tail = " | ".join(line for line in list(self.stderr)[-3:] if line.strip())
        return f"node exited with code {code}" + (f": {tail}" if tail else "")

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        with contextlib.suppress(OSError, ValueError):  # stdout and stderr: closed by their readers
            self.proc.stdin.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()  # the shim exits when stdin closes
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


class _Died(Exception):
    pass


def _close_process(holder: list) -> None:
    if holder and holder[0] is not None:
        holder[0].close()
        holder[0] = None


class Evaluator:
    """One resident node process running the evaluator; thread-safe; a context manager.

    ``Evaluator()`` installs the evaluator if needed (``ensure()``); ``Evaluator(folder)`` uses a
    folder holding its node_modules. The process starts at once (so a broken install is reported
    here) and is restarted once per request if it died."""

    def __init__(self, folder: Path | None = None, *, timeout: float = 60.0) -> None:
        node = shutil.which("node")
        if node is None:
            raise EvaluatorUnavailable(f"the policy evaluator needs Node.js (node on PATH, 18 or later) to run "
                                       f"{PACKAGE}: install Node.js")
        self.folder = Path(folder) if folder is not None else ensure()
        self.timeout = timeout
        self._node = node
        self._lock = threading.Lock()
        self._next_id = 0
        self._holder: list[_Process | None] = [None]  # shared with the finalizer
        self._finalizer = weakref.finalize(self, _close_process, self._holder)
        with self._lock:
            self._start()

    def _start(self) -> None:
        """A fresh process, greeted: its answer names the package version it loaded."""
        old = self._holder[0]
        if old is not None:
            old.kill()
        process = _Process(self._node, self.folder)
        self._holder[0] = process
        self._next_id += 1
        try:
            hello = process.ask({"id": self._next_id, "hello": True}, self.timeout)
        except _Died as exc:
            process.kill()
            self._holder[0] = None
            raise EvaluatorUnavailable(f"the policy evaluator did not start from {self.folder}: {exc}") from None
        if hello.get("version") != VERSION:
            process.close()
            self._holder[0] = None
            raise EvaluatorUnavailable(f"{self.folder} holds {PACKAGE} {hello.get('version')}, not {VERSION}")

    def evaluate(self, request: PolicyRequest) -> Decision:
        return decide(request, self._answer(simulation(request)))

    def validation_errors(self, request: PolicyRequest) -> list[str]:
        """The evaluator's own validation of the request's policies (its ``errors`` answer): one
        line per problem, naming the policy and the path in it; [] when it accepts them all."""
        answer = self._answer(simulation(request))
        return error_lines(answer.get("errors")) or ["the evaluator rejected the request"] \
            if answer.get("resultType") == "error" else []

    def _answer(self, sim: dict) -> dict:
        with self._lock:
            if self._finalizer.alive is False:
                raise EvaluatorUnavailable("this Evaluator was closed")
            for attempt in (1, 2):
                try:
                    if self._holder[0] is None or self._holder[0].proc.poll() is not None:
                        self._start()
                    self._next_id += 1
                    answer = self._holder[0].ask({"id": self._next_id, "simulation": sim}, self.timeout)
                    break
                except _Died as exc:
                    self._holder[0].kill()
                    self._holder[0] = None
                    if attempt == 2:
                        raise EvaluatorUnavailable(f"the policy evaluator's node process failed twice on one request: "
                                                   f"{exc}") from None
                except EvaluatorUnavailable:
                    if attempt == 2:
                        raise
        return answer

    @property
    def pid(self) -> int | None:
        process = self._holder[0]
        return process.proc.pid if process is not None else None

    def close(self) -> None:
        with self._lock:
            self._finalizer()

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
