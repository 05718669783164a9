"""AWS's own verdicts on who may read the secret: IAM's policy simulator and Access Analyzer.

byoc's document reader (``cli/policy.py``) says what the policies byoc wrote say; these ask
AWS, which evaluates every policy the way requests are evaluated:

- ``iam:SimulatePrincipalPolicy`` for the execution and task roles (and any other reader):
  ``secretsmanager:GetSecretValue`` on the secret with the secret's resource policy and
  ``aws:SourceVpce`` = the endpoint; the same from outside the endpoint (must be denied); and
  ``kms:Decrypt`` on the key with the key policy and ``kms:ViaService`` = Secrets Manager.
- IAM Access Analyzer ``CheckNoPublicAccess`` on the secret policy.

An endpoint that does not implement these calls (moto) or credentials not allowed to make them
give a WARN that says "not checked by AWS's evaluator" — never a PASS.
"""

from __future__ import annotations

from dataclasses import dataclass

from cli.doctor import FAIL, PASS, WARN, Check
from cli.policy import READ_ACTION

READS = "AWS's evaluator: roles may read and decrypt"
PUBLIC = "AWS's evaluator: secret policy not public"
#: A VPC endpoint id that is not the stack's: reads through it must be denied.
OTHER_VPCE = "vpce-0a0a0a0a0a0a0a0a0"


class NotChecked(Exception):
    """AWS's evaluator could not be asked; the message says why."""


def _ask(call, operation: str, endpoint_url: str | None):
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError  # not a BotoCoreError

    try:
        return call()
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code, status = err.get("Code", ""), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if "AccessDenied" in code or code == "UnauthorizedOperation":
            raise NotChecked(f"these credentials may not call {operation} (allow it to get AWS's verdict)") from None
        if status in (404, 500, 501) or code in ("NotImplemented", "InvalidAction", "UnknownOperationException",
                                                 "500", "404"):
            raise NotChecked(f"{endpoint_url or 'the endpoint'} does not implement {operation}") from None
        raise
    except (BotoCoreError, ResponseParserError) as exc:  # e.g. an HTML error page where XML was due
        if endpoint_url:
            raise NotChecked(f"{endpoint_url} does not implement {operation}") from None
        raise NotChecked(f"{operation} failed: {str(exc).splitlines()[0]}") from None


@dataclass(frozen=True)
class Verdict:
    principal: str
    question: str
    decision: str  # allowed | explicitDeny | implicitDeny
    expected: str

    @property
    def ok(self) -> bool:
        return (self.decision == "allowed") == (self.expected == "allowed")

    def line(self) -> str:
        return f"{self.principal.rsplit('/', 1)[-1]} {self.question}: {self.decision}"


def read_verdicts(target, outputs: dict, readers: list[str]) -> list[Verdict]:
    """AWS's policy simulator on each reader's path to the key (raises NotChecked)."""
    iam = target.client("iam", attempts=1)
    sm, kms = target.client("secretsmanager"), target.client("kms")
    secret_arn, vpce, key_arn = outputs["byoc_secret_arn"], outputs["secretsmanager_vpce_id"], outputs["kms_key_arn"]
    secret_policy = sm.get_resource_policy(SecretId=secret_arn).get("ResourcePolicy") or ""
    key_policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]

    def simulate(principal: str, action: str, resource: str, policy: str, context: dict[str, str]) -> str:
        kwargs = {"PolicySourceArn": principal, "ActionNames": [action], "ResourceArns": [resource],
                  "ContextEntries": [{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"}
                                     for k, v in {"aws:PrincipalArn": principal, **context}.items()]}
        if policy:
            kwargs["ResourcePolicy"] = policy
        result = _ask(lambda: iam.simulate_principal_policy(**kwargs), "iam:SimulatePrincipalPolicy",
                      target.endpoint_url)
        return result["EvaluationResults"][0]["EvalDecision"]

    via = f"secretsmanager.{target.region}.amazonaws.com"
    verdicts = []
    for principal in readers:
        verdicts.append(Verdict(principal, f"GetSecretValue via {vpce}",
                                simulate(principal, READ_ACTION, secret_arn, secret_policy, {"aws:SourceVpce": vpce}),
                                "allowed"))
        verdicts.append(Verdict(principal, "GetSecretValue via another endpoint",
                                simulate(principal, READ_ACTION, secret_arn, secret_policy,
                                         {"aws:SourceVpce": OTHER_VPCE}), "denied"))
        verdicts.append(Verdict(principal, "kms:Decrypt via Secrets Manager",
                                simulate(principal, "kms:Decrypt", key_arn, key_policy, {"kms:ViaService": via}),
                                "allowed"))
    return verdicts


def reads(d) -> Check:
    out = d.outputs
    try:
        verdicts = read_verdicts(d.target, out, [out["ecs_execution_role_arn"], out["ecs_task_role_arn"]])
    except NotChecked as exc:
        return Check(READS, WARN, f"not checked by AWS's evaluator: {exc}",
                     "run doctor against AWS with iam:SimulatePrincipalPolicy allowed")
    wrong = [v.line() + f" (expected {v.expected})" for v in verdicts if not v.ok]
    return Check(READS, FAIL if wrong else PASS,
                 "; ".join(wrong) or "IAM's simulator: both roles may read via the endpoint and decrypt; "
                 "reads via another endpoint denied",
                 "see the execution role's policies and the secret policy (`byoc lockdown`, `byoc deploy` restore "
                 "them)" if wrong else "")


def public_access(d) -> Check:
    text = d.client("secretsmanager").get_resource_policy(SecretId=d.outputs["byoc_secret_arn"]).get("ResourcePolicy")
    if not text:
        return Check(PUBLIC, FAIL, "the secret has no resource policy", "re-run `byoc deploy`")
    analyzer = d.target.client("accessanalyzer", attempts=1)
    try:
        result = _ask(lambda: analyzer.check_no_public_access(policyDocument=text,
                                                              resourceType="AWS::SecretsManager::Secret"),
                      "access-analyzer:CheckNoPublicAccess", d.target.endpoint_url)
    except NotChecked as exc:
        return Check(PUBLIC, WARN, f"not checked by AWS's evaluator: {exc}",
                     "run doctor against AWS with access-analyzer:CheckNoPublicAccess allowed")
    if result.get("result") == "PASS":
        return Check(PUBLIC, PASS, "IAM Access Analyzer: the secret policy grants no public access")
    reasons = "; ".join(r.get("description", "") for r in result.get("reasons", [])) or result.get("message", "")
    return Check(PUBLIC, FAIL, f"IAM Access Analyzer: {reasons}", "remove the public grant (`byoc lockdown` rewrites "
                 "the policy)")


CHECKS = ((READS, reads), (PUBLIC, public_access))
