"""Issue 16, the stack's side: deploying into an existing VPC (existing_vpc_id,
existing_private_subnet_ids) and reusing its endpoints (existing_vpc_endpoints).

- the JSON, every count evaluated with ``cli.core.tfexpr``: an existing VPC creates no network of
  its own, everything attaches to the given VPC and subnets, reused endpoints are not created and
  the secret policy names the reused Secrets Manager endpoint;
- the inputs' rules, in Python and (the same rules, with the same message) in Terraform.

What byoc reads of an existing VPC (its checks before anything changes, deploys into two VPCs on a
moto server, cost and doctor): tests/observers/test_existing_vpc.py.
"""

from __future__ import annotations

import json

import pytest

from cli.core.config import parse_value
from cli.core.tfexpr import Evaluator
from stacks.inputs import BY_NAME, validate
from test_options_network import planned
from tfrun import terraform, variables_only

from existing_vpc_inputs import IMAGE, OWN_NETWORK, S3_VPCE, SM_VPCE, SUBNET_A, SUBNET_B, VPC_ID, existing, inputs  # noqa: F401


def instances(stack: dict, values: dict, kind: str) -> dict[str, dict]:
    """name -> body of the ``kind`` resources a plan with ``values`` creates at least once."""
    ev = Evaluator(stack, values)
    return {name: body for name, body in stack["resource"].get(kind, {}).items() if ev.instances(body)}


# --------------------------------------------------------------------------- the JSON

def created_kinds(stack: dict, values: dict) -> set[str]:
    return {kind for kind in stack["resource"] if instances(stack, values, kind)}


@pytest.mark.parametrize("nat_mode", ["per_az", "single", "none"])
def test_an_existing_vpc_gets_no_vpc_subnets_gateways_nats_or_route_tables(stack_json, nat_mode):
    assert created_kinds(stack_json, existing(nat_mode=nat_mode)) & OWN_NETWORK == set()
    # ... while a VPC of its own keeps every one of them (the same addresses, counted [0]).
    assert created_kinds(stack_json, inputs(nat_mode=nat_mode)) >= OWN_NETWORK - (
        {"aws_eip", "aws_nat_gateway", "aws_internet_gateway", "aws_route"} if nat_mode == "none" else set())
    assert planned(stack_json, nat_mode=nat_mode) >= {"aws_subnet.private_0[0]", "aws_route_table.private_1[0]"}


def test_existing_vpc_and_subnets_are_read_through_data_sources_that_check_them(stack_json):
    data = stack_json["data"]
    assert data["aws_vpc"]["existing"]["id"] == "${var.existing_vpc_id}"
    (dns,) = data["aws_vpc"]["existing"]["lifecycle"]["postcondition"]
    assert dns["condition"] == "${self.enable_dns_support && self.enable_dns_hostnames}"
    same_vpc, other_az = data["aws_subnet"]["existing_private_1"]["lifecycle"]["postcondition"]
    assert same_vpc["condition"] == "${self.vpc_id == var.existing_vpc_id}"
    assert other_az["condition"] == \
        "${self.availability_zone != data.aws_subnet.existing_private_0[0].availability_zone}"
    for values, count in ((inputs(), 0), (existing(), 1)):
        ev = Evaluator(stack_json, values)
        assert len(ev.instances(data["aws_vpc"]["existing"])) == count
        assert len(ev.instances(data["aws_subnet"]["existing_private_0"])) == count


def test_everything_else_attaches_to_the_chosen_vpc_and_subnets(stack_json):
    locals_ = stack_json["locals"]
    assert locals_["vpc_id"] == '${var.existing_vpc_id == "" ? aws_vpc.main[0].id : data.aws_vpc.existing[0].id}'
    assert locals_["private_subnet_ids"] == (
        "${concat(aws_subnet.private_0[*].id, aws_subnet.private_1[*].id, "
        "data.aws_subnet.existing_private_0[*].id, data.aws_subnet.existing_private_1[*].id)}")
    subnets = ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"]
    vpc_ids = {"${local.vpc_id}", locals_["vpc_id"]}  # the flow log writes the local out (checkov)
    resources = stack_json["resource"]
    for kind in ("aws_security_group", "aws_vpc_endpoint", "aws_lb_target_group", "aws_flow_log"):
        for name, body in instances(stack_json, existing(), kind).items():
            assert body["vpc_id"] in vpc_ids, f"{kind}.{name}"
    for name, body in instances(stack_json, existing(pinecone_privatelink_region="us-east-1"),
                                "aws_vpc_endpoint").items():
        assert body.get("subnet_ids", subnets) == subnets, name
    assert resources["aws_lb"]["main"]["subnets"] == subnets
    assert resources["aws_ecs_service"]["app"]["network_configuration"]["subnets"] == subnets
    for zone in resources["aws_route53_zone"].values():
        assert zone["vpc"] == [{"vpc_id": "${local.vpc_id}"}]
    assert stack_json["output"]["vpc_id"]["value"] == "${local.vpc_id}"


