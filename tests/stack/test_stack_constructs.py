"""Construct-level tests of the `byoc` stack: one behaviour each, named after it.

Two views of the same stack:
- ``built``: ``ByocStack`` built once in this process with cdktf's ``Testing.app()`` and
  synthesized once with ``Testing.synth`` (the ``Testing.to_have_*`` matchers run on it);
- ``stack_json``: the session's real synth (``python -m stacks.app``), for plain dict assertions
  and for what only the real output has (the backend path relative to the project).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from constructs_lib import catalog
from stacks import STACK_NAME, STATE_FILE

REPO = Path(__file__).resolve().parents[2]

#: The AWS interface endpoints the seed requires (ECR api/dkr, Logs, SSM, EC2, KMS, STS, and
#: Secrets Manager of endpoints_secrets.tf), each exactly once.
AWS_INTERFACE_SERVICES = {"ecr.api", "ecr.dkr", "logs", "ssm", "ec2", "kms", "sts", "secretsmanager"}
#: Issue 7's minimal set: what a private task needs to start (image, logs, the secret).
MINIMAL_INTERFACE_SERVICES = {"ecr.api", "ecr.dkr", "logs", "secretsmanager"}
#: Secrets Manager actions that must never be denied (or terraform/operators lock themselves out).
MANAGEMENT_ACTIONS = (
    "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy",
    "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy", "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret", "secretsmanager:RestoreSecret", "secretsmanager:TagResource",
    "secretsmanager:ListSecretVersionIds", "secretsmanager:ValidateResourcePolicy",
)
ISSUE_VARIABLES = {
    "aws_region": "string", "vpc_cidr": "string", "private_subnet_cidrs": "list(string)",
    "public_subnet_cidrs": "list(string)", "app_name": "string", "container_image": "string",
    "container_port": "number", "desired_count": "number", "task_cpu": "number", "task_memory": "number",
    "app_reader_principal_arns": "list(string)", "pinecone_vpce_services": "list(string)",
}
ISSUE_OUTPUTS = ("byoc_secret_arn", "alb_dns_name", "ecs_task_role_arn", "ecs_execution_role_arn", "vpc_id",
                 "private_subnet_ids", "secretsmanager_vpce_id", "kms_key_arn", "ecs_cluster_name",
                 "ecs_service_name")
# A few rows of the Fargate task-size table, written out here (not taken from stacks.inputs).
FARGATE_PAIRS = {256: {512, 1024, 2048}, 512: {1024, 2048, 3072, 4096}, 1024: {2048, 3072, 4096, 5120, 6144,
                                                                             7168, 8192}}


# --------------------------------------------------------------------------- fixtures & helpers

@dataclass
class Built:
    Testing: Any
    stack: Any
    synth: str                     # Testing.synth(stack): the stack's JSON as a string
    json: dict


@pytest.fixture(scope="module")
def built() -> Built:
    """ByocStack built via Testing.app() and synthesized ONCE for this module, with the provider
    bindings loaded the way ``byoc synth`` loads them (stacks/fast_imports.py; byte-identical)."""
    from stacks import fast_imports

    fast_imports.install()
    with fast_imports.silence_node_eol(), fast_imports.node_hook():
        from cdktf import Testing
    from stacks.byoc_stack import ByocStack

    app = Testing.app()
    stack = ByocStack(app, STACK_NAME)
    synthesized = Testing.synth(stack)
    yield Built(Testing, stack, synthesized, json.loads(synthesized))
    shutil.rmtree(app.outdir, ignore_errors=True)


#: The endpoint reads must come through: the stack's own, or the existing VPC's reused one (issue 16).
SECRETSMANAGER_VPCE_ID = ('${contains(keys(var.existing_vpc_endpoints), "secretsmanager") ? '
                          'var.existing_vpc_endpoints["secretsmanager"] : aws_vpc_endpoint.secretsmanager[0].id}')


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def data_sources(doc: dict, dtype: str) -> dict[str, dict]:
    return doc.get("data", {}).get(dtype, {})


def ref(expression: Any) -> tuple[str, ...]:
    """``"${aws_vpc.main.id}"`` (or ``[0]`` of a counted one) -> ``("aws_vpc", "main", "id")``;
    anything else fails the test."""
    match = re.fullmatch(r"\$\{([A-Za-z0-9_.]+?)(?:\[0\])?(\.[a-z_]+)\}", expression if isinstance(expression, str) else "")
    assert match, f"expected a plain reference like ${{aws_x.name.attr}}, got {expression!r}"
    return tuple(match.group(1).split(".")) + (match.group(2)[1:],)


def policy_doc(doc: dict, expression: str) -> dict:
    """The aws_iam_policy_document data source that ``expression`` (``${data....json}``) names."""
    parts = ref(expression)
    assert parts[0] == "data" and parts[1] == "aws_iam_policy_document" and parts[3] == "json", parts
    return data_sources(doc, "aws_iam_policy_document")[parts[2]]


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def ingress_rules_for(doc: dict, sg_name: str) -> list[dict]:
    """Every ingress rule into aws_security_group.<sg_name>, whichever way it is declared."""
    sg_id = f"${{aws_security_group.{sg_name}.id}}"
    rules = [r for r in resources(doc, "aws_vpc_security_group_ingress_rule").values()
             if r["security_group_id"] == sg_id]
    rules += [r for r in resources(doc, "aws_security_group_rule").values()
              if r.get("security_group_id") == sg_id and r.get("type") == "ingress"]
    rules += as_list(resources(doc, "aws_security_group")[sg_name].get("ingress", []))
    return rules


def secret_policy_docs(doc: dict) -> tuple[dict, dict]:
    """(locked, open) documents of the secret's resource policy, from its conditional."""
    (policy,) = resources(doc, "aws_secretsmanager_secret_policy").values()
    match = re.fullmatch(
        r"\$\{\(?length\(var\.app_reader_principal_arns\)\s*(?:>=\s*1|>\s*0|!=\s*0)\)?\s*\?\s*"
        r"data\.aws_iam_policy_document\.(\w+)\.json\s*:\s*data\.aws_iam_policy_document\.(\w+)\.json\}",
        policy["policy"])
    assert match, f"the secret policy does not switch on length(var.app_reader_principal_arns): {policy['policy']}"
    docs = data_sources(doc, "aws_iam_policy_document")
    return docs[match.group(1)], docs[match.group(2)]


