"""`byoc cost`: the estimate against a hand calculation, what each cost option saves, and the CLI.

Everything reads the session's synthesized stack (``stack_json``/``synthesized_project``); no
test synthesizes (``project`` fails a command that would).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.core import synth
from cli.observers import cost
from cli.main import app
from cli.core.tfexpr import Evaluator, Unknown, Unsupported
from stacks.inputs import defaults

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
HOURS = 730
# us-east-1 on-demand list prices, written out here by hand so that the table is checked too.
NAT_H, IPV4_H, ENDPOINT_AZ_H, ALB_H, NLB_H = 0.045, 0.005, 0.01, 0.0225, 0.0225
KMS_MONTH, SECRET_MONTH = 1.00, 0.40
ALARM_METRIC_MONTH = 0.10  # CloudWatch bills an alarm per metric it reads
VCPU_H, GB_H = 0.04048, 0.004445  # Fargate, Linux/x86
# The seed's default layout in us-east-1, by hand: 2 NAT gateways, 2 public IPv4 addresses (their
# EIPs), 8 interface endpoints in 2 AZs, 1 ALB, 1 KMS key, 1 secret, 1 task of 0.25 vCPU / 0.5 GB,
# and the 4 default alarms reading 6 metrics (CPU 1, unhealthy targets 1, 5xx 2, running vs desired 2).
SEED_MONTHLY = HOURS * (2 * NAT_H + 2 * IPV4_H + 8 * 2 * ENDPOINT_AZ_H + ALB_H + 0.25 * VCPU_H + 0.5 * GB_H) \
    + KMS_MONTH + SECRET_MONTH + 6 * ALARM_METRIC_MONTH  # = 217.235 -> $217.24


@pytest.fixture(scope="module")
def prices() -> dict:
    return cost.load_prices()


def inputs(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


def line(estimate: cost.Estimate, key: str) -> cost.Line:
    return next(item for item in estimate.lines if item.key == key)


def option(estimate: cost.Estimate, key: str) -> cost.Option:
    return next(item for item in estimate.options if item.key == key)


# -- the estimate ------------------------------------------------------------------------------

def test_default_layout_in_us_east_1_matches_the_hand_calculation(stack_json, prices):
    # 730 × (2×0.045 + 2×0.005 + 16×0.01 + 0.0225 + 0.25×0.04048 + 0.5×0.004445) + 1 + 0.40 + 6×0.10
    assert SEED_MONTHLY == pytest.approx(217.24, abs=0.005)

    estimate = cost.estimate(stack_json, inputs(), prices)

    assert estimate.total_monthly == pytest.approx(SEED_MONTHLY)
    assert estimate.as_dict()["total_monthly"] == 217.24
    assert {item.key: item.quantity for item in estimate.lines} == {
        "nat_gateway": 2, "public_ipv4": 2, "interface_endpoints": 16, "application_load_balancer": 1,
        "kms_key": 1, "secret": 1, "fargate_x86_vcpu": 0.25, "fargate_x86_memory": 0.5, "cloudwatch_alarm": 6}
    assert line(estimate, "nat_gateway").monthly == pytest.approx(HOURS * 2 * NAT_H)
    assert line(estimate, "interface_endpoints").monthly == pytest.approx(HOURS * 16 * ENDPOINT_AZ_H)
    assert estimate.warnings == []
    assert (estimate.region, estimate.prices_region, estimate.region_in_table) == ("us-east-1", "us-east-1", True)


def test_price_table_is_dated_sourced_and_holds_the_list_prices(prices):
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["as_of"])
    assert prices["hours_per_month"] == HOURS
    assert prices["sources"] and all(url.startswith("https://aws.amazon.com/") for url in prices["sources"].values())
    table = prices["regions"]["us-east-1"]
    assert (table["nat_gateway_hour"], table["public_ipv4_hour"], table["interface_endpoint_az_hour"],
            table["alb_hour"], table["nlb_hour"], table["kms_key_month"], table["secret_month"],
            table["fargate_linux_x86_vcpu_hour"], table["fargate_linux_x86_gb_hour"]) == (
        NAT_H, IPV4_H, ENDPOINT_AZ_H, ALB_H, NLB_H, KMS_MONTH, SECRET_MONTH, VCPU_H, GB_H)
    for region, rates in prices["regions"].items():
        assert set(rates) == set(table), f"{region} lacks rates: {set(table) - set(rates)}"


def test_single_nat_saves_one_nat_gateway_and_one_public_ipv4(stack_json, prices):
    single = option(cost.estimate(stack_json, inputs(), prices), "nat_single")
    assert single.saves_monthly == pytest.approx(HOURS * (NAT_H + IPV4_H))  # $36.50
    assert not single.current


def test_no_nat_saves_both_nat_gateways_and_their_addresses_and_warns_about_pinecone(stack_json, prices):
    none = option(cost.estimate(stack_json, inputs(), prices), "nat_none")
    assert none.saves_monthly == pytest.approx(HOURS * 2 * (NAT_H + IPV4_H))  # $73.00
    assert "control plane" in none.detail


def test_minimal_endpoint_set_saves_four_endpoints_in_two_azs(stack_json, prices):
    minimal = option(cost.estimate(stack_json, inputs(), prices), "endpoints_minimal")
    assert minimal.saves_monthly == pytest.approx(HOURS * 4 * 2 * ENDPOINT_AZ_H)  # $58.40
    assert minimal.detail.startswith("drops ec2, kms, ssm, sts ")


def test_nlb_instead_of_alb_saves_the_hourly_difference_and_the_alb_only_alarm(stack_json, prices):
    nlb = option(cost.estimate(stack_json, inputs(), prices), "nlb")
    # Same hourly rate in us-east-1 (they differ in capacity units); an NLB has no 5xx alarm,
    # whose metric math reads 2 metrics.
    assert nlb.saves_monthly == pytest.approx(HOURS * (ALB_H - NLB_H) + 2 * ALARM_METRIC_MONTH)
    assert "CloudWatch alarm metrics 6 -> 4" in nlb.detail
    assert "capacity units" in nlb.detail


def test_minimal_endpoint_set_with_ecs_exec_saves_only_what_it_drops(stack_json, prices):
    # ECS Exec keeps kms (its sessions are encrypted with the stack's key): 3 endpoints go, not 4.
    exec_on = inputs(ecs_exec=True, container_read_only_root_filesystem=False)
    minimal = option(cost.estimate(stack_json, exec_on, prices), "endpoints_minimal")
    assert minimal.saves_monthly == pytest.approx(HOURS * 3 * 2 * ENDPOINT_AZ_H)
    assert "drops ec2, ssm, sts (3 endpoints)" in minimal.detail and "kms" in minimal.detail.split("keeps")[1]


def test_desired_count_and_task_size_change_the_fargate_lines(stack_json, prices):
    base = cost.estimate(stack_json, inputs(), prices)
    bigger = cost.estimate(stack_json, inputs(desired_count=3, task_cpu=1024, task_memory=2048), prices)

    assert line(bigger, "fargate_x86_vcpu").monthly == pytest.approx(HOURS * 3 * 1 * VCPU_H)
    assert line(bigger, "fargate_x86_memory").monthly == pytest.approx(HOURS * 3 * 2 * GB_H)
    assert line(bigger, "fargate_x86_vcpu").detail == "3 tasks × 1 vCPU × 730 h"
    assert bigger.total_monthly - base.total_monthly == pytest.approx(
        HOURS * (3 * VCPU_H + 6 * GB_H - 0.25 * VCPU_H - 0.5 * GB_H))


def test_pinecone_endpoints_add_endpoint_hours_once_per_distinct_service(stack_json, prices):
    services = ["com.amazonaws.vpce.us-east-1.vpce-svc-05ef6f1f0b9130b54",
                "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
                "com.amazonaws.vpce.us-east-1.vpce-svc-05ef6f1f0b9130b54"]  # for_each over toset(): 2
    base = cost.estimate(stack_json, inputs(), prices)
    with_pinecone = cost.estimate(stack_json, inputs(pinecone_vpce_services=services), prices)

    endpoints = line(with_pinecone, "interface_endpoints")
    assert endpoints.quantity == 16 + 2 * 2
    assert with_pinecone.total_monthly - base.total_monthly == pytest.approx(HOURS * 2 * 2 * ENDPOINT_AZ_H)
    assert "(8 AWS, 2 PrivateLink)" in endpoints.detail
    # PrivateLink endpoints are not part of the endpoint set: the minimal set saves the same.
    assert option(with_pinecone, "endpoints_minimal").saves_monthly == pytest.approx(HOURS * 8 * ENDPOINT_AZ_H)


def test_region_outside_the_table_shows_the_us_east_1_estimate_labelled_as_such(stack_json, prices):
    estimate = cost.estimate(stack_json, inputs(aws_region="ap-south-2"), prices)

    assert (estimate.region, estimate.prices_region, estimate.region_in_table) == ("ap-south-2", "us-east-1", False)
    assert estimate.as_dict()["total_monthly"] == 217.24
    assert "ap-south-2 is not in the price table" in estimate.warnings[0]
    first = cost.render(estimate)[0]
    assert "us-east-1 prices" in first and "ap-south-2 is not in the price table" in first


# -- counting from the JSON, with expressions evaluated from the inputs ---------------------------

def test_option_defaults_give_the_seed_layout(stack_json, prices):
    estimate = cost.estimate(stack_json, inputs(), prices)
    assert estimate.as_dict()["total_monthly"] == 217.24
    assert estimate.warnings == []
    assert [o.key for o in estimate.options if o.current] == []


def test_options_set_in_the_inputs_are_counted_and_shown_as_current(stack_json, prices):
    chosen = inputs(nat_mode="single", endpoint_set="minimal", load_balancer_type="network")
    estimate = cost.estimate(stack_json, chosen, prices)

    assert line(estimate, "nat_gateway").quantity == 1
    assert line(estimate, "public_ipv4").quantity == 1
    assert line(estimate, "interface_endpoints").quantity == 4 * 2
    assert line(estimate, "network_load_balancer").quantity == 1
    assert line(estimate, "application_load_balancer").quantity == 0
    assert [o.key for o in estimate.options if o.current] == ["nat_single", "endpoints_minimal", "nlb"]
    assert option(estimate, "nat_none").saves_monthly == pytest.approx(HOURS * (NAT_H + IPV4_H))
    assert option(estimate, "endpoints_minimal").saves_monthly == 0
    full = cost.estimate(stack_json, inputs(), prices)
    assert full.total_monthly - estimate.total_monthly == pytest.approx(
        HOURS * (NAT_H + IPV4_H + 4 * 2 * ENDPOINT_AZ_H + ALB_H - NLB_H)
        + 2 * ALARM_METRIC_MONTH)  # an NLB has no 5xx alarm (2 metrics)

    no_nat = cost.estimate(stack_json, inputs(nat_mode="none"), prices)
    assert line(no_nat, "nat_gateway").quantity == 0 and line(no_nat, "public_ipv4").quantity == 0
    assert [o.key for o in no_nat.options if o.current] == ["nat_none"]


def pinned(stack_json: dict, *, nats: int, endpoint_set: str, load_balancer_type: str) -> dict:
    """The stack with its NAT, optional endpoint and load balancer settings written in, so that
    what it creates no longer follows the inputs nat_mode, endpoint_set and load_balancer_type."""
    stack = copy.deepcopy(stack_json)
    resources = stack["resource"]
    for kind in ("aws_nat_gateway", "aws_eip"):
        resources[kind]["nat_0"]["count"] = 1 if nats >= 1 else 0
        resources[kind]["nat_1"]["count"] = 1 if nats >= 2 else 0
    for name in ("ec2", "kms", "ssm", "sts"):
        resources["aws_vpc_endpoint"][name]["count"] = 1 if endpoint_set == "full" else 0
    resources["aws_lb"]["main"]["load_balancer_type"] = load_balancer_type
    return stack


def test_current_option_is_the_input_value_not_a_guess_from_the_counts(stack_json, prices):
    # Inputs and counts disagree both ways: what the stack creates says one thing, the inputs
    # another. "current" follows the inputs, as the stack's variables decide what a plan creates.
    seed_layout = pinned(stack_json, nats=2, endpoint_set="full", load_balancer_type="application")
    chosen = inputs(nat_mode="single", endpoint_set="minimal", load_balancer_type="network")
    estimate = cost.estimate(seed_layout, chosen, prices)
    assert (line(estimate, "nat_gateway").quantity, line(estimate, "interface_endpoints").quantity,
            line(estimate, "application_load_balancer").quantity) == (2, 16, 1)  # counts: the seed's layout
    assert [o.key for o in estimate.options if o.current] == ["nat_single", "endpoints_minimal", "nlb"]

    lean_layout = pinned(stack_json, nats=1, endpoint_set="minimal", load_balancer_type="network")
    estimate = cost.estimate(lean_layout, inputs(), prices)
    assert (line(estimate, "nat_gateway").quantity, line(estimate, "interface_endpoints").quantity,
            line(estimate, "network_load_balancer").quantity) == (1, 8, 1)  # counts: the cheap options
    assert [o.key for o in estimate.options if o.current] == []


def test_a_count_that_cannot_be_evaluated_is_a_warning_not_a_silent_guess(stack_json, prices):
    stack = copy.deepcopy(stack_json)
    stack["resource"]["aws_nat_gateway"]["nat_1"]["count"] = "${length(data.aws_availability_zones.available.names)}"
    estimate = cost.estimate(stack, inputs(), prices)
    assert any(w.startswith("aws_nat_gateway.nat_1: count/for_each not evaluated") for w in estimate.warnings)
    assert "WARNING: aws_nat_gateway.nat_1" in "\n".join(cost.render(estimate))


@pytest.mark.parametrize("text, values, expected", [
    ("${var.n == \"single\" ? 1 : 2}", {"n": "single"}, 1),
    ('${lookup({"none" = 0, "single": 1}, var.n, 2)}', {"n": "one_per_az"}, 2),
    ("${length(toset(var.l))}", {"l": ["a", "b", "a"]}, 2),
    ('${[for s in var.l : upper(s) if s != "b"]}', {"l": ["a", "b"]}, ["A"]),
    ("${tostring(var.cpu)}", {"cpu": 256}, "256"),
    ("com.amazonaws.${var.r}.ssm", {"r": "eu-west-1"}, "com.amazonaws.eu-west-1.ssm"),
    ("${(length(var.s) >= 1) ? 1 : 0}", {"s": ""}, 0),
])
def test_expressions_are_evaluated_from_the_inputs(text, values, expected):
    assert Evaluator({}, values).value(text) == expected


def test_values_known_only_after_apply_or_unsupported_syntax_raise():
    with pytest.raises(Unknown):
        Evaluator({}, {}).value("${aws_subnet.private_0.id}")
    with pytest.raises(Unknown):
        Evaluator({}, {}).value("${var.missing}")
    with pytest.raises(Unsupported):
        Evaluator({}, {}).value("${cidrsubnet(var.v, 8, 1)}")


# -- the command -------------------------------------------------------------------------------

@pytest.fixture
def project(synthesized_project, tmp_path, monkeypatch) -> Path:
    """A copy of the synthesized project; synthesizing again would fail the test."""
    for key in [k for k in os.environ if k.startswith("BYOC_")]:
        monkeypatch.delenv(key)

    ensure_synth = synth.ensure_synth

    def fresh_only(project, *, force=False):
        assert not force and synth.is_fresh(project), "byoc cost would synthesize: the copy should be fresh"
        return ensure_synth(project)
    monkeypatch.setattr(synth, "ensure_synth", fresh_only)
    dest = tmp_path / "project"
    shutil.copytree(synthesized_project, dest)
    return dest


def invoke(*args: str):
    return CliRunner().invoke(app, ["cost", *args])


def test_json_output_carries_lines_total_options_date_and_sources(project):
    result = invoke("-C", str(project), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total_monthly"] == 217.24
    assert data["region"] == data["prices_region"] == "us-east-1" and data["region_in_table"] is True
    assert data["hours_per_month"] == HOURS and data["currency"] == "USD"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["prices_as_of"])
    assert {o["key"]: o["saves_monthly"] for o in data["options"]} == {
        "nat_single": 36.5, "nat_none": 73.0, "endpoints_minimal": 58.4, "nlb": 0.2}
    assert sum(item["monthly"] for item in data["lines"]) == pytest.approx(217.24, abs=0.02)
    assert data["sources"]["fargate"] == "https://aws.amazon.com/fargate/pricing/"


def test_text_output_shows_the_breakdown_options_and_where_prices_come_from(project):
    result = invoke("-C", str(project))
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Estimated fixed monthly cost, before traffic: $217.24 (us-east-1)")
    assert re.search(r"as of \d{4}-\d{2}-\d{2}, 730 h a month", out)
    assert re.search(r"NAT gateways +2 × 730 h +\$0\.045/h +\$65\.70", out)
    assert re.search(r"Interface endpoints \(per AZ\) +8 endpoints × 2 AZs × 730 h +\$0\.01/h +\$116\.80", out)
    assert "NAT gateways: a single one" in out and "saves $36.50/month" in out
    assert "Sources: https://aws.amazon.com/vpc/pricing/" in out


def test_byoc_toml_inputs_change_the_estimate(project):
    (project / "byoc.toml").write_text("desired_count = 2\n")
    result = invoke("-C", str(project), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total_monthly"] == round(SEED_MONTHLY + HOURS * (0.25 * VCPU_H + 0.5 * GB_H), 2)


def test_deployed_inputs_win_over_byoc_toml(project):
    (project / "byoc.toml").write_text("desired_count = 2\n")
    (project / ".byoc" / "inputs.tfvars.json").write_text(json.dumps(inputs(desired_count=3)))
    (project / "terraform.byoc.tfstate").write_text(json.dumps({"version": 4, "resources": [{"type": "aws_vpc"}]}))
    result = invoke("-C", str(project), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inputs_from"].startswith("the last deploy")
    vcpu = next(item for item in data["lines"] if item["key"] == "fargate_x86_vcpu")
    assert vcpu["quantity"] == 0.75


def test_bad_input_is_one_line_with_exit_code_2(project):
    (project / "byoc.toml").write_text("task_cpu = 300\n")
    result = invoke("-C", str(project))
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(  # the key, and the file it is in
        f"byoc: error: byoc.toml key task_cpu ({project / 'byoc.toml'}): task_cpu must be"), result.output
    assert "Traceback" not in result.output


def test_price_table_ships_with_a_non_editable_install():
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert "prices.json" in pyproject["tool"]["setuptools"]["package-data"]["cli.observers.cost"]
