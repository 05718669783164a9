"""IAM Access Analyzer: gap 10 (answered by the independent evaluator where it can, refused where
it cannot — never faked).

Gap 10 — moto has no Access Analyzer backend at all: its server prints a traceback and answers
500, which botocore retries four times. The emulator answers, before moto sees the request:

- ``ValidatePolicy`` (POST /policy/validation) for resource and identity policies: an ERROR
  finding for each problem the evaluator's own validation finds (``policy_checks.syntax_errors``),
  paged by maxResults/nextToken as the API reference pages findings. It raises no SECURITY_WARNING,
  WARNING or SUGGESTION: the evaluator does not judge those, and ``/byoc-emulator/info`` says so
  (byoc prints it beside the answer).
- ``CheckNoPublicAccess`` (POST /policy/check-no-public-access) for ``AWS::SecretsManager::Secret``
  and ``AWS::KMS::Key``: FAIL with a reason per action a principal of another account would be
  allowed, as the evaluator judges it (``policy_checks.public_grants``), else PASS.
- everything else — other operations, other policy and resource types, and all of it without the
  evaluator — the way AWS answers an operation it does not offer: HTTP 501 ``NotImplemented``, at
  once. byoc then says "not checked", as against any endpoint without it.

Nothing of moto's is patched here: there is no Access Analyzer in moto to patch.

AWS documentation followed:
- IAM Access Analyzer API Reference, ValidatePolicy (request, ValidatePolicyFinding, paging),
  https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ValidatePolicy.html
- IAM Access Analyzer API Reference, CheckNoPublicAccess (resourceType, result PASS | FAIL,
  ReasonSummary),
  https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoPublicAccess.html
- IAM Access Analyzer API Reference, "Common Errors" (NotImplemented, HTTP 501; ValidationException,
  HTTP 400),
  https://docs.aws.amazon.com/access-analyzer/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from cli.emulator import authorizer, policy_checks
from cli.emulator.patching import Answer, add_route, installer, signed_for

GAPS = (10,)
LEARN_MORE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html"
#: What the emulator's answers hold and do not (``/byoc-emulator/info``, "validators").
NOTES = {
    "ValidatePolicy": "syntax errors only, by the independent evaluator",
    "CheckNoPublicAccess": "a principal of another account, judged by the independent evaluator",
}


def _json(status: str, payload: dict, error: str | None = None) -> Answer:
    headers = [("Content-Type", "application/json")] + ([("x-amzn-ErrorType", error)] if error else [])
    return status, headers, json.dumps(payload).encode()


def _not_implemented(what: str) -> Answer:
    return _json("501 Not Implemented", {"message": f"{what} is not implemented by this emulator"}, "NotImplemented")


def _body(environ: dict) -> dict | None:
    raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _validate_policy(environ: dict, body: dict) -> Answer:
    kind = body.get("policyType")
    if kind not in ("RESOURCE_POLICY", "IDENTITY_POLICY"):
        return _not_implemented(f"ValidatePolicy for policyType {kind}")
    errors = policy_checks.syntax_errors(str(body.get("policyDocument", "")), identity=kind == "IDENTITY_POLICY")
    if errors is None:
        return _not_implemented("ValidatePolicy without the independent policy evaluator")
    findings = [{"findingType": "ERROR", "issueCode": "BYOC_EMULATOR_EVALUATOR_VALIDATION", "findingDetails": e,
                 "learnMoreLink": LEARN_MORE, "locations": []} for e in errors]
    query = parse_qs(environ.get("QUERY_STRING", ""))
    start = int((query.get("nextToken") or ["0"])[0] or 0)
    size = int((query.get("maxResults") or ["100"])[0] or 100)
    page = {"findings": findings[start:start + size]}
    if start + size < len(findings):
        page["nextToken"] = str(start + size)
    return _json("200 OK", page)


def _check_no_public_access(environ: dict, body: dict) -> Answer:
    from moto.core import DEFAULT_ACCOUNT_ID

    resource_type = body.get("resourceType")
    if resource_type not in policy_checks.ACTIONS:
        return _not_implemented(f"CheckNoPublicAccess for {resource_type}")
    document = str(body.get("policyDocument", ""))
    try:
        json.loads(document)
    except ValueError:
        return _json("400 Bad Request", {"message": "policyDocument is not JSON"}, "ValidationException")
    reasons = policy_checks.public_grants(document, resource_type, authorizer.region_of(environ), DEFAULT_ACCOUNT_ID)
    if reasons is None:
        return _not_implemented("CheckNoPublicAccess without the independent policy evaluator")
    if reasons:
        return _json("200 OK", {"result": "FAIL", "message": "The resource policy grants public access for the access "
                                "type.", "reasons": reasons})
    return _json("200 OK", {"result": "PASS", "message": "The resource policy does not grant public access for the "
                            "access type.", "reasons": []})


def answer_access_analyzer(environ: dict) -> Answer | None:
    """Gap 10: what the evaluator can answer, else AWS's answer to an operation it does not offer."""
    if not signed_for(environ, "access-analyzer"):
        return None
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
    routes = {"/policy/validation": _validate_policy, "/policy/check-no-public-access": _check_no_public_access}
    if method != "POST" or path not in routes:
        return _not_implemented("IAM Access Analyzer " + path)
    body = _body(environ)
    if body is None:
        return _json("400 Bad Request", {"message": "the request body is not a JSON object"}, "ValidationException")
    return routes[path](environ, body)


def patch_responses() -> None:
    add_route(answer_access_analyzer, gap=10)


install = installer(patch_responses)