def only_secret(doc: dict) -> str:
    (name,) = resources(doc, "aws_secretsmanager_secret")
    return name


def execution_and_task_roles(doc: dict) -> tuple[str, str]:
    (td,) = resources(doc, "aws_ecs_task_definition").values()
    execution, task = ref(td["execution_role_arn"]), ref(td["task_role_arn"])
    assert execution[0] == task[0] == "aws_iam_role" and execution[1] != task[1]
    return execution[1], task[1]


def secret_read_policy_for(doc: dict, role: str) -> dict:
    """The customer-managed policy attached to aws_iam_role.<role> that reads the secret."""
    attached = [ref(a["policy_arn"]) for a in resources(doc, "aws_iam_role_policy_attachment").values()
                if a["role"] == f"${{aws_iam_role.{role}.name}}" and a["policy_arn"].startswith("${aws_iam_policy.")]
    assert len(attached) == 1, f"expected one customer-managed policy attached to {role}, got {attached}"
    return resources(doc, "aws_iam_policy")[attached[0][1]]


def statements_for_action(statements: list[dict], action: str) -> list[dict]:
    return [s for s in statements if any(fnmatch.fnmatchcase(action.lower(), a.lower())
                                         for a in s.get("actions", []))]


# --------------------------------------------------------------------------- the secret and its readers

def test_value_from_is_the_secret_arn_with_the_json_key_and_the_pinned_version(built):
    (td,) = resources(built.json, "aws_ecs_task_definition").values()
    containers = td["container_definitions"]
    secrets_block = re.search(r'"secrets" = \[(.*?)\]', containers)
    assert secrets_block, f"no `secrets` list in the container definition: {containers}"
    entries = re.findall(r'\{"name" = "([^"]+)", "valueFrom" = "([^"]+)"\}', secrets_block.group(1))
    secret = only_secret(built.json)
    # The version id is the secret_version_id input: empty by default (AWSCURRENT, the seed's flow).
    assert entries == [("PINECONE_API_KEY",
                        f"${{aws_secretsmanager_secret.{secret}.arn}}:PINECONE_API_KEY::${{var.secret_version_id}}")]
    assert built.json["variable"]["secret_version_id"]["default"] == ""
    # The key reaches the container through `secrets` only, never as a plain environment value.
    assert '"environment"' not in containers


