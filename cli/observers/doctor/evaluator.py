"""Doctor's checks on AWS's own verdicts (``cli/observers/verdicts.py``): IAM's policy simulator
and Access Analyzer.

byoc's document reader (``cli/core/policy.py``) says what the policies byoc wrote say; these ask
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

from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.verdicts import NotChecked, ask, read_verdicts

READS = "AWS's evaluator: roles may read and decrypt"
PUBLIC = "AWS's evaluator: secret policy not public"


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
        result = ask(lambda: analyzer.check_no_public_access(policyDocument=text,
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
