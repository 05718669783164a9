"""Live checks: the deployed stack, read with boto3. Read-only."""

from __future__ import annotations

import json
from typing import Any, Callable

from cli.doctor import EXECUTION_MANAGED_POLICY, FAIL, PASS, SKIP, WARN, Check, service_of
from cli.doctor.explain import explain_stopped
from cli.policy import SecretPolicy, allows, statements
from cli.rollout import service_state
from constructs_lib.catalog import SECRET_JSON_KEY, TASK_START_SERVICES


def _safe(name: str, fn: Callable[[], Check]) -> Check:
    """One check's answer; an AWS error while checking is that check's failure, not the run's."""
    try:
        return fn()
    except Exception as exc:  # botocore's errors do not share one base class
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Check(name, FAIL, f"could not check: {first}", "check credentials and permissions, then re-run")


def live_checks(target, outputs: dict[str, Any]) -> list[Check]:
    ec2, iam, ecs = target.client("ec2"), target.client("iam"), target.client("ecs")
    sm, elbv2 = target.client("secretsmanager"), target.client("elbv2")
    secret_arn, vpce_id = outputs["byoc_secret_arn"], outputs["secretsmanager_vpce_id"]
    exec_arn, task_arn = outputs["ecs_execution_role_arn"], outputs["ecs_task_role_arn"]
    vpc_id = outputs["vpc_id"]
    checks: list[Check] = []

    def endpoints() -> Check:
        found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
        by_service = {service_of(e["ServiceName"]): e for e in found
                      if e.get("State", "").lower() not in ("deleted", "deleting")}
        problems = []
        for svc in TASK_START_SERVICES:
            e = by_service.get(svc)
            if e is None:
                problems.append(f"{svc} missing")
            elif e.get("State", "").lower() != "available":
                problems.append(f"{svc} is {e.get('State')}")
            elif not e.get("PrivateDnsEnabled"):
                problems.append(f"{svc} has private DNS off")
        if "s3" not in by_service:
            problems.append("s3 gateway missing")
        return Check("VPC endpoints available with private DNS", FAIL if problems else PASS,
                     "; ".join(problems) or "ecr.api, ecr.dkr, logs, secretsmanager, s3",
                     "re-run `byoc deploy` to recreate the endpoints" if problems else "")

    def endpoint_sg() -> Check:
        all_in_vpc = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
        found = [e for e in all_in_vpc
                 if e["VpcEndpointId"] == vpce_id and e.get("State", "").lower() not in ("deleted", "deleting")]
        if not found:  # reported once, by the endpoint check
            return Check("endpoint security group admits 443", SKIP, f"endpoint {vpce_id} is gone (see above)")
        vpc_cidr = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"]
        groups = [g["GroupId"] for g in found[0].get("Groups", [])]
        import ipaddress

        for sg in ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"] if groups else []:
            for perm in sg.get("IpPermissions", []):
                proto, lo, hi = perm.get("IpProtocol"), perm.get("FromPort", 0), perm.get("ToPort", 65535)
                if proto not in ("tcp", "-1") or (proto == "tcp" and not lo <= 443 <= hi):
                    continue
                for rng in perm.get("IpRanges", []):
                    if ipaddress.ip_network(vpc_cidr).subnet_of(ipaddress.ip_network(rng["CidrIp"])):
                        return Check("endpoint security group admits 443", PASS, f"{sg['GroupId']} admits 443 from {rng['CidrIp']}")
        return Check("endpoint security group admits 443", FAIL,
                     f"no rule on {', '.join(groups) or 'the endpoint'} admits tcp/443 from {vpc_cidr}",
                     "add an inbound rule tcp/443 from the VPC CIDR (or re-run `byoc deploy`)")

    def exec_role() -> Check:
        name = exec_arn.rsplit("/", 1)[-1]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        names = [p["PolicyName"] for p in attached]
        problems = []
        if EXECUTION_MANAGED_POLICY not in names:
            problems.append(f"{EXECUTION_MANAGED_POLICY} not attached")
        grants = False
        for p in attached:
            if p["PolicyName"] == EXECUTION_MANAGED_POLICY:
                continue
            pol = iam.get_policy(PolicyArn=p["PolicyArn"])["Policy"]
            version = iam.get_policy_version(PolicyArn=p["PolicyArn"], VersionId=pol["DefaultVersionId"])
            doc = version["PolicyVersion"]["Document"]
            grants = grants or allows(statements(doc), "secretsmanager:GetSecretValue", secret_arn)
        for inline in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            doc = iam.get_role_policy(RoleName=name, PolicyName=inline)["PolicyDocument"]
            grants = grants or allows(statements(doc), "secretsmanager:GetSecretValue", secret_arn)
        if not grants:
            problems.append("no attached policy grants secretsmanager:GetSecretValue on the secret")
        return Check("execution role can read the secret", FAIL if problems else PASS,
                     "; ".join(problems) or f"{name}: {', '.join(names)}",
                     "attach the <app>-secret-read policy to the execution role (`byoc deploy` restores it)"
                     if problems else "")

    def task_definition() -> Check:
        svc = ecs.describe_services(cluster=outputs["ecs_cluster_name"], services=[outputs["ecs_service_name"]])
        current = svc["services"][0]["taskDefinition"]
        family = ecs.describe_task_definition(taskDefinition=current)["taskDefinition"]["family"]
        # The newest ACTIVE revision is what the next deployment (or a console "update") takes.
        active = [a for a in ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]
                  if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family]
        latest = max(active, key=lambda a: int(a.rsplit(":", 1)[-1]), default=current)
        problems = []
        for arn in dict.fromkeys([current, latest]):
            td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            rev = arn.rsplit(":", 1)[-1]
            if not td.get("executionRoleArn"):
                problems.append(f"revision {rev} has no execution role")
            for c in td.get("containerDefinitions", []):
                for sec in c.get("secrets", []):
                    if sec.get("valueFrom") != f"{secret_arn}:{SECRET_JSON_KEY}::":
                        problems.append(f"revision {rev}: {sec.get('name')} valueFrom {sec.get('valueFrom')!r} "
                                        f"is not <secret arn>:{SECRET_JSON_KEY}::")
        return Check("task definition injects the JSON key", FAIL if problems else PASS,
                     "; ".join(problems) or f"valueFrom = <secret arn>:{SECRET_JSON_KEY}::",
                     f"register the revision with valueFrom \"{secret_arn}:{SECRET_JSON_KEY}::\" and an execution "
                     "role (`byoc deploy` does)" if problems else "")

    def secret() -> Check:
        described = sm.describe_secret(SecretId=secret_arn)
        problems = []
        key = described.get("KmsKeyId") or ""
        if not key or key.startswith("alias/aws/") or (outputs.get("kms_key_arn") and key not in (
                outputs["kms_key_arn"], outputs["kms_key_arn"].rsplit("/", 1)[-1])):
            problems.append(f"encrypted with {key or 'the AWS-managed key'}, not the stack's CMK")
        current = any("AWSCURRENT" in s for s in (described.get("VersionIdsToStages") or {}).values())
        if not current:
            problems.append("no current value (run `byoc secret put`)")
        else:
            from botocore.exceptions import ClientError

            try:
                text = sm.get_secret_value(SecretId=secret_arn).get("SecretString") or ""
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "AccessDeniedException":
                    return Check("secret holds JSON with PINECONE_API_KEY", WARN if not problems else FAIL,
                                 "; ".join(problems) or "value present; its content is readable only through the "
                                 "VPC endpoint (denied here by design)", "run doctor inside the VPC to check the content")
                raise
            try:
                value = json.loads(text)
                if not isinstance(value, dict) or not str(value.get(SECRET_JSON_KEY, "")).strip():
                    problems.append(f"the value is JSON but has no non-empty {SECRET_JSON_KEY} key")
            except ValueError:
                problems.append("the value is not JSON")
            del text
        return Check("secret holds JSON with PINECONE_API_KEY", FAIL if problems else PASS,
                     "; ".join(problems) or "CMK-encrypted; current value is JSON with the key (not shown)",
                     "store it with `byoc secret put` (writes {\"PINECONE_API_KEY\": \"...\"})" if problems else "")

    def secret_policy() -> Check:
        text = sm.get_resource_policy(SecretId=secret_arn).get("ResourcePolicy")
        policy = SecretPolicy.parse(text)
        problems = []
        for label, arn in (("execution role", exec_arn), ("task role", task_arn)):
            if not policy.may_read(arn, vpce_id):
                problems.append(f"the {label} may not read through {vpce_id}")
        if policy.endpoints is None or policy.may_read(task_arn, None):
            problems.append("reads from outside the VPC endpoint are not denied")
        return Check("secret policy: roles read, only via the endpoint", FAIL if problems else PASS,
                     "; ".join(problems) or f"execution and task roles may read; only through {vpce_id}",
                     "run `byoc lockdown` (it always keeps the execution role)" if problems else "")

    def service() -> Check:
        state = service_state(target, outputs["ecs_cluster_name"], outputs["ecs_service_name"])
        if state is None:
            return Check("service running", FAIL, f"no active service {outputs['ecs_service_name']}",
                         "re-run `byoc deploy`")
        detail = f"{state.running} of {state.desired} tasks running"
        if state.failed_reason:  # a task of the current deployment failed: what the fix doc is about
            return Check("service running", FAIL, f"{detail}; a new task stopped: {state.failed_reason}",
                         explain_stopped(state.failed_reason))
        if state.running >= state.desired:
            return Check("service running", PASS, detail if state.desired else
                         f"{detail} (0 desired: tasks start when the secret has a value, `byoc secret put`)")
        if state.last_stopped_reason:
            detail += f"; last stopped: {state.last_stopped_reason}"
        return Check("service running", WARN if state.running else FAIL, detail,
                     "tasks are starting or failing; re-run doctor in a minute and read stoppedReason")

    def targets() -> Check:
        svc = ecs.describe_services(cluster=outputs["ecs_cluster_name"],
                                    services=[outputs["ecs_service_name"]])["services"][0]
        problems, healthy = [], 0
        for lb in svc.get("loadBalancers", []):
            for t in elbv2.describe_target_health(TargetGroupArn=lb["targetGroupArn"])["TargetHealthDescriptions"]:
                state = t.get("TargetHealth", {}).get("State")
                if state == "healthy":
                    healthy += 1
                elif state not in ("initial", "draining"):
                    problems.append(f"{t['Target']['Id']} {state}: {t['TargetHealth'].get('Description', '')}")
        if problems:
            return Check("load balancer targets healthy", FAIL, "; ".join(problems),
                         "check health_check_path and that the app listens on container_port")
        if healthy == 0:
            return Check("load balancer targets healthy", WARN, "no targets registered yet",
                         "wait for tasks to start, then re-run doctor")
        return Check("load balancer targets healthy", PASS, f"{healthy} healthy")

    for name, fn in (("VPC endpoints available with private DNS", endpoints),
                     ("endpoint security group admits 443", endpoint_sg),
                     ("execution role can read the secret", exec_role),
                     ("task definition injects the JSON key", task_definition),
                     ("secret holds JSON with PINECONE_API_KEY", secret),
                     ("secret policy: roles read, only via the endpoint", secret_policy),
                     ("service running", service),
                     ("load balancer targets healthy", targets)):
        checks.append(_safe(name, fn))
    return checks