def test_replaced_task_definition_revisions_stay_registered_for_a_rollback(built):
    (td,) = resources(built.json, "aws_ecs_task_definition").values()
    assert td["skip_destroy"] is True


def test_execution_role_has_an_attached_policy_reading_only_this_secret_and_key(built):
    execution, _task = execution_and_task_roles(built.json)
    policy = secret_read_policy_for(built.json, execution)
    statements = policy_doc(built.json, policy["policy"])["statement"]
    secret, (key,) = only_secret(built.json), resources(built.json, "aws_kms_key")

    (read,) = statements_for_action(statements, "secretsmanager:GetSecretValue")
    assert read["effect"] == "Allow"
    assert read["resources"] == [f"${{aws_secretsmanager_secret.{secret}.arn}}"]
    (decrypt,) = statements_for_action(statements, "kms:Decrypt")
    assert decrypt["effect"] == "Allow" and decrypt["actions"] == ["kms:Decrypt"]
    assert decrypt["resources"] == [f"${{aws_kms_key.{key}.arn}}"]
    assert decrypt["condition"] == [{"test": "StringEquals", "variable": "kms:ViaService",
                                     "values": ["secretsmanager.${var.aws_region}.amazonaws.com"]}]


def test_execution_role_has_the_ecs_task_execution_managed_policy(built):
    execution, _task = execution_and_task_roles(built.json)
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_iam_role_policy_attachment", {
        "role": f"${{aws_iam_role.{execution}.name}}",
        "policy_arn": "arn:${data.aws_partition.current_partition.partition}:iam::aws:policy/service-role/"
                      "AmazonECSTaskExecutionRolePolicy",
    })


def test_task_role_gets_the_same_secret_read(built):
    execution, task = execution_and_task_roles(built.json)
    assert secret_read_policy_for(built.json, task) == secret_read_policy_for(built.json, execution)
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_iam_role_policy_attachment", {
        "role": f"${{aws_iam_role.{task}.name}}"})


def test_no_identity_policy_grants_secret_or_kms_actions_on_every_resource(built):
    for name, role in resources(built.json, "aws_iam_role").items():
        assert "inline_policy" not in role and "managed_policy_arns" not in role, name
    attached = {a["policy_arn"] for a in resources(built.json, "aws_iam_role_policy_attachment").values()}
    aws_managed = {arn for arn in attached if ":iam::aws:policy/" in arn}
    assert aws_managed == {"arn:${data.aws_partition.current_partition.partition}:iam::aws:policy/service-role/"
                           "AmazonECSTaskExecutionRolePolicy"}
    checked = 0
    # Customer-managed policies and inline role policies (the flow logs role's, behind a count:
    # "...flow_logs_write[0].json").
    identity = [*resources(built.json, "aws_iam_policy").items(), *resources(built.json, "aws_iam_role_policy").items()]
    assert len(identity) >= 2
    for name, policy in identity:
        for statement in policy_doc(built.json, policy["policy"].replace("[0].json", ".json"))["statement"]:
            assert "not_resources" not in statement and "not_actions" not in statement, name
            if any(a == "*" or a.lower().startswith(("secretsmanager:", "kms:")) for a in statement["actions"]):
                checked += 1
                assert statement["resources"] and "*" not in statement["resources"], (name, statement)
    assert checked >= 2, "expected the secret read and kms:Decrypt statements to be checked"


def test_secret_policy_denies_reads_not_coming_through_the_secretsmanager_endpoint(built):
    endpoint = [n for n, e in resources(built.json, "aws_vpc_endpoint").items()
                if e["service_name"].endswith(".secretsmanager")]
    assert len(endpoint) == 1, endpoint
    secret = only_secret(built.json)
    for document in secret_policy_docs(built.json):  # locked and open alike
        deny = [s for s in document["statement"] if s["effect"] == "Deny"
                and any(c["variable"] == "aws:SourceVpce" for c in s.get("condition", []))]
        assert len(deny) == 1, document["statement"]
        assert deny[0]["actions"] == ["secretsmanager:GetSecretValue"]
        assert deny[0]["resources"] == [f"${{aws_secretsmanager_secret.{secret}.arn}}"]
        assert deny[0]["principals"] == [{"type": "*", "identifiers": ["*"]}]
        assert deny[0]["condition"] == [{"test": "StringNotEquals", "variable": "aws:SourceVpce",
                                         "values": [SECRETSMANAGER_VPCE_ID]}]


