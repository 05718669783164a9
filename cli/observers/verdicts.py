"""AWS's own verdicts on who may read the secret: IAM's policy simulator and Access Analyzer.

byoc's document reader (``cli/core/policy.py``) says what the policies byoc wrote say; these ask
AWS. Read-only: used by ``byoc doctor`` and by ``byoc lockdown`` after it applied a policy.

An endpoint that does not implement these calls (moto) or credentials not allowed to make them
raise ``NotChecked``, whose message says why — never a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs_lib.catalog import SECRET_READ_ACTION as READ_ACTION, secretsmanager_via

#: A VPC endpoint id that is not the stack's: reads through it must be denied.
OTHER_VPCE = "vpce-0a0a0a0a0a0a0a0a0"


class NotChecked(Exception):
    """AWS's evaluator could not be asked; the message says why."""


def ask(call, operation: str, endpoint_url: str | None):
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
        result = ask(lambda: iam.simulate_principal_policy(**kwargs), "iam:SimulatePrincipalPolicy",
                      target.endpoint_url)
        return result["EvaluationResults"][0]["EvalDecision"]

    via = secretsmanager_via(target.region)
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
