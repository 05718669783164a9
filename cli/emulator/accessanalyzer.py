"""IAM Access Analyzer: gap 10 (Access Analyzer is refused, not faked).

Gap 10 — moto has no Access Analyzer backend at all: its server prints a traceback and answers
500, which botocore retries four times. The emulator answers every Access Analyzer request the way
AWS answers an operation it does not offer: HTTP 501 ``NotImplemented``, at once, before moto
sees it. byoc then says "not checked by AWS's evaluator" (a WARN), as it would against any
endpoint without it; the emulator never makes up a verdict. (IAM's policy simulator, the other
evaluator, is answered by the independent evaluator: gap 11, iam_simulator.py.)

Nothing of moto's is patched here: there is no Access Analyzer in moto to patch.

AWS documentation followed:
- IAM Access Analyzer API Reference, CheckNoPublicAccess (what ``byoc doctor`` asks),
  https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_CheckNoPublicAccess.html
- IAM Access Analyzer API Reference, "Common Errors" (NotImplemented, HTTP 501),
  https://docs.aws.amazon.com/access-analyzer/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import json

from cli.emulator.patching import Answer, add_route, installer, signed_for

GAPS = (10,)


def refuse_access_analyzer(environ: dict) -> Answer | None:
    """AWS's answer to an operation it does not offer (gap 10), or None to let moto answer."""
    if not signed_for(environ, "access-analyzer"):
        return None
    data = json.dumps({"message": "IAM Access Analyzer is not implemented by this emulator"}).encode()
    return "501 Not Implemented", [("Content-Type", "application/json"), ("x-amzn-ErrorType", "NotImplemented")], data


def patch_responses() -> None:
    add_route(refuse_access_analyzer, gap=10)


install = installer(patch_responses)