def test_secret_policy_principal_deny_always_lets_the_execution_role_read(built):
    execution, _task = execution_and_task_roles(built.json)
    locked, _open = secret_policy_docs(built.json)
    (deny,) = [s for s in locked["statement"] if s["effect"] == "Deny"
               and any(c["variable"] == "aws:PrincipalArn" for c in s.get("condition", []))]
    assert deny["actions"] == ["secretsmanager:GetSecretValue"]
    (condition,) = deny["condition"]
    assert condition["test"] == "ArnNotEquals"
    # The allowed list is the variable plus the execution role, whatever the variable holds.
    values = condition["values"]
    assert isinstance(values, str) and values.startswith("${") and "var.app_reader_principal_arns" in values
    assert f"aws_iam_role.{execution}.arn" in values, values


def test_secret_policy_locks_to_principals_only_when_reader_arns_are_given(built):
    locked, open_ = secret_policy_docs(built.json)

    def principal_conditions(document):
        return [c for s in document["statement"] for c in s.get("condition", []) if c["variable"] == "aws:PrincipalArn"]

    assert len(principal_conditions(locked)) == 1
    assert principal_conditions(open_) == []


def test_secret_policy_never_denies_management_actions(built):
    denied_read = 0
    for document in secret_policy_docs(built.json):
        for statement in document["statement"]:
            if statement["effect"] != "Deny":
                continue
            assert "not_actions" not in statement, statement
            for action in MANAGEMENT_ACTIONS:
                assert not any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in statement["actions"]), \
                    (action, statement["actions"])
            denied_read += "secretsmanager:GetSecretValue" in statement["actions"]
    assert denied_read >= 2  # the reads ARE denied (VPCE deny, principal deny)


def test_no_secret_version_exists_anywhere(built, stack_json, synthesized_project):
    assert not built.Testing.to_have_resource(built.synth, "aws_secretsmanager_secret_version")
    assert not built.Testing.to_have_data_source(built.synth, "aws_secretsmanager_secret_version")
    assert built.Testing.to_have_resource(built.synth, "aws_secretsmanager_secret")  # the matcher can say yes
    text = (synthesized_project / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_text()
    assert "secretsmanager_secret_version" not in text and "secret_string" not in text


def test_secret_is_encrypted_with_the_customer_managed_key(built):
    (key,) = resources(built.json, "aws_kms_key")
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_secretsmanager_secret", {"kms_key_id": f"${{aws_kms_key.{key}.arn}}"})


def test_kms_key_rotates_has_an_alias_and_an_explicit_policy(built):
    ((name, key),) = resources(built.json, "aws_kms_key").items()
    assert key["enable_key_rotation"] is True
    # The policy is its own resource, so that it can name the key by ARN instead of "*".
    (key_policy,) = [p for p in resources(built.json, "aws_kms_key_policy").values()
                     if p["key_id"] == f"${{aws_kms_key.{name}.key_id}}"]
    policy = policy_doc(built.json, key_policy["policy"])
    assert policy["statement"], "the key policy must be written out"
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_kms_alias", {"target_key_id": f"${{aws_kms_key.{name}.key_id}}"})
    (alias,) = resources(built.json, "aws_kms_alias").values()
    assert alias["name"].startswith("alias/")


# --------------------------------------------------------------------------- network

def test_vpc_has_dns_support_and_hostnames(built):
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_vpc", {"enable_dns_support": True, "enable_dns_hostnames": True,
                                 "cidr_block": "${var.vpc_cidr}"})


def test_two_public_and_two_private_subnets_over_two_azs(built):
    subnets = resources(built.json, "aws_subnet")
    assert set(subnets) == {"public_0", "public_1", "private_0", "private_1"}
    for i in (0, 1):
        assert subnets[f"public_{i}"]["availability_zone"] == subnets[f"private_{i}"]["availability_zone"]
        assert subnets[f"private_{i}"]["cidr_block"] == f"${{element(var.private_subnet_cidrs, {i})}}"
        assert subnets[f"public_{i}"]["cidr_block"] == f"${{element(var.public_subnet_cidrs, {i})}}"
        assert subnets[f"private_{i}"].get("map_public_ip_on_launch") in (None, False)
    assert subnets["private_0"]["availability_zone"] != subnets["private_1"]["availability_zone"]


