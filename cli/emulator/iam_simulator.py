"""IAM's policy simulator: gap 11 — SimulatePrincipalPolicy and SimulateCustomPolicy answered by
the independent evaluator, under the input rules of their API reference.

moto's ``SimulatePrincipalPolicy`` / ``SimulateCustomPolicy`` answer with a body botocore cannot
parse, and moto evaluates no policy anyway. The emulator answers both in front of moto (a route,
the response layer) with the evaluator of gap 11 (``authorizer.py``, ``@cloud-copilot/iam-simulate``,
not byoc's code) over the policies moto holds: those of the user, group or role that
``PolicySourceArn`` names (attached managed, inline, a user's groups', its permissions boundary;
``authorizer.entity``), plus ``PolicyInputList``. Without the evaluator (not installed, not
started) both are answered ``NotImplemented`` (HTTP 501), as before: the emulator never makes up a
verdict.

The request (query protocol, form-encoded: ``ActionNames.member.N``,
``ContextEntries.member.N.ContextKeyValues.member.M``, ...) is read and checked in the order AWS
checks a request, each failure answered as IAM answers (an ``ErrorResponse`` in XML):

1. The constraints of the operation's input shape — required members (PolicySourceArn or
   PolicyInputList, and ActionNames), lengths, ``MaxItems`` 1..1000, the ``ContextKeyType`` enum,
   the policy-document and marker patterns — read from AWS's own service model (botocore's
   ``iam`` ``service-2.json``, from which the API reference is written): ``ValidationError``, HTTP
   400, with AWS's "N validation error(s) detected: Value ... at '...' failed to satisfy
   constraint: ..." (CommonErrors: ValidationError).
2. SimulatePrincipalPolicy is judged as the caller's own request (``iam:SimulatePrincipalPolicy``
   on the PolicySourceArn, by the evaluator): ``AccessDenied``, HTTP 403, as for any IAM action.
3. The operations' own rules, ``InvalidInput`` (HTTP 400) unless said otherwise:
   - PolicySourceArn "The Amazon Resource Name (ARN) of a user, group, or role": another ARN is
     InvalidInput; one of an entity that does not exist is ``NoSuchEntity``, HTTP 404.
   - CallerArn: "You can specify only the ARN of an IAM user. You cannot specify the ARN of an
     assumed role, federated user, or a service principal." SimulatePrincipalPolicy: "CallerArn
     is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN for an IAM
     user"; SimulateCustomPolicy: "CallerArn is required if you include a ResourcePolicy".
   - Policy documents must be JSON objects; "You can input only one permissions boundary".
   - ActionNames "must include the service identifier, such as iam:CreateUser"; SimulateCustomPolicy
     "does not support using wildcards (*) in an action name".
   - ContextEntries: a ContextKeyName; values of the ContextKeyType (one value for a non-list
     type; numbers, booleans, IP addresses or CIDRs, dates, base64) (API_ContextEntry).
   - ResourceOwner: an account id, or (SimulateCustomPolicy) "arn:aws:iam::AWS-account-ID:root".
   - ResourceHandlingOption: one of the four EC2 scenarios, each with the resources it lists.
   - SimulateCustomPolicy: "If you include a ResourcePolicy, then it must be applicable to all of
     the resources included in the simulation or you receive an invalid input error."
   - Marker: one this emulator handed out for the same list of actions.
4. The evaluation, per action and resource. A decision the evaluator cannot give (its
   ``NotEvaluated``: a context key it does not know that a policy reads, an invalid policy, an
   unknown action, a wildcard resource such as the default ``*``) is ``PolicyEvaluation``, HTTP 500,
   "a provided policy could not be successfully evaluated", with the evaluator's reason.

The answer (API_EvaluationResult, API_ResourceSpecificResult, API_Statement): "The simulator now
returns a single EvaluationResult per action, regardless of how many resource ARNs are provided",
its decision "the most restrictive decision across all resources", one ResourceSpecificResult per
resource listed; ``EvalDecision`` allowed | explicitDeny | implicitDeny; ``MatchedStatements``
from the evaluator's deciding statements (``SourcePolicyId``: the policy's name, or
``PolicyInputList.N``, ``PermissionsBoundaryPolicyInputList.1``, ``ResourcePolicy``;
``SourcePolicyType``: user | group | role | aws-managed | user-managed | resource | none; the
statement's Start/EndPosition, line and column, 1-based); ``MissingContextValues``, the condition
keys (and ``${}`` variables) of the statements that apply to the action and resource that the
request gave no value for; ``EvalDecisionDetails`` for a listed resource ("If the simulation
evaluates policies within the same account and includes a resource ARN, then the parameter is
present but the response is empty"; across accounts, each kind of policy's decision);
``PermissionsBoundaryDecisionDetail`` when a boundary applies. The results (one per action) are
paged: ``MaxItems`` (default 100), ``IsTruncated``, ``Marker``.

Who is simulated: CallerArn, else the PolicySourceArn entity (SimulatePrincipalPolicy), else the
caller of the API (SimulateCustomPolicy); its ARN and account are ``aws:PrincipalArn`` and
``aws:PrincipalAccount`` unless ContextEntries give them. Without a ResourcePolicy, in the
entity's own account, the decision is that of the identity-based policies and the boundary: "The
IAM policy simulator evaluates statements in the identity-based policy and the inputs that you
provide during simulation" (so a KMS key's policy, which the evaluator otherwise requires, is not
part of it).

AWS documentation followed:
- IAM API Reference, SimulatePrincipalPolicy,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
- IAM API Reference, SimulateCustomPolicy,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
- IAM API Reference, EvaluationResult, ResourceSpecificResult, Statement, ContextEntry,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_ResourceSpecificResult.html,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_Statement.html,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_ContextEntry.html
- IAM API Reference, "Common Errors" (ValidationError 400, AccessDenied 403, InternalFailure 500,
  NotImplemented 501), https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
- IAM User Guide, "Testing IAM policies with the IAM policy simulator",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
- IAM User Guide, "Policy evaluation logic" and "Permissions boundaries for IAM entities",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from cli.emulator import authorizer
from cli.emulator.patching import Answer, add_route, installer, signed_for

GAPS = (11,)

OPERATIONS = ("SimulatePrincipalPolicy", "SimulateCustomPolicy")
XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
#: MaxItems: "If you do not include this parameter, the number of items defaults to 100."
DEFAULT_MAX_ITEMS = 100
_MARKER = "byoc-emulator:"
#: ResourceHandlingOption: "the supported scenario values and the resources that you must define".
SCENARIOS = {
    "EC2-VPC-InstanceStore": ("instance", "image", "security-group", "network-interface"),
    "EC2-VPC-InstanceStore-Subnet": ("instance", "image", "security-group", "network-interface", "subnet"),
    "EC2-VPC-EBS": ("instance", "image", "security-group", "network-interface", "volume"),
    "EC2-VPC-EBS-Subnet": ("instance", "image", "security-group", "network-interface", "subnet", "volume"),
}
#: ContextKeyType (API_ContextEntry): the types that take a list of values.
_LIST_TYPES = ("stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList")
#: The keys the emulator fills from the simulated caller (the evaluator's rule 1), never "missing".
_FILLED = ("aws:principalarn", "aws:principalaccount")
_ENTITY_ARN = re.compile(r"^arn:(aws[\w-]*):iam::(\d{12}):(user|group|role)(/.*)?/([^/]+)$")
_USER_ARN = re.compile(r"^arn:aws[\w-]*:iam::\d{12}:user(/.*)?/[^/]+$")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
#: The strictest decision first (API_EvaluationResult: "the most restrictive decision").
_ORDER = ("explicitDeny", "implicitDeny", "allowed")
_DECISIONS = {"Allowed": "allowed", "ExplicitlyDenied": "explicitDeny", "ImplicitlyDenied": "implicitDeny"}
#: EvalDecisionDetails across accounts: each kind of policy the evaluator judged, in the IAM User
#: Guide's words (the API reference does not name the keys).
_KINDS = {"identity": "identity-based policy", "resource": "resource-based policy",
          "permissionBoundary": "permissions boundary"}


class Refusal(Exception):
    """IAM's answer to a request it does not simulate: an ErrorResponse."""

    def __init__(self, code: str, status: str, message: str) -> None:
        super().__init__(message)
        self.code, self.status, self.message = code, status, message


