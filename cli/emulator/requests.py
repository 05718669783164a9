"""Reading the caller's JSON requests in front of moto (Secrets Manager and KMS speak the
``awsJson1_1`` protocol: the operation in ``X-Amz-Target``, the parameters as a JSON body), and
answering a refusal the way those services do (AWS's "Common Errors": AccessDeniedException,
HTTP 400, ``{"__type": ..., "message": ...}``)."""

from __future__ import annotations

import io
import json

from cli.emulator.patching import Answer


def json_request(environ: dict, prefix: str) -> tuple[str, dict] | None:
    """(operation, parameters) of an ``X-Amz-Target: <prefix>.<Operation>`` request, else None.
    The body is put back for moto."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(prefix + ".") or environ.get("REQUEST_METHOD") != "POST":
        return None
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        params = json.loads(body or b"{}")
    except ValueError:
        return None  # moto answers a malformed body as AWS would
    return target.split(".", 1)[1], params if isinstance(params, dict) else {}


def refused(message: str, *, code: str = "AccessDeniedException", status: str = "400 Bad Request") -> Answer:
    data = json.dumps({"__type": code, "message": message, "Message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)], data


def cannot_evaluate(message: str) -> Answer:
    """The emulator's own failure (the evaluator could not judge): never an allow, never AWS's word."""
    return refused(message, code="InternalFailure", status="500 Internal Server Error")