def test_each_private_subnet_routes_through_the_nat_of_its_own_az(built):
    """The default (nat_mode = per_az); single and none: tests/stack/test_options_network.py."""
    doc = built.json
    nats = resources(doc, "aws_nat_gateway")
    eips = resources(doc, "aws_eip")
    assert len(nats) == 2 and len(eips) == 2
    associations = {ref(a["subnet_id"])[1]: ref(a["route_table_id"])[1]
                    for a in resources(doc, "aws_route_table_association").values() if "private" in a["subnet_id"]}
    routes = resources(doc, "aws_route")
    for i in (0, 1):
        table = associations[f"private_{i}"]
        (default_route,) = [r for r in routes.values() if r["route_table_id"] == f"${{aws_route_table.{table}[0].id}}"
                            and r["destination_cidr_block"] == "0.0.0.0/0"]
        # per_az: the first NAT of the expression is this AZ's own (nat_1 exists only then).
        own = re.match(r"\$\{(?:concat\()?aws_nat_gateway\.(nat_\d)\[", default_route["nat_gateway_id"]).group(1)
        assert own == f"nat_{i}"
        nat = nats[own]
        assert nat["subnet_id"] == f"${{aws_subnet.public_{i}[0].id}}"
        assert nat["allocation_id"] == f"${{aws_eip.nat_{i}[0].id}}"
    assert associations["private_0"] != associations["private_1"]


def test_endpoint_catalogue_holds_the_seeds_set_the_minimal_set_and_ecs_exec():
    assert set(catalog.interface_services("full")) == AWS_INTERFACE_SERVICES
    assert set(catalog.interface_services("minimal")) == MINIMAL_INTERFACE_SERVICES
    assert set(catalog.TASK_START_SERVICES) == MINIMAL_INTERFACE_SERVICES
    assert set(catalog.interface_services("minimal", ecs_exec=True)) == MINIMAL_INTERFACE_SERVICES | {"kms", "ssmmessages"}
    assert len({e.service for e in catalog.INTERFACE_ENDPOINTS}) == len(catalog.INTERFACE_ENDPOINTS)


def test_each_aws_interface_endpoint_exists_once_with_private_dns(built):
    endpoints = [e for e in resources(built.json, "aws_vpc_endpoint").values()
                 if e["vpc_endpoint_type"] == "Interface" and "for_each" not in e]
    prefix = "com.amazonaws.${var.aws_region}."
    services = Counter(e["service_name"].removeprefix(prefix) for e in endpoints)
    # ssmmessages is ECS Exec's (opt-in, tests/stack/test_options_observability.py), not the issue's set.
    assert services - Counter({"ssmmessages": 1}) == Counter(AWS_INTERFACE_SERVICES), services
    for endpoint in endpoints:
        assert endpoint["service_name"].startswith(prefix)
        assert endpoint["private_dns_enabled"] is True
        assert endpoint["subnet_ids"] == ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"]
        assert endpoint["security_group_ids"] == ["${aws_security_group.vpc_endpoints.id}"]


def test_add_interface_endpoint_refuses_a_second_endpoint_for_one_service(built):
    from cdktf import TerraformStack

    from constructs_lib.network import Network, NetworkProps

    app = built.Testing.app()
    scope = TerraformStack(app, "endpoint_dedup")
    network = Network(scope, "network", NetworkProps(
        app_name="t", region="us-east-1", vpc_cidr="10.0.0.0/16",
        public_subnet_cidrs=["10.0.101.0/24", "10.0.102.0/24"],
        private_subnet_cidrs=["10.0.1.0/24", "10.0.2.0/24"], pinecone_vpce_services=[]))
    first = network.add_interface_endpoint("secretsmanager")
    assert network.interface_endpoints["secretsmanager"] is first
    with pytest.raises(ValueError, match="secretsmanager"):
        network.add_interface_endpoint("secretsmanager")
    with pytest.raises(ValueError, match="ecr.api"):  # one the Network made itself
        network.add_interface_endpoint("ecr.api")
    shutil.rmtree(app.outdir, ignore_errors=True)


def test_pinecone_privatelink_endpoints_follow_the_variable(built):
    (endpoint,) = [e for e in resources(built.json, "aws_vpc_endpoint").values() if "for_each" in e]
    assert endpoint["for_each"] == "${toset(local.pinecone_endpoint_services)}"
    assert "var.pinecone_vpce_services" in built.json["locals"]["pinecone_endpoint_services"]
    assert endpoint["service_name"] == "${each.value}"
    assert endpoint["vpc_endpoint_type"] == "Interface"