def _invalid(message: str) -> Refusal:
    return Refusal("InvalidInput", "400 Bad Request", message)


# --- the request ---------------------------------------------------------------------------------

def _form(environ: dict) -> dict[str, str]:
    """The query parameters of the request (body and URL); the body is put back for moto."""
    body = b""
    if environ.get("REQUEST_METHOD") == "POST":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
    form = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    try:
        form.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        pass
    return form


def _input_shape(operation: str):
    """The operation's input shape in AWS's service model (what the API reference is written from)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("iam").operation_model(operation).input_shape


def _read(form: dict[str, str], prefix: str, shape) -> Any:
    """The value at ``prefix`` (query protocol: ``Name``, ``Name.member.N``, ``Name.member.N.Field``)."""
    if shape.type_name == "structure":
        found = {}
        for name, member in shape.members.items():
            value = _read(form, f"{prefix}.{name}" if prefix else name, member)
            if value is not None:
                found[name] = value
        return found
    if shape.type_name == "list":
        start = f"{prefix}.member."
        numbers = sorted({int(k[len(start):].split(".", 1)[0]) for k in form
                          if k.startswith(start) and k[len(start):].split(".", 1)[0].isdigit()})
        if not numbers:
            return [] if prefix in form else None  # botocore sends an empty list as "Name="
        return [_read(form, f"{start}{n}", shape.member) for n in numbers]
    return form.get(prefix)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _constraints(value: Any, shape, path: str, errors: list[str]) -> Any:
    """Check ``value`` against ``shape`` (AWS's messages, ValidationError); integers converted."""
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            where = f"{path}.{_camel(name)}" if path else _camel(name)
            if value.get(name) is None:
                if name in shape.required_members:
                    errors.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
                continue
            value[name] = _constraints(value[name], member, where, errors)
        return value
    if shape.type_name == "list":
        return [_constraints(item, shape.member, f"{path}.{n}.member", errors) for n, item in enumerate(value, 1)]
    if shape.type_name == "integer":
        try:
            number = int(value)
        except ValueError:
            errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must be an integer")
            return None
        if "min" in meta and number < meta["min"]:
            errors.append(f"Value '{number}' at '{path}' failed to satisfy constraint: Member must have value greater "
                          f"than or equal to {meta['min']}")
        if "max" in meta and number > meta["max"]:
            errors.append(f"Value '{number}' at '{path}' failed to satisfy constraint: Member must have value less "
                          f"than or equal to {meta['max']}")
        return number
    if "min" in meta and len(value) < meta["min"]:
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must have length greater than "
                      f"or equal to {meta['min']}")
    if "max" in meta and len(value) > meta["max"]:
        errors.append(f"Value at '{path}' failed to satisfy constraint: Member must have length less than or equal "
                      f"to {meta['max']}")
    if getattr(shape, "enum", None) and value not in shape.enum:
        errors.append(f"Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: "
                      f"[{', '.join(shape.enum)}]")
    if meta.get("pattern") and value and not re.fullmatch(meta["pattern"], value):
        errors.append(f"Value at '{path}' failed to satisfy constraint: Member must satisfy regular expression "
                      f"pattern: {meta['pattern']}")
    return value


