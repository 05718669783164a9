"""Doctor's checks on verdicts that are not byoc's own (``cli/observers/verdicts.py``): AWS's IAM
policy simulator on the roles' identity policies, the independent evaluator on the whole chain
(identity, secret, key and endpoint policies, as read from AWS), and AWS's validators on the secret
and key policies (``cli/observers/validation.py``). Each verdict names its source; what no
evaluator could answer is a WARN that says so, never a PASS."""

from __future__ import annotations

from cli.observers.doctor import FAIL, PASS, WARN, Check
from cli.observers.validation import applied, validate
from cli.observers.verdicts import judge_readers

READS = "AWS's evaluator: roles may read and decrypt"
PUBLIC = "AWS's validators: secret and key policies valid, not public"


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
    """The secret and key policies as AWS holds them, by AWS's validators (``validation.py``):
    Secrets Manager's ValidateResourcePolicy, Access Analyzer's ValidatePolicy and
    CheckNoPublicAccess. A public grant exposes the key, an error or a lock-out breaks the next
    change: FAIL; what no validator could answer is a WARN that says so."""
    policies = applied(d.target, d.outputs)
    if not policies[0].document:
        return Check(PUBLIC, FAIL, "the secret has no resource policy", "re-run `byoc deploy`")
    result = validate(d.target, policies)
    if result.stops:
        return Check(PUBLIC, FAIL, "; ".join(f.line() for f in result.stops),
                     "remove what the validator names (`byoc lockdown` rewrites the secret policy, `byoc deploy` the "
                     "key policy)")
    said = [f.line() for f in result.findings]
    if result.not_checked:
        return Check(PUBLIC, WARN, "; ".join([*(f"passed {p}" for p in result.passed), *said,
                                              *(f"not checked by AWS's validators: {n}" for n in result.not_checked)]),
                     "run doctor against AWS with secretsmanager:ValidateResourcePolicy, "
                     "access-analyzer:ValidatePolicy and access-analyzer:CheckNoPublicAccess allowed")
    return Check(PUBLIC, PASS, "; ".join([*(f"passed {p}" for p in result.passed), *said]))


CHECKS = ((READS, reads), (PUBLIC, public_access))