def test_s3_gateway_endpoint_is_on_both_private_route_tables(built):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_vpc_endpoint", {
        "service_name": "com.amazonaws.${var.aws_region}.s3",
        "vpc_endpoint_type": "Gateway",
        # The stack's own private route tables (or, in an existing VPC, the given subnets').
        "route_table_ids": "${local.private_route_table_ids}",
    })


def test_endpoint_security_group_admits_https_from_the_vpc_only(built):
    (rule,) = ingress_rules_for(built.json, "vpc_endpoints")
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
    assert rule["cidr_ipv4"] == "${local.vpc_cidr}"


# --------------------------------------------------------------------------- load balancer and service

def test_alb_is_internal_and_drops_invalid_header_fields(built, stack_json):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_lb", {
        "internal": True, "load_balancer_type": "${var.load_balancer_type}",
        # True on the ALB (the default type); an NLB does not parse HTTP.
        "drop_invalid_header_fields": '${!(var.load_balancer_type == "network")}',
        "subnets": ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"]})
    assert not built.Testing.to_have_resource_with_properties(built.synth, "aws_lb", {"internal": False})
    assert stack_json["variable"]["load_balancer_type"]["default"] == "application"


def test_target_group_is_ip_with_the_health_check_path_variable(built, stack_json):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_lb_target_group", {
        "target_type": "ip", "health_check": {"path": "${var.health_check_path}"}})
    assert stack_json["variable"]["health_check_path"]["default"] == "/health"


def test_alb_security_group_admits_the_listener_ports_from_the_vpc_cidr_only(built):
    (lb,) = resources(built.json, "aws_lb").values()
    listeners = resources(built.json, "aws_lb_listener")
    (sg,) = [ref(s) for s in lb["security_groups"]]
    rules = ingress_rules_for(built.json, sg[1])
    # One rule per listener (80, and 443 with a certificate), each present exactly when its listener is.
    assert sorted((r["from_port"], r["count"]) for r in rules) == sorted(
        (listener["port"], listener["count"]) for listener in listeners.values())
    for rule in rules:
        assert rule["cidr_ipv4"] == "${local.vpc_cidr}"
        assert rule["from_port"] == rule["to_port"]
        assert "referenced_security_group_id" not in rule and "cidr_ipv6" not in rule


def test_service_security_group_admits_the_container_port_from_the_alb_only(built):
    (service,) = resources(built.json, "aws_ecs_service").values()
    (lb,) = resources(built.json, "aws_lb").values()
    (service_sg,) = [ref(s)[1] for s in service["network_configuration"]["security_groups"]]
    (rule,) = ingress_rules_for(built.json, service_sg)
    assert rule["referenced_security_group_id"] == lb["security_groups"][0]
    assert rule["from_port"] == rule["to_port"] == "${var.container_port}"
    assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule


def test_no_ingress_from_the_internet(built):
    rules = list(resources(built.json, "aws_vpc_security_group_ingress_rule").values())
    rules += [r for r in resources(built.json, "aws_security_group_rule").values() if r.get("type") == "ingress"]
    for group in resources(built.json, "aws_security_group").values():
        rules += as_list(group.get("ingress", []))
    assert len(rules) >= 3, rules  # ALB, service, endpoints
    for rule in rules:
        cidrs = as_list(rule.get("cidr_ipv4", [])) + as_list(rule.get("cidr_blocks", []))
        cidrs += as_list(rule.get("cidr_ipv6", [])) + as_list(rule.get("ipv6_cidr_blocks", []))
        assert "0.0.0.0/0" not in cidrs and "::/0" not in cidrs, rule


