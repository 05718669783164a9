"""Static checks: the synthesized JSON, for the resources the inputs create (no AWS calls)."""

from __future__ import annotations

import json
import re
from typing import Any

from cli.observers.doctor import FAIL, PASS, SKIP, WARN, Check
from cli.core import policy
from cli.core.tfexpr import Evaluator, ExprError
from constructs_lib.catalog import (EXECUTION_MANAGED_POLICY, EXECUTION_MANAGED_POLICY_PATH, SECRET_READ_ACTION,
                                    SECRET_VERSION_INPUT, TASK_START_SERVICES, service_of, value_from)

MIN_PLATFORM = (1, 4, 0)


def _version(text: str) -> tuple[int, ...] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in m.groups()) if m else None


_REF = re.compile(r"\b((?:data\.)?aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.([a-z0-9_]+)")


def _refs(value: Any) -> list[tuple[str, str, str]]:
    """(type, name, attribute) of every ``${type.name.attr}`` reference inside ``value``."""
    return [m.groups() for m in _REF.finditer(json.dumps(value))]


def _ref_to(value: Any, kind: str) -> list[str]:
    return [name for t, name, _a in _refs(value) if t == kind]


def _created(doc: dict, values: dict[str, Any]) -> dict[str, dict[str, dict]]:
    """The JSON's resources that a plan with these inputs would create at least once: each
    ``count``/``for_each`` evaluated (``cli.core.tfexpr``, as ``byoc cost`` does), so that e.g.
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
                out = policy.statements(policy_value)
            except (TypeError, ValueError, AttributeError):
                pass
        return out

    def role_policies(self, role: str) -> tuple[list[dict], list[str]]:
        """Allow statements of every policy attached to ``role``, and the managed policy ARNs."""
        found, managed = [], []
        for att in self.all("aws_iam_role_policy_attachment").values():
            if role not in _ref_to(att.get("role"), "aws_iam_role"):
                continue
            policies = _ref_to(att.get("policy_arn"), "aws_iam_policy")
            if not policies:
                managed.append(att.get("policy_arn", ""))
            for p in policies:
                found += self.statements(self.all("aws_iam_policy").get(p, {}).get("policy", ""))
        for inline in self.all("aws_iam_role_policy").values():
            if role in _ref_to(inline.get("role"), "aws_iam_role"):
                found += self.statements(inline.get("policy", ""))
        return [s for s in found if (s.get("effect") or "Allow") == "Allow"], managed



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
        if not secret or not policy.allows(allowed, SECRET_READ_ACTION, secret_ref):
            missing.append("secretsmanager:GetSecretValue on the secret")
        if key_ref and not policy.allows(allowed, "kms:Decrypt", key_ref):
            missing.append("kms:Decrypt on the secret's key")
        checks.append(Check(
            "execution role reads the secret", FAIL if missing else PASS,
            f"aws_iam_role.{exec_roles[0]} lacks " + " and ".join(missing) if missing
            else f"aws_iam_role.{exec_roles[0]} may GetSecretValue and kms:Decrypt",
            "attach the secret-read policy to the execution role (PineconeSecret.grant_read)" if missing else ""))
        has_managed = any(m.endswith("/" + EXECUTION_MANAGED_POLICY) for m in managed)
        checks.append(Check(
            f"execution role has {EXECUTION_MANAGED_POLICY}", PASS if has_managed else FAIL,
            "attached" if has_managed else "not attached: image pulls and awslogs fail",
            "" if has_managed else f"attach arn:aws:iam::aws:policy/{EXECUTION_MANAGED_POLICY_PATH}"))

    # 2. valueFrom carries the JSON key (root cause 2); its version id is empty, an id, or the
    # secret_version_id input that pins it.
    pin = "${var." + SECRET_VERSION_INPUT + "}"
    unpinned = [v.removesuffix(pin) for v in value_froms]
    bad = [v for v, u in zip(value_froms, unpinned)
           if not re.search(r"\.arn\}:[A-Za-z0-9_.-]+:[A-Za-z0-9_-]*:[A-Za-z0-9_-]*$", u)]
    ok = value_froms and not bad and all(re.search(re.escape(value_from("")) + r"[A-Za-z0-9_-]*$", u) for u in unpinned)
    checks.append(Check(
        "valueFrom carries the JSON key", PASS if ok else FAIL,
        ", ".join(value_froms) if ok else f"valueFrom {bad or value_froms or '(none)'}",
        "" if ok else f"use valueFrom = \"{value_from('<secret arn>')}\" (PineconeSecret.value_from)"))

    # 3. Every endpoint a private task needs, or a NAT route (root cause 3).
    endpoints = j.all("aws_vpc_endpoint")
    present = {service_of(ep.get("service_name", "")): ep for ep in endpoints.values()}
    # The existing VPC's own endpoints the stack reuses (byoc deploy found them with private DNS on;
    # the live checks read them): present, though not in the JSON.
    reused = dict((values or {}).get("existing_vpc_endpoints") or {}) if (values or {}).get("existing_vpc_id") else {}
    for svc in reused:
        present.setdefault(svc, {"vpc_endpoint_type": "Gateway" if svc == "s3" else "Interface",
                                 "private_dns_enabled": svc != "s3", "reused": reused[svc]})
    missing = [s for s in TASK_START_SERVICES
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
    if sm.get("reused"):
        checks.append(Check("endpoint security group admits 443", SKIP,
                            f"secretsmanager is the existing VPC's {sm['reused']}: its security group is its owner's "
                            "(the live check reads it)"))
    else:
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


