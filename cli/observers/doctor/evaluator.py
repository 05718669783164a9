"""Doctor's checks on verdicts that are not byoc's own (``cli/observers/verdicts.py``): AWS's IAM
policy simulator on the roles' identity policies, the independent evaluator on the whole chain
(identity, secret, key and endpoint policies, as read from AWS), and IAM Access Analyzer on the
secret policy. Each verdict names its source; what no evaluator could answer is a WARN that says
so, never a PASS."""

from __future__ import annotations

from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.verdicts import NotChecked, ask, judge_readers

READS = "AWS's evaluator: roles may read and decrypt"
PUBLIC = "AWS's evaluator: secret policy not public"


def reads(d) -> Check:
    out = d.outputs
    judgement = judge_readers(d.target, out, [out["ecs_execution_role_arn"], out["ecs_task_role_arn"]])
    wrong = [f"{v.line()} (expected {v.expected})" for v in judgement.wrong]
    if wrong:
        return Check(READS, FAIL, "; ".join(wrong),
                     "see the execution role's policies, the secret policy and the key policy (`byoc lockdown` "
                     "restores them)")
    unknown = [v.line() for v in judgement.unknown] + judgement.not_checked
    sources = sorted({v.source for v in judgement.verdicts})
    if not judgement.verdicts:
        return Check(READS, WARN, "not evaluated: " + "; ".join(unknown),
                     "run doctor where an evaluator answers (AWS with iam:SimulatePrincipalPolicy allowed; "
                     "`byoc evaluator install`)")
    detail = ("both roles may read through the endpoint and decrypt; reads through another endpoint or from "
              f"outside denied ({'; '.join(sources)})")
    if unknown:
        return Check(READS, WARN, detail + "; not evaluated: " + "; ".join(unknown),
                     "allow iam:SimulatePrincipalPolicy, or `byoc evaluator install`, to get every verdict")
    return Check(READS, PASS, detail)


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
