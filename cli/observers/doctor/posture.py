"""Doctor's posture checks: what weakens the deployment without stopping a task, breaking the
service or exposing the key — key rotation, the secret's key being the stack's own, VPC flow logs,
log retention. Always a WARN, never a FAIL, so ``byoc doctor`` exits 0 on them: a FAIL is kept for
what a task start, the running service or the key's secrecy depends on.

AWS's references: KMS GetKeyRotationStatus (KeyRotationEnabled), EC2 DescribeFlowLogs (filter
``resource-id``; FlowLogStatus ACTIVE; paged by NextToken), CloudWatch Logs DescribeLogGroups
(``retentionInDays`` absent: the group never expires; paged by nextToken).
"""

from __future__ import annotations

from cli.observers.doctor import PASS, WARN, Check
from cli.observers.secret import secret_state
from constructs_lib.catalog import exec_log_group_name, flow_log_group_name, service_log_group_name

ROTATION = "posture: KMS key rotation on"
SECRET_KEY = "posture: secret encrypted with the stack's key"
FLOW_LOGS = "posture: VPC flow logs on"
RETENTION = "posture: log retention as configured"


def rotation(d) -> Check:
    arn = d.outputs.get("kms_key_arn")
    if not arn:
        return Check(ROTATION, WARN, "the deployment has no kms_key_arn output", "re-run `byoc deploy`")
    if d.client("kms").get_key_rotation_status(KeyId=arn).get("KeyRotationEnabled"):
        return Check(ROTATION, PASS, "automatic rotation on")
    return Check(ROTATION, WARN, "automatic rotation is off (posture: decryption still works)",
                 f"aws kms enable-key-rotation --key-id {arn.rsplit('/', 1)[-1]}, or re-run `byoc deploy`")


def secret_key(d) -> Check:
    state = secret_state(d.target, d.outputs["byoc_secret_arn"])
    key, cmk = state.kms_key_id or "", d.outputs.get("kms_key_arn") or ""
    if not state.exists or (key and not key.startswith("alias/aws/") and (not cmk or key in (cmk, cmk.rsplit("/", 1)[-1]))):
        return Check(SECRET_KEY, PASS, "the stack's customer-managed key" if state.exists else
                     "no secret to read (the secret check says why)")
    return Check(SECRET_KEY, WARN, f"encrypted with {key or 'the AWS-managed key'}, not the stack's key (posture: "
                 "its policy is not the stack's)", "re-run `byoc deploy` (it sets the secret's key back)")


def flow_logs(d) -> Check:
    if d.inputs.get("vpc_flow_logs", True) is False:
        return Check(FLOW_LOGS, PASS, "off by choice (vpc_flow_logs = false)")
    vpc = d.outputs["vpc_id"]
    found = []
    for page in d.client("ec2").get_paginator("describe_flow_logs").paginate(
            Filters=[{"Name": "resource-id", "Values": [vpc]}]):
        found += [f for f in page.get("FlowLogs", []) if f.get("FlowLogStatus", "ACTIVE") == "ACTIVE"]
    if found:
        return Check(FLOW_LOGS, PASS, f"{vpc}: {', '.join(f['FlowLogId'] for f in found)}")
    return Check(FLOW_LOGS, WARN, f"{vpc} has no active flow log (vpc_flow_logs = true)", "re-run `byoc deploy`")


def retention(d) -> Check:
    days = d.inputs.get("log_retention_days", 30)
    app = d.inputs.get("app_name", "")
    names = [service_log_group_name(app), exec_log_group_name(app)]
    if d.inputs.get("vpc_flow_logs", True) is not False:
        names.append(flow_log_group_name(app))
    found: dict[str, dict] = {}
    for page in d.client("logs").get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=service_log_group_name(app)):
        found.update({g["logGroupName"]: g for g in page.get("logGroups", [])})
    if len(names) > 2:
        for page in d.client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=names[2]):
            found.update({g["logGroupName"]: g for g in page.get("logGroups", [])})
    off = [f"{n} keeps {found[n].get('retentionInDays', 'forever')}" for n in names
           if n in found and found[n].get("retentionInDays") != days]
    if off:
        return Check(RETENTION, WARN, f"{'; '.join(off)} (log_retention_days = {days})", "re-run `byoc deploy`")
    return Check(RETENTION, PASS, f"{days} days on {', '.join(n for n in names if n in found) or 'no log group'}")


CHECKS = ((ROTATION, rotation), (SECRET_KEY, secret_key), (FLOW_LOGS, flow_logs), (RETENTION, retention))
