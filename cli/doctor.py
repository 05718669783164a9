"""`byoc doctor`: the fix doc's Secrets Manager connection checklist, automated and read-only.

Static checks read the synthesized JSON (no AWS needed): they catch a stack edited into one of
the three root causes before it is deployed. Live checks read the deployed stack with boto3:
they catch the same causes introduced by hand in the console or CLI. Nothing here writes.

Each check answers one question of the fix doc and, when it fails, says what to do.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

from cli.policy import SecretPolicy
from cli.tfexpr import Evaluator, ExprError
from stacks import SECRET_JSON_KEY

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
#: What a private Fargate task of this stack needs to start: image (ecr.api, ecr.dkr, layers
#: from S3), logs (awslogs driver) and the secret.
NEEDED_INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
EXECUTION_MANAGED_POLICY = "AmazonECSTaskExecutionRolePolicy"
MIN_PLATFORM = (1, 4, 0)


@dataclass(frozen=True)
class Check:
    name: str
    result: str
    detail: str
    fix: str = ""


def _service_of(service_name: str) -> str:
    """``ecr.api`` of ``com.amazonaws.<region>.ecr.api`` (region may be ``${var.aws_region}``)."""
    return re.sub(r"^com\.amazonaws\.(\$\{[^}]*\}|[a-z0-9-]+)\.", "", service_name)


def _version(text: str) -> tuple[int, ...] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in m.groups()) if m else None


# ---------------------------------------------------------------------------------------------
# Static: on cdk.tf.json
# ---------------------------------------------------------------------------------------------

# A reference anywhere in an expression: aws_iam_role.execution.arn, data.aws_x.y.json, ...
_REF = re.compile(r"\b((?:data\.)?aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.([a-z0-9_]+)")


def _refs(value: Any) -> list[tuple[str, str, str]]:
    """(type, name, attribute) of every ``${type.name.attr}`` reference inside ``value``."""
    return [m.groups() for m in _REF.finditer(json.dumps(value))]


def _ref_to(value: Any, kind: str) -> list[str]:
    return [name for t, name, _a in _refs(value) if t == kind]


def _created(doc: dict, values: dict[str, Any]) -> dict[str, dict[str, dict]]:
    """The JSON's resources that a plan with these inputs would create at least once: each
    ``count``/``for_each`` evaluated (``cli.tfexpr``, as ``byoc cost`` does), so that e.g.
    ``nat_mode = none`` has no NAT route and ``endpoint_set = minimal`` no kms endpoint. A count
    that cannot be evaluated keeps its resource (checked as if created)."""
    ev = Evaluator(doc, values)
    created: dict[str, dict[str, dict]] = {}
    for kind, bodies in (doc.get("resource") or {}).items():
        for name, body in bodies.items():
            try:
                if not ev.instances(body):
                    continue
            except ExprError:
                pass
            created.setdefault(kind, {})[name] = body
    return created


class StackJson:
    def __init__(self, doc: dict, values: dict[str, Any] | None = None) -> None:
        self.doc = doc
        self.resources = _created(doc, values or {})
        self.data = doc.get("data", {})

    def all(self, kind: str) -> dict[str, dict]:
        return self.resources.get(kind, {})

    def task_definitions(self) -> dict[str, dict]:
        return self.all("aws_ecs_task_definition")

    def value_froms(self, task: dict) -> list[str]:
        text = task.get("container_definitions", "")
        # jsonencode(...) HCL (what the stack writes) or a plain JSON string.
        return re.findall(r'"valueFrom"\s*[=:]\s*"((?:[^"\\]|\\.|\$\{[^}]*\})*)"', text)

    def statements(self, policy_value: str) -> list[dict]:
        """Statements of an IAM policy attribute: a policy-document data source or JSON."""
        out = []
        for name in _ref_to(policy_value, "data.aws_iam_policy_document"):
            out += self.data.get("aws_iam_policy_document", {}).get(name, {}).get("statement", [])
        if not out:
            try:
                out = _statements(policy_value)
            except (TypeError, ValueError, AttributeError):
                pass
        return out

    def role_policies(self, role: str) -> tuple[list[dict], list[str]]:
        """Allow statements of every policy attached to ``role``, and the managed policy ARNs."""
        statements, managed = [], []
        for att in self.all("aws_iam_role_policy_attachment").values():
            if role not in _ref_to(att.get("role"), "aws_iam_role"):
                continue
            policies = _ref_to(att.get("policy_arn"), "aws_iam_policy")
            if not policies:
                managed.append(att.get("policy_arn", ""))
            for p in policies:
                statements += self.statements(self.all("aws_iam_policy").get(p, {}).get("policy", ""))
        for inline in self.all("aws_iam_role_policy").values():
            if role in _ref_to(inline.get("role"), "aws_iam_role"):
                statements += self.statements(inline.get("policy", ""))
        return [s for s in statements if (s.get("effect") or "Allow") == "Allow"], managed


def _statements(doc: str | dict) -> list[dict]:
    """An IAM policy document (JSON text or parsed) as the statement shape of
    ``aws_iam_policy_document`` (effect/actions/resources/condition); one place for both the
    synthesized JSON and what AWS returns (where Statement may be a single object)."""
    doc = json.loads(doc) if isinstance(doc, str) else doc
    raw = doc.get("Statement", [])
    return [{"effect": s.get("Effect"), "actions": s.get("Action"), "resources": s.get("Resource"),
             "condition": s.get("Condition")} for s in (raw if isinstance(raw, list) else [raw])]


def _allows(statements: list[dict], action: str, resource_ref: str) -> bool:
    for s in statements:
        actions = s.get("actions") or []
        actions = [actions] if isinstance(actions, str) else actions
        resources = s.get("resources") or []
        resources = [resources] if isinstance(resources, str) else resources
        if any(re.fullmatch(a.replace("*", ".*"), action, re.IGNORECASE) for a in actions) and \
                any(r == "*" or resource_ref in r for r in resources):
            return True
    return False


def static_checks(doc: dict, values: dict[str, Any] | None = None) -> list[Check]:
    """The checks on the synthesized JSON, for the resources these input ``values`` create
    (missing inputs: the variables' defaults)."""
    j = StackJson(doc, values)
    checks: list[Check] = []
    tasks = j.task_definitions()
    if not tasks:
        return [Check("task definition", FAIL, "the stack has no aws_ecs_task_definition",
                      "synthesize the byoc stack (byoc synth)")]
    task = next(iter(tasks.values()))
    exec_roles = _ref_to(task.get("execution_role_arn"), "aws_iam_role")
    task_roles = _ref_to(task.get("task_role_arn"), "aws_iam_role")
    value_froms = j.value_froms(task)
    secret_names = sorted({n for v in value_froms for n in _ref_to(v, "aws_secretsmanager_secret")})
    secret = secret_names[0] if secret_names else None
    key_names = _ref_to(j.all("aws_secretsmanager_secret").get(secret or "", {}).get("kms_key_id"), "aws_kms_key")

    # 1. The execution role reads the secret and decrypts it (root cause 1).
    if not exec_roles:
        checks.append(Check("execution role reads the secret", FAIL, "the task definition has no execution role",
                            "set execution_role_arn on the task definition; ECS injects secrets with it"))
    else:
        allowed, managed = j.role_policies(exec_roles[0])
        secret_ref = f"${{aws_secretsmanager_secret.{secret}.arn}}"
        key_ref = f"${{aws_kms_key.{key_names[0]}.arn}}" if key_names else None
        missing = []
        if not secret or not _allows(allowed, "secretsmanager:GetSecretValue", secret_ref):
            missing.append("secretsmanager:GetSecretValue on the secret")
        if key_ref and not _allows(allowed, "kms:Decrypt", key_ref):
            missing.append("kms:Decrypt on the secret's key")
        checks.append(Check(
            "execution role reads the secret", FAIL if missing else PASS,
            f"aws_iam_role.{exec_roles[0]} lacks " + " and ".join(missing) if missing
            else f"aws_iam_role.{exec_roles[0]} may GetSecretValue and kms:Decrypt",
            "attach the secret-read policy to the execution role (PineconeSecret.grant_read)" if missing else ""))
        has_managed = any(m.endswith("/" + EXECUTION_MANAGED_POLICY) for m in managed)
        checks.append(Check(
            "execution role has AmazonECSTaskExecutionRolePolicy", PASS if has_managed else FAIL,
            "attached" if has_managed else "not attached: image pulls and awslogs fail",
            "" if has_managed else "attach arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"))

    # 2. valueFrom carries the JSON key (root cause 2).
    bad = [v for v in value_froms if not re.search(r"\.arn\}:[A-Za-z0-9_.-]+:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*$", v)]
    ok = value_froms and not bad and all(v.endswith(f":{SECRET_JSON_KEY}::") for v in value_froms)
    checks.append(Check(
        "valueFrom carries the JSON key", PASS if ok else FAIL,
        ", ".join(value_froms) if ok else f"valueFrom {bad or value_froms or '(none)'}",
        "" if ok else f"use valueFrom = \"<secret arn>:{SECRET_JSON_KEY}::\" (PineconeSecret.value_from)"))

    # 3. Every endpoint a private task needs, or a NAT route (root cause 3).
    endpoints = j.all("aws_vpc_endpoint")
    present = {_service_of(ep.get("service_name", "")): ep for ep in endpoints.values()}
    missing = [s for s in NEEDED_INTERFACE_SERVICES
               if s not in present or present[s].get("vpc_endpoint_type") != "Interface"
               or not present[s].get("private_dns_enabled")]
    if "s3" not in present or present["s3"].get("vpc_endpoint_type") != "Gateway":
        missing.append("s3 (gateway)")
    nat_routes = [r for r in j.all("aws_route").values()
                  if r.get("destination_cidr_block") == "0.0.0.0/0" and r.get("nat_gateway_id")]
    if not missing:
        checks.append(Check("endpoints a private task needs", PASS,
                            "ecr.api, ecr.dkr, logs, secretsmanager (private DNS) and the S3 gateway"))
    elif nat_routes:
        checks.append(Check("endpoints a private task needs", WARN, f"missing {', '.join(missing)}; reached via NAT",
                            "add the missing VPC endpoints so the secret never leaves the VPC"))
    else:
        checks.append(Check("endpoints a private task needs", FAIL,
                            f"missing {', '.join(missing)} and no NAT route",
                            "add the VPC endpoints (or a NAT route) or tasks cannot pull images or secrets"))

    # 4. The endpoint security group admits 443 from inside the VPC.
    sm = present.get("secretsmanager", {})
    sgs = set(_ref_to(sm.get("security_group_ids"), "aws_security_group"))
    rules = [r for r in j.all("aws_vpc_security_group_ingress_rule").values()
             if set(_ref_to(r.get("security_group_id"), "aws_security_group")) & sgs]
    admits = [r for r in rules if r.get("ip_protocol") in ("tcp", "-1")
              and (r.get("ip_protocol") == "-1" or r.get("from_port", 0) <= 443 <= r.get("to_port", 0))
              and (_ref_to(r.get("cidr_ipv4"), "aws_vpc") or r.get("referenced_security_group_id")
                   or r.get("cidr_ipv4"))]
    checks.append(Check("endpoint security group admits 443", PASS if admits else FAIL,
                        "443 from the VPC" if admits else "no ingress rule admits 443 to the endpoints",
                        "" if admits else "allow tcp/443 from the VPC CIDR on the endpoint security group"))

    # 5. Once locked, the readers include the execution role (the step-5 trap).
    policies = j.all("aws_secretsmanager_secret_policy")
    locked_lists = []
    for pol in policies.values():
        for st in j.statements(pol.get("policy", "")):
            for cond in st.get("condition") or []:
                if isinstance(cond, dict) and cond.get("variable") == "aws:PrincipalArn":
                    locked_lists.append(cond.get("values"))
    keeps_exec = bool(locked_lists) and exec_roles and all(
        f"aws_iam_role.{exec_roles[0]}.arn" in json.dumps(v) for v in locked_lists)
    checks.append(Check("locked policy keeps the execution role", PASS if keeps_exec else FAIL,
                        "the execution role is always on the reader list" if keeps_exec
                        else "the reader list can leave out the execution role",
                        "" if keeps_exec else "add the execution role ARN to the aws:PrincipalArn list"))

    # 6. Two roles, not one.
    distinct = bool(exec_roles and task_roles and exec_roles[0] != task_roles[0])
    checks.append(Check("task role differs from execution role", PASS if distinct else FAIL,
                        f"execution={exec_roles[:1]}, task={task_roles[:1]}",
                        "" if distinct else "give the task its own role; the execution role is for ECS"))

    # 7. A platform that fetches JSON-key secrets through the task's network interface.
    services = j.all("aws_ecs_service")
    versions = [s.get("platform_version", "LATEST") for s in services.values()]
    ok = bool(versions) and all(v == "LATEST" or (_version(v) or (0,)) >= MIN_PLATFORM for v in versions)
    checks.append(Check("platform version supports JSON-key secrets", PASS if ok else FAIL,
                        f"platform {', '.join(versions) or '(no service)'}",
                        "" if ok else "use Fargate platform 1.4.0 or later"))
    return checks


# ---------------------------------------------------------------------------------------------
# Live: on the deployed stack, read-only
# ---------------------------------------------------------------------------------------------

#: stoppedReason fragments -> the fix doc's root cause and what to do.
STOPPED_REASONS: tuple[tuple[str, str], ...] = (
    ("unable to retrieve secret from asm", "the task cannot reach or read the secret: check the execution role's "
     "secret policy, the secretsmanager endpoint and its security group (root causes 1 and 3)"),
    ("unable to pull secrets or registry auth", "secrets or registry auth failed: check the execution role, "
     "the ecr/secretsmanager endpoints and valueFrom (root causes 1-3)"),
    ("cannotpullcontainererror", "the image cannot be pulled: check ecr.api/ecr.dkr/S3 endpoints and the image"),
    ("accessdenied", "an IAM or resource policy denies the execution role: check its policies and the secret policy"),
    ("essential container in task exited", "the application exited: read its logs in /ecs/<app_name>"),
    ("health checks", "the load balancer health check failed: check health_check_path and the container port"),
)


def explain_stopped(reason: str) -> str:
    low = reason.lower()
    return next((advice for frag, advice in STOPPED_REASONS if frag in low), "see the task's stoppedReason")


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
        by_service = {_service_of(e["ServiceName"]): e for e in found
                      if e.get("State", "").lower() not in ("deleted", "deleting")}
        problems = []
        for svc in NEEDED_INTERFACE_SERVICES:
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
            grants = grants or _allows(_statements(doc), "secretsmanager:GetSecretValue", secret_arn)
        for inline in iam.list_role_policies(RoleName=name).get("PolicyNames", []):
            doc = iam.get_role_policy(RoleName=name, PolicyName=inline)["PolicyDocument"]
            grants = grants or _allows(_statements(doc), "secretsmanager:GetSecretValue", secret_arn)
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
        svc = ecs.describe_services(cluster=outputs["ecs_cluster_name"],
                                    services=[outputs["ecs_service_name"]])["services"][0]
        running, desired = svc.get("runningCount", 0), svc.get("desiredCount", 0)
        stopped = ecs.list_tasks(cluster=outputs["ecs_cluster_name"], serviceName=outputs["ecs_service_name"],
                                 desiredStatus="STOPPED").get("taskArns", [])[:5]
        reasons = []
        if stopped:
            for t in ecs.describe_tasks(cluster=outputs["ecs_cluster_name"], tasks=stopped).get("tasks", []):
                if t.get("stoppedReason"):
                    reasons.append(t["stoppedReason"])
        if running >= desired and not reasons:
            return Check("service running", PASS, f"{running} of {desired} tasks running")
        detail = f"{running} of {desired} tasks running"
        if reasons:
            detail += f"; last stopped: {reasons[0]}"
            return Check("service running", FAIL, detail, explain_stopped(reasons[0]))
        return Check("service running", WARN if running else FAIL, detail,
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


def render(checks: Iterable[Check]) -> list[str]:
    checks = list(checks)
    width = max(len(c.name) for c in checks) if checks else 10
    mark = {PASS: "PASS", FAIL: "FAIL", WARN: "WARN", SKIP: "SKIP"}
    lines = [f"{'check':<{width}}  result  detail / what to do"]
    for c in checks:
        lines.append(f"{c.name:<{width}}  {mark[c.result]:<6}  {c.detail}")
        if c.fix and c.result != PASS:
            lines.append(f"{'':<{width}}          -> {c.fix}")
    return lines


def as_json(static: list[Check], live: list[Check] | None) -> str:
    return json.dumps({"static": [asdict(c) for c in static],
                       "live": [asdict(c) for c in live] if live is not None else None,
                       "ok": all(c.result != FAIL for c in static + (live or []))}, indent=2)