def parameters(operation: str, form: dict[str, str]) -> dict[str, Any]:
    """The request's parameters, checked against the operation's input shape (ValidationError)."""
    shape = _input_shape(operation)
    errors: list[str] = []
    params = _constraints(_read(form, "", shape), shape, "", errors)
    if errors:
        many = "s" if len(errors) > 1 else ""
        raise Refusal("ValidationError", "400 Bad Request",
                      f"{len(errors)} validation error{many} detected: " + "; ".join(errors))
    return params


# --- the simulation ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Simulation:
    """What one request asks the evaluator, its rules applied."""

    principal: str  #: the simulated caller: what the resource policy's Principal and aws:PrincipalArn see
    principal_account: str
    documents: tuple[tuple[str, authorizer.Document], ...]  #: identity policies, by a name unique here
    boundary: authorizer.Document | None
    resource_policy: authorizer.Document | None
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    listed: bool  #: ResourceArns given (else "*")
    resource_owner: str | None
    context: dict[str, Any] = field(default_factory=dict)


def _document(text: str, source_id: str, source_type: str, parameter: str) -> authorizer.Document:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise _invalid(f"{parameter}: the policy document is not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise _invalid(f"{parameter}: the policy document must be a JSON object")
    return authorizer.Document(source_id, source_type, document, text)


def _account_of(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def _resource_owner(value: str | None) -> str | None:
    """ResourceOwner: "An AWS account ID" (SimulatePrincipalPolicy), "An ARN representing the AWS
    account ID ... arn:aws:iam::AWS-account-ID:root" (SimulateCustomPolicy)."""
    if value is None:
        return None
    match = re.fullmatch(r"(\d{12})|arn:aws[\w-]*:iam::(\d{12}):root", value)
    if not match:
        raise _invalid(f"ResourceOwner {value!r} is neither an AWS account ID nor arn:aws:iam::<account ID>:root")
    return match[1] or match[2]


def _context(entries: list[dict]) -> dict[str, Any]:
    """ContextEntries as the evaluator takes them: one value, or a list for a list type."""
    context: dict[str, Any] = {}
    for n, entry in enumerate(entries, 1):
        name = entry.get("ContextKeyName")
        if not name:
            raise _invalid(f"ContextEntries.member.{n}: ContextKeyName is required")
        kind = entry.get("ContextKeyType") or "string"
        values = list(entry.get("ContextKeyValues") or [])
        if not values:
            raise _invalid(f"ContextEntries.member.{n} ({name}): ContextKeyValues is required")
        if kind not in _LIST_TYPES and len(values) > 1:
            raise _invalid(f"ContextEntries.member.{n} ({name}): a {kind} key takes one value, not {len(values)} "
                           f"(use {kind}List)")
        for value in values:
            if not _typed(value, kind.removesuffix("List")):
                raise _invalid(f"ContextEntries.member.{n} ({name}): {value!r} is not a value of type {kind}")
        context[name] = values if kind in _LIST_TYPES else values[0]
    return context


def _typed(value: str, kind: str) -> bool:
    try:
        if kind == "numeric":
            float(value)
        elif kind == "boolean":
            return value.lower() in ("true", "false")
        elif kind == "ip":
            ipaddress.ip_network(value, strict=False)
        elif kind == "date":
            if not value.isdigit():
                datetime.fromisoformat(value.replace("Z", "+00:00"))
        elif kind == "binary":
            base64.b64decode(value, validate=True)
    except ValueError:
        return False
    return True


def _statements(document: dict) -> list:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [v for v in value or [] if isinstance(v, str)]


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    """IAM's wildcard match (``*``, ``?``; a ``${...}`` variable matches anything)."""
    parts = re.split(r"(\$\{[^}]*\}|\*|\?)", pattern)
    regex = "".join(".*" if p == "*" or p.startswith("${") else "." if p == "?" else re.escape(p) for p in parts)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _applies(statement: dict, action: str | None, resource: str) -> bool:
    """Whether a statement is about ``action`` (any when None) on ``resource``."""
    if action is not None:
        if "Action" in statement and not any(_glob(p, action, case=False) for p in _listed(statement["Action"])):
            return False
        if "NotAction" in statement and any(_glob(p, action, case=False) for p in _listed(statement["NotAction"])):
            return False
    if "Resource" in statement:
        return any(_glob(p, resource, case=True) for p in _listed(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_glob(p, resource, case=True) for p in _listed(statement["NotResource"]))
    return True


def _keys(statement: dict) -> list[str]:
    """The context keys a statement reads: its Condition keys and ``${key}`` variables, as written."""
    found = []
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                found += [str(k) for k in block]
    for variable in _VARIABLE.findall(json.dumps(statement)):
        name = variable.split(",")[0].strip()
        if name not in ("*", "?", "$"):
            found.append(name)
    return found


def simulation(operation: str, params: dict[str, Any], requester: authorizer.Principal) -> Simulation:
    """The operation's rules (InvalidInput, NoSuchEntity), and what the evaluator is to be asked."""
    from moto.core import DEFAULT_ACCOUNT_ID

    caller = params.get("CallerArn")
    if caller is not None and not _USER_ARN.match(caller):
        raise _invalid(f"CallerArn {caller} is not the ARN of an IAM user: you can specify only the ARN of an IAM "
                       "user, not the ARN of an assumed role, federated user, or a service principal")
    resource_text = params.get("ResourcePolicy")
    documents: list[authorizer.Document] = []
    boundary = None
    source = None
    if operation == "SimulatePrincipalPolicy":
        arn = params["PolicySourceArn"]
        match = _ENTITY_ARN.match(arn)
        if not match:
            raise _invalid(f"PolicySourceArn {arn} is not the ARN of an IAM user, group or role")
        kind = match[3]
        if resource_text is not None and caller is None and kind != "user":
            raise _invalid("CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the "
                           "ARN for an IAM user")
        source = authorizer.entity(match[2], arn) if match[2] == DEFAULT_ACCOUNT_ID else None
        if source is None:
            raise Refusal("NoSuchEntity", "404 Not Found", f"The {kind} with name {match[5]} cannot be found.")
        documents += source.documents
        boundary = source.boundary
    elif resource_text is not None and caller is None:
        raise _invalid("CallerArn is required if you include a ResourcePolicy")
    inputs = params.get("PolicyInputList") or []
    if operation == "SimulateCustomPolicy" and not inputs:
        raise _invalid("PolicyInputList must hold at least one policy document")
    documents += [_document(text, f"PolicyInputList.{n}", "none", f"PolicyInputList.member.{n}")
                  for n, text in enumerate(inputs, 1)]
    boundaries = params.get("PermissionsBoundaryPolicyInputList") or []
    if len(boundaries) > 1:
        raise _invalid("You can input only one permissions boundary when you pass a policy to this operation")
    if boundaries:
        boundary = _document(boundaries[0], "PermissionsBoundaryPolicyInputList.1", "none",
                             "PermissionsBoundaryPolicyInputList.member.1")
    resource_policy = _document(resource_text, "ResourcePolicy", "resource", "ResourcePolicy") \
        if resource_text is not None else None

    actions = tuple(params.get("ActionNames") or ())
    if not actions:
        raise _invalid("ActionNames must name at least one action")
    for action in actions:
        service, _, name = action.partition(":")
        if not service or not name:
            raise _invalid(f"ActionNames: {action!r} does not include the service identifier, such as iam:CreateUser")
        if operation == "SimulateCustomPolicy" and ("*" in action or "?" in action):
            raise _invalid(f"ActionNames: {action!r}: this operation does not support using wildcards (*) in an "
                           "action name")
    listed = bool(params.get("ResourceArns"))
    resources = tuple(params.get("ResourceArns") or ("*",))
    option = params.get("ResourceHandlingOption")
    if option is not None:
        needed = SCENARIOS.get(option)
        if needed is None:
            raise _invalid(f"ResourceHandlingOption {option!r} is not one of {', '.join(SCENARIOS)}")
        have = {r.split(":", 5)[-1].split("/", 1)[0] for r in resources if r.startswith("arn:")}
        missing = [kind for kind in needed if kind not in have]
        if missing:
            raise _invalid(f"ResourceHandlingOption {option} requires these resources in ResourceArns: "
                           f"{', '.join(missing)}")
    if operation == "SimulateCustomPolicy" and resource_policy is not None:
        for resource in resources:
            if not any(_applies(s, None, resource) for s in _statements(resource_policy.document)
                       if isinstance(s, dict)):
                raise _invalid(f"The ResourcePolicy is not applicable to {resource}: it must be applicable to all of "
                               "the resources included in the simulation")

    principal = caller or (source.arn if source is not None else requester.arn)
    names: dict[str, authorizer.Document] = {}
    for document in documents:  # the evaluator names a policy by the name it was given: unique here
        name, n = document.id, 1
        while name in names:
            n += 1
            name = f"{document.id} ({n})"
        names[name] = document
    return Simulation(principal, _account_of(principal), tuple(names.items()), boundary, resource_policy, actions,
                      resources, listed, _resource_owner(params.get("ResourceOwner")),
                      _context(params.get("ContextEntries") or []))


# --- the evaluation ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    """One action on one resource (API_ResourceSpecificResult)."""

    resource: str
    decision: str  # allowed | explicitDeny | implicitDeny
    matched: tuple[dict, ...]
    missing: tuple[str, ...]
    details: tuple[tuple[str, str], ...] | None  # None: not returned
    boundary_allows: bool | None


def _spans(text: str) -> list[tuple[int, int]]:
    """Where each statement of a policy document starts and ends (offsets of its ``{`` and ``}``)."""
    decoder = json.JSONDecoder()

    def space(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def items(i: int) -> list[tuple[int, int]]:
        if text[i] != "[":
            _, end = decoder.raw_decode(text, i)
            return [(i, end - 1)]
        found, i = [], space(i + 1)
        while text[i] != "]":
            _, end = decoder.raw_decode(text, i)
            found.append((i, end - 1))
            i = space(end)
            i = space(i + 1) if text[i] == "," else i
        return found

    try:
        i = space(0)
        if text[i] != "{":
            return []
        i = space(i + 1)
        while text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = space(space(i) + 1)  # past ':'
            if key == "Statement":
                return items(i)
            _, i = decoder.raw_decode(text, i)
            i = space(i)
            i = space(i + 1) if text[i] == "," else i
    except (IndexError, ValueError):
        pass
    return []


def _position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset) + 1
    return {"Line": line, "Column": offset - (text.rfind("\n", 0, offset) + 1) + 1}


def _statement(document: authorizer.Document, index: int | None, sid: str | None) -> dict:
    """One MatchedStatements member (API_Statement)."""
    matched: dict[str, Any] = {"SourcePolicyId": document.id, "SourcePolicyType": document.type}
    statements = _statements(document.document)
    if index is None and sid is not None:
        index = next((n for n, s in enumerate(statements, 1) if isinstance(s, dict) and s.get("Sid") == sid), None)
    spans = _spans(document.text)
    if index is not None and 1 <= index <= len(spans):
        start, end = spans[index - 1]
        matched.update(StartPosition=_position(document.text, start), EndPosition=_position(document.text, end))
    return matched


def _missing(sim: Simulation, action: str, resource: str) -> tuple[str, ...]:
    """MissingContextValues: keys the applicable statements read that the request gave no value for."""
    given = {k.lower() for k in sim.context} | set(_FILLED)
    found: dict[str, str] = {}
    documents = [d for _, d in sim.documents] + [d for d in (sim.boundary, sim.resource_policy) if d is not None]
    for document in documents:
        for statement in _statements(document.document):
            if isinstance(statement, dict) and _applies(statement, action, resource):
                for key in _keys(statement):
                    if key.lower() not in given:
                        found.setdefault(key.lower(), key)
    return tuple(found.values())


def evaluate(sim: Simulation, action: str, resource: str) -> Result:
    """One action on one resource, by the evaluator (PolicyEvaluation when it cannot decide)."""
    from cli.core.evaluator import PolicyRequest

    account = _account_of(resource) or sim.resource_owner or sim.principal_account
    request = PolicyRequest(
        principal=sim.principal, action=action, resource=resource, resource_account=account, context=sim.context,
        identity_policies=tuple((name, d.document) for name, d in sim.documents),
        resource_policy=sim.resource_policy.document if sim.resource_policy else None,
        permission_boundary=sim.boundary.document if sim.boundary else None)
    decision = authorizer.evaluate(request)  # EvaluatorStopped: answer_simulator's InternalFailure
    if decision is None:
        raise Refusal("NotImplemented", "501 Not Implemented",
                      "IAM's policy simulator is not implemented by this emulator: policies are not evaluated")
    if decision.result == "NotEvaluated":
        raise Refusal("PolicyEvaluation", "500 Internal Server Error",
                      f"{action} on {resource} could not be evaluated: {decision.reason}")
    analysis = dict(decision.analysis)
    same_account = account == sim.principal_account
    result = _DECISIONS[decision.result]
    if sim.resource_policy is None and same_account and result == "implicitDeny":
        # The simulator evaluates the identity-based policies and the inputs given: a service's
        # own need of a resource policy (a KMS key's) is not part of it.
        kinds = (analysis.get("identity"), analysis.get("permissionBoundary"))
        if analysis.get("identity") == "Allowed" and kinds[1] in (None, "Allowed") and \
                "ExplicitlyDenied" not in kinds:
            result = "allowed"
    matched = []
    if result == _DECISIONS[decision.result]:  # statements named by the evaluator for this decision
        by_name = dict(sim.documents)
        for statement in decision.statements:
            document = {"identity": by_name.get(statement.policy or ""), "resource": sim.resource_policy,
                        "pb": sim.boundary}.get(statement.policy_type)
            if document is not None:
                matched.append(_statement(document, statement.index, statement.sid))
    else:  # allowed by the identity-based policies alone: the evaluator names which of their statements
        matched = _granting(sim, request)
    details = None
    if sim.listed:
        details = () if same_account else tuple(
            (_KINDS[k], _DECISIONS[v]) for k, v in analysis.items() if k in _KINDS and v in _DECISIONS)
    boundary_allows = analysis.get("permissionBoundary") == "Allowed" if sim.boundary is not None else None
    return Result(resource, result, tuple(matched), _missing(sim, action, resource), details, boundary_allows)


def _granting(sim: Simulation, request) -> list[dict]:
    """The identity-policy statements that allow ``request`` on their own, each asked of the
    evaluator alone (when the evaluator's overall decision named none: it also wanted a resource
    policy the simulator does not consider)."""
    from dataclasses import replace

    found = []
    for name, document in sim.documents:
        for index, statement in enumerate(_statements(document.document), 1):
            if not (isinstance(statement, dict) and statement.get("Effect") == "Allow"
                    and _applies(statement, request.action, request.resource)):
                continue
            alone = {"Version": document.document.get("Version", "2012-10-17"), "Statement": [statement]}
            decision = authorizer.evaluate(replace(request, identity_policies=((name, alone),),
                                                   permission_boundary=None))
            if decision is not None and dict(decision.analysis).get("identity") == "Allowed":
                found.append(_statement(document, index, None))
    return found


def _strictest(decisions: list[str]) -> str:
    return min(decisions, key=_ORDER.index)


def evaluation_result(sim: Simulation, action: str) -> dict[str, Any]:
    """One EvaluationResult: the action on every resource, the most restrictive decision on top."""
    results = [evaluate(sim, action, resource) for resource in sim.resources]
    decision = _strictest([r.decision for r in results])
    out: dict[str, Any] = {"EvalActionName": action, "EvalDecision": decision}
    if len(results) == 1:
        out["EvalResourceName"] = results[0].resource
    matched = []
    for result in results:
        matched += [m for m in result.matched if result.decision == decision and m not in matched]
    out["MatchedStatements"] = matched
    out["MissingContextValues"] = list(dict.fromkeys(k for r in results for k in r.missing))
    if sim.listed:
        merged: dict[str, list[str]] = {}
        for result in results:
            for kind, value in result.details or ():
                merged.setdefault(kind, []).append(value)
        out["EvalDecisionDetails"] = {kind: _strictest(values) for kind, values in merged.items()}
        out["ResourceSpecificResults"] = [_resource_result(r) for r in results]
    if sim.boundary is not None:
        out["PermissionsBoundaryDecisionDetail"] = {
            "AllowedByPermissionsBoundary": all(r.boundary_allows for r in results)}
    return out


def _resource_result(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {"EvalResourceName": result.resource, "EvalResourceDecision": result.decision,
                           "MatchedStatements": list(result.matched), "MissingContextValues": list(result.missing)}
    if result.details is not None:
        out["EvalDecisionDetails"] = dict(result.details)
    if result.boundary_allows is not None:
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": result.boundary_allows}
    return out


def page(sim: Simulation, params: dict[str, Any]) -> dict[str, Any]:
    """The results from ``Marker`` on, at most ``MaxItems`` of them (one per action)."""
    start = 0
    marker = params.get("Marker")
    if marker is not None:
        number = marker.removeprefix(_MARKER)
        if not marker.startswith(_MARKER) or not number.isdigit() or not 0 < int(number) < len(sim.actions):
            raise _invalid(f"Marker {marker!r} is not one this simulation returned")
        start = int(number)
    end = start + int(params.get("MaxItems") or DEFAULT_MAX_ITEMS)
    out: dict[str, Any] = {"EvaluationResults": [evaluation_result(sim, a) for a in sim.actions[start:end]],
                           "IsTruncated": end < len(sim.actions)}
    if out["IsTruncated"]:
        out["Marker"] = f"{_MARKER}{end}"
    return out


# --- the answer -----------------------------------------------------------------------------------------

def _xml(value: Any) -> str:
    """A value in the query protocol's XML: lists as ``member`` elements, maps as ``entry``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return escape(str(value))
    if isinstance(value, list):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items())


def _map(value: dict[str, str]) -> str:
    return "".join(f"<entry><key>{escape(k)}</key><value>{escape(v)}</value></entry>" for k, v in value.items())


def _result_xml(result: dict[str, Any]) -> str:
    parts = []
    for key, value in result.items():
        if key == "EvalDecisionDetails":
            parts.append(f"<{key}>{_map(value)}</{key}>")
        elif key == "ResourceSpecificResults":
            parts.append(f"<{key}>" + "".join(f"<member>{_result_xml(r)}</member>" for r in value) + f"</{key}>")
        else:
            parts.append(f"<{key}>{_xml(value)}</{key}>")
    return "".join(parts)


def _answer(operation: str, out: dict[str, Any], request_id: str) -> Answer:
    results = "".join(f"<member>{_result_xml(r)}</member>" for r in out["EvaluationResults"])
    marker = f"<Marker>{escape(out['Marker'])}</Marker>" if "Marker" in out else ""
    data = (f'<{operation}Response xmlns="{XMLNS}"><{operation}Result><EvaluationResults>{results}</EvaluationResults>'
            f"<IsTruncated>{_xml(out['IsTruncated'])}</IsTruncated>{marker}</{operation}Result>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>")
    return "200 OK", [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], data.encode()


def error(refusal: Refusal, request_id: str) -> Answer:
    """IAM's ErrorResponse (Sender for a 4xx, Receiver for a 5xx)."""
    kind = "Sender" if refusal.status.startswith("4") else "Receiver"
    data = (f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>{refusal.code}</Code>'
            f"<Message>{escape(refusal.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
    return refusal.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], data.encode()


def _authorized(operation: str, params: dict[str, Any], requester: authorizer.Principal) -> None:
    """The caller's own permission to simulate (AccessDenied, HTTP 403, as IAM answers any action).
    SimulateCustomPolicy's resource is ``*``, which the evaluator does not judge as one request: not
    judged."""
    if operation != "SimulatePrincipalPolicy" or not _ENTITY_ARN.match(params["PolicySourceArn"]):
        return
    arn = params["PolicySourceArn"]
    verdict = authorizer.authorize(requester, f"iam:{operation}", arn, _account_of(arn))
    if verdict.not_evaluated:
        raise Refusal("InternalFailure", "500 Internal Server Error", verdict.message)
    if not verdict.allowed:
        raise Refusal("AccessDenied", "403 Forbidden", verdict.message)


def answer_simulator(environ: dict) -> Answer | None:
    """IAM's policy simulator (gap 11), or None to let moto answer every other IAM request."""
    if not signed_for(environ, "iam"):
        return None
    form = _form(environ)
    operation = form.get("Action")
    if operation not in OPERATIONS:
        return None
    request_id = str(uuid.uuid4())
    from moto.core import DEFAULT_ACCOUNT_ID

    try:
        if not authorizer.evaluating():  # never a made-up verdict: AWS's answer to what it does not offer
            why = authorizer.info()["why_not"]
            raise Refusal("NotImplemented", "501 Not Implemented",
                          "IAM's policy simulator is not implemented by this emulator: policies are not evaluated"
                          + (f" ({why})" if why else ""))
        params = parameters(operation, form)
        requester = authorizer.caller(authorizer.access_key_of(environ), DEFAULT_ACCOUNT_ID)
        _authorized(operation, params, requester)
        sim = simulation(operation, params, requester)
        return _answer(operation, page(sim, params), request_id)
    except Refusal as refusal:
        return error(refusal, request_id)
    except authorizer.EvaluatorStopped as exc:  # the emulator's own failure: never AWS's word, never a verdict
        return error(Refusal("InternalFailure", "500 Internal Server Error",
                             f"byoc emulator: the policy evaluator stopped ({exc})"), request_id)


def patch_responses() -> None:
    add_route(answer_simulator, gap=11)


install = installer(patch_responses)