def test_reused_endpoints_are_not_created_and_the_secret_policy_names_the_reused_one(stack_json):
    reuse = existing(existing_vpc_endpoints={"secretsmanager": SM_VPCE, "s3": S3_VPCE})
    created = set(instances(stack_json, reuse, "aws_vpc_endpoint"))
    assert created == {"ecr_api", "ecr_dkr", "logs", "ssm", "ec2", "sts", "kms"}
    ev = Evaluator(stack_json, reuse)
    (condition,) = stack_json["data"]["aws_iam_policy_document"]["secret_policy_open"]["statement"][0]["condition"]
    assert condition["variable"] == "aws:SourceVpce"
    assert ev.value(condition["values"]) == [SM_VPCE]
    assert ev.value(stack_json["output"]["secretsmanager_vpce_id"]["value"]) == SM_VPCE
    # The stack's own S3 gateway goes on the given subnets' route tables, read only when it is created.
    tables = stack_json["data"]["aws_route_table"]
    assert tables["existing_private_0"]["subnet_id"] == "${data.aws_subnet.existing_private_0[0].id}"
    assert [len(Evaluator(stack_json, v).instances(tables["existing_private_1"])) for v in (inputs(), existing(), reuse)] \
        == [0, 1, 0]


# --------------------------------------------------------------------------- the inputs

# (A VPC without subnets, subnets alone, one subnet twice, endpoints without a VPC, an endpoint
# byoc does not create: tests/stack/test_input_parity.py, in Python and terraform.)
@pytest.mark.parametrize("overrides, field", [
    ({"existing_vpc_id": VPC_ID, "existing_private_subnet_ids": [SUBNET_A]}, "existing_private_subnet_ids"),
    ({"existing_vpc_id": VPC_ID, "existing_private_subnet_ids": [SUBNET_A, "sub-1"]}, "existing_private_subnet_ids"),
    ({"existing_vpc_id": "my-vpc", "existing_private_subnet_ids": [SUBNET_A, SUBNET_B]}, "existing_vpc_id"),
])
def test_bad_existing_network_inputs_name_their_field(overrides, field):
    assert [e.field for e in validate(inputs(**overrides))] == [field]


def test_existing_network_inputs_are_valid_together():
    assert validate(existing(existing_vpc_endpoints={"secretsmanager": SM_VPCE, "s3": S3_VPCE})) == []


def test_endpoint_map_comes_from_a_flag_as_pairs_or_json():
    spec = BY_NAME["existing_vpc_endpoints"]
    assert parse_value(spec, f"secretsmanager={SM_VPCE},s3={S3_VPCE}", "--existing-vpc-endpoints") == \
        parse_value(spec, json.dumps({"secretsmanager": SM_VPCE, "s3": S3_VPCE}), "x") == \
        {"secretsmanager": SM_VPCE, "s3": S3_VPCE}


@pytest.mark.terraform
def test_terraform_refuses_a_vpc_without_subnets_and_endpoints_without_a_vpc_with_pythons_message(
        stack_json, tmp_path, terraform_rc):
    folder = variables_only(stack_json, tmp_path)
    for overrides, field in (({"existing_vpc_id": VPC_ID}, "existing_private_subnet_ids"),
                             ({"existing_vpc_endpoints": {"secretsmanager": SM_VPCE}}, "existing_vpc_endpoints")):
        values = inputs(**overrides)
        (folder / "bad.tfvars.json").write_text(json.dumps({k: values[k] for k in (*overrides, "container_image")}))
        proc = terraform(folder, {}, "plan", "-input=false", "-no-color", "-var-file=bad.tfvars.json", ok=(1,))
        message = next(e.message for e in validate(values) if e.field == field)
        assert " ".join(message.split()[:6]) in " ".join(proc.stderr.split()), proc.stderr