def test_service_runs_in_private_subnets_without_a_public_ip(built):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_ecs_service", {
        "network_configuration": {
            "assign_public_ip": False,
            "subnets": ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"]}})
    assert not built.Testing.to_have_resource_with_properties(
        built.synth, "aws_ecs_service", {"network_configuration": {"assign_public_ip": True}})


def test_service_is_fargate_on_a_pinned_platform_version_with_json_key_secrets(built):
    (service,) = resources(built.json, "aws_ecs_service").values()
    assert service["launch_type"] == "FARGATE"
    version = service["platform_version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"platform version must be pinned, not {version!r}"
    # 1.4.0: JSON-key secrets (valueFrom ...:KEY::) and secret fetches through the task's own ENI.
    assert tuple(map(int, version.split("."))) >= (1, 4, 0)


def test_service_rolls_back_failed_deployments(built):
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_ecs_service", {"deployment_circuit_breaker": {"enable": True, "rollback": True}})


def test_service_has_a_health_check_grace_period(built, stack_json):
    (service,) = resources(built.json, "aws_ecs_service").values()
    grace = service["health_check_grace_period_seconds"]
    if isinstance(grace, str):
        grace = stack_json["variable"][ref(grace)[1]]["default"]
    assert isinstance(grace, int) and grace > 0


def test_service_is_behind_the_target_group(built):
    (service,) = resources(built.json, "aws_ecs_service").values()
    (tg,) = resources(built.json, "aws_lb_target_group")
    (lb,) = service["load_balancer"]
    assert lb["target_group_arn"] == f"${{aws_lb_target_group.{tg}.arn}}"
    assert lb["container_port"] == "${var.container_port}"


def test_service_starts_only_after_the_execution_role_can_read_the_secret(built):
    execution, _task = execution_and_task_roles(built.json)
    (service,) = resources(built.json, "aws_ecs_service").values()
    grants = [f"aws_iam_role_policy_attachment.{n}"
              for n, a in resources(built.json, "aws_iam_role_policy_attachment").items()
              if a["role"] == f"${{aws_iam_role.{execution}.name}}" and a["policy_arn"].startswith("${aws_iam_policy.")]
    assert grants and set(grants) <= set(service.get("depends_on", [])), (grants, service.get("depends_on"))


def test_cpu_target_tracking_autoscaling(built):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_appautoscaling_policy", {
        "policy_type": "TargetTrackingScaling",
        "target_tracking_scaling_policy_configuration": {
            "predefined_metric_specification": {"predefined_metric_type": "ECSServiceAverageCPUUtilization"}}})
    (target,) = resources(built.json, "aws_appautoscaling_target").values()
    assert target["scalable_dimension"] == "ecs:service:DesiredCount"
    assert target["resource_id"] == "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.app.name}"


# --------------------------------------------------------------------------- ECS

def test_cluster_has_container_insights(built):
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_ecs_cluster", {"setting": [{"name": "containerInsights", "value": "enabled"}]})


def test_log_group_is_ecs_slash_app_name_and_the_container_logs_to_it(built):
    assert built.Testing.to_have_resource_with_properties(
        built.synth, "aws_cloudwatch_log_group", {"name": "/ecs/${var.app_name}"})
    (group,) = [n for n, g in resources(built.json, "aws_cloudwatch_log_group").items()
                if g["name"] == "/ecs/${var.app_name}"]
    (td,) = resources(built.json, "aws_ecs_task_definition").values()
    assert '"logDriver" = "awslogs"' in td["container_definitions"]
    assert f'"awslogs-group" = aws_cloudwatch_log_group.{group}.name' in td["container_definitions"]


def test_task_definition_is_fargate_awsvpc_sized_by_variables(built):
    assert built.Testing.to_have_resource_with_properties(built.synth, "aws_ecs_task_definition", {
        "requires_compatibilities": ["FARGATE"], "network_mode": "awsvpc",
        "cpu": "${tostring(var.task_cpu)}", "memory": "${tostring(var.task_memory)}"})


# --------------------------------------------------------------------------- addresses, paths, determinism

def test_addresses_are_readable_without_hash_suffixes(stack_json):
    doc = stack_json
    assert "main" in resources(doc, "aws_vpc")
    assert {"private_0", "private_1", "public_0", "public_1"} <= set(resources(doc, "aws_subnet"))
    assert {"private_0", "private_1"} <= set(resources(doc, "aws_route_table"))
    assert "app" in resources(doc, "aws_ecs_service")
    names = [(kind, t, n) for kind in ("resource", "data") for t, items in doc.get(kind, {}).items() for n in items]
    names += [("output", "", n) for n in doc["output"]]
    assert len(names) > 50
    hashed = [x for x in names if re.search(r"[A-F0-9]{8}$", x[2])]
    assert hashed == [], hashed
    assert [x for x in names if not re.fullmatch(r"[a-z][a-z0-9_]*", x[2])] == []


def test_local_backend_path_is_relative_and_outside_cdktf_out(stack_json, synthesized_project):
    path = stack_json["terraform"]["backend"]["local"]["path"]
    assert not os.path.isabs(path), path
    stack_dir = synthesized_project / "cdktf.out" / "stacks" / STACK_NAME
    state = Path(os.path.normpath(stack_dir / path))
    assert state == synthesized_project / STATE_FILE
    assert (synthesized_project / "cdktf.out") not in state.parents


