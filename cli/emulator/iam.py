"""IAM: gap 1 (AWS-managed policies exist) and gap 10 (the policy simulator is refused, not faked).

Gap 1 — moto does not load IAM's AWS-managed policies by default, so attaching
``AmazonECSTaskExecutionRolePolicy`` to the execution role fails with NoSuchEntity. moto's own
switch ``MOTO_IAM_LOAD_MANAGED_POLICIES`` loads them; it is read when the IAM backend is created,
so it is set before the server starts.

Gap 10 — moto's ``SimulatePrincipalPolicy`` / ``SimulateCustomPolicy`` answer with a body
botocore cannot parse. The emulator answers them the way AWS answers an operation it does not
offer: HTTP 501 ``NotImplemented``, at once, before moto sees the request. byoc then says "not
checked by AWS's evaluator" (a WARN), as it would against any endpoint without them; the
emulator never makes up a verdict. (Access Analyzer, the other evaluator: accessanalyzer.py.)

AWS documentation followed:
- IAM User Guide, "Managed policies and inline policies" (AWS managed policies),
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
- Amazon ECS Developer Guide, "Amazon ECS task execution IAM role",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
- IAM API Reference, SimulatePrincipalPolicy and SimulateCustomPolicy,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html,
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
- IAM API Reference, "Common Errors" (NotImplemented, HTTP 501),
  https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
"""

from __future__ import annotations

import io

from cli.emulator.patching import Answer, add_route, installer, set_env, signed_for

GAPS = (1, 10)

#: Operations of AWS's policy simulator that the emulator refuses as not implemented (gap 10).
_SIMULATOR_ACTIONS = (b"Action=SimulatePrincipalPolicy", b"Action=SimulateCustomPolicy")


def refuse_policy_simulator(environ: dict) -> Answer | None:
    """AWS's answer to an operation it does not offer (gap 10), or None to let moto answer."""
    if not (signed_for(environ, "iam") and environ.get("REQUEST_METHOD") == "POST"):
        return None
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
    if not any(action in body for action in _SIMULATOR_ACTIONS):
        return None
    data = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
            b"<Code>NotImplemented</Code><Message>IAM's policy simulator is not implemented by this "
            b"emulator</Message></Error><RequestId>byoc-emulator</RequestId></ErrorResponse>")
    return "501 Not Implemented", [("Content-Type", "text/xml")], data


def patch_responses() -> None:
    add_route(refuse_policy_simulator, gap=10)


def patch_models() -> None:
    set_env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true", gap=1)  # read when the IAM backend is created


install = installer(patch_responses, patch_models)