def test_json_names_no_absolute_path_of_this_machine(synthesized_project):
    text = (synthesized_project / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_text()
    # "/tmp/", not "/tmp": the container's scratch mount is the path "/tmp" itself.
    for needle in ("/tmp/", "/root", "/work", "/home", str(REPO), str(synthesized_project),
                   os.path.expanduser("~")):
        assert needle not in text, needle


def test_variables_have_descriptions_and_the_documented_defaults(stack_json):
    variables = stack_json["variable"]
    for name, tf_type in ISSUE_VARIABLES.items():
        assert name in variables, name
        assert variables[name]["type"] == tf_type, name
        assert variables[name].get("description", "").strip(), name
    assert "default" not in variables["container_image"]  # required
    assert all("default" in v for n, v in variables.items() if n != "container_image")
    assert variables["app_name"]["default"] == "byoc-agents"
    assert variables["app_reader_principal_arns"]["default"] == []
    assert variables["pinecone_vpce_services"]["default"] == []
    vpc = ipaddress.ip_network(variables["vpc_cidr"]["default"])
    subnets = [ipaddress.ip_network(c) for kind in ("private", "public")
               for c in variables[f"{kind}_subnet_cidrs"]["default"]]
    assert len(subnets) == 4 and all(s.subnet_of(vpc) for s in subnets)
    assert not any(a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1:])
    assert variables["task_memory"]["default"] in FARGATE_PAIRS[variables["task_cpu"]["default"]]
    assert 1 <= variables["container_port"]["default"] <= 65535
    assert variables["desired_count"]["default"] >= 1  # always on
    # The optional Pinecone trust inputs are off by default; the external ID is sensitive.
    assert variables["pinecone_aws_account_id"]["default"] == ""
    assert variables["pinecone_external_id"]["default"] == ""
    assert variables["pinecone_external_id"].get("sensitive") is True


def test_every_documented_output_exists_with_a_description(stack_json):
    outputs = stack_json["output"]
    for name in ISSUE_OUTPUTS:
        assert name in outputs, name
        assert outputs[name].get("description", "").strip(), name
    execution, task = execution_and_task_roles(stack_json)
    (key,) = resources(stack_json, "aws_kms_key")
    (endpoint,) = [n for n, e in resources(stack_json, "aws_vpc_endpoint").items()
                   if e["service_name"].endswith(".secretsmanager")]
    expected = {
        "byoc_secret_arn": f"${{aws_secretsmanager_secret.{only_secret(stack_json)}.arn}}",
        "ecs_task_role_arn": f"${{aws_iam_role.{task}.arn}}",
        "ecs_execution_role_arn": f"${{aws_iam_role.{execution}.arn}}",
        "vpc_id": "${local.vpc_id}",
        "private_subnet_ids": ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"],
        "secretsmanager_vpce_id": SECRETSMANAGER_VPCE_ID,
        "kms_key_arn": f"${{aws_kms_key.{key}.arn}}",
        "alb_dns_name": "${aws_lb.main.dns_name}",
        "ecs_cluster_name": "${aws_ecs_cluster.main.name}",
        "ecs_service_name": "${aws_ecs_service.app.name}",
    }
    assert {n: outputs[n]["value"] for n in expected} == expected


def test_pinecone_trust_role_is_optional_and_needs_the_external_id(stack_json):
    role = resources(stack_json, "aws_iam_role")["pinecone_byoc"]
    assert "count" in role
    # Keyed on the account ID (the external ID is sensitive: Terraform refuses a count built from it).
    assert "var.pinecone_aws_account_id" in role["count"] and "pinecone_external_id" not in role["count"]
    (statement,) = policy_doc(stack_json, role["assume_role_policy"])["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["condition"] == [{"test": "StringEquals", "variable": "sts:ExternalId",
                                       "values": ["${var.pinecone_external_id}"]}]
    (principal,) = statement["principals"]
    assert principal["type"] == "AWS" and "${var.pinecone_aws_account_id}" in principal["identifiers"][0]


# Not repeated here: that two synths give the same bytes (tests/stack/test_fast_synth.py synthesizes three
# times, fast, eager and with the Node fallback, and compares them), and that the whole synth is
# valid Terraform (tests/stack/test_terraform_validate.py runs `terraform validate` on it: no error, no
# warning).
