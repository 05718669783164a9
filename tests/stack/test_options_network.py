"""Issue 7's network options: nat_mode, endpoint_set and pinecone_privatelink_region.

Three levels, all on the session's one synth:
- the JSON: counts, conditions and for_each refer to the variables (one JSON serves every value),
  and Pinecone's region table is embedded as a local;
- the resource set of each mode, every count/for_each evaluated with ``cli.core.tfexpr`` (what
  ``byoc cost`` and ``byoc doctor`` use), against lists written out here by hand;
- terraform against a moto server on 127.0.0.1: one CLI deployment with nat_mode = none,
  endpoint_set = minimal, pinecone_privatelink_region = us-east-1 (read back with boto3, re-planned
  with no changes, passed by ``byoc doctor``), and the network alone, applied per_az and
  switched to single.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.observers import cost, doctor
from cli.observers.doctor.static import static_checks
from cli.actions.deploy import network_warnings
from cli.main import app
from cli.core.tfexpr import Evaluator
from constructs_lib import catalog
from stacks import STACK_NAME
from stacks.inputs import defaults
from tfrun import aws, terraform

REPO = Path(__file__).resolve().parents[2]
IMAGE = "public.ecr.aws/nginx/nginx:1.27"
PINECONE_US_EAST_1 = "com.amazonaws.vpce.us-east-1.vpce-svc-05ef6f1f0b9130b54"
PINECONE_US_EAST_1_ZONE = "private.aped-4627-b74a.pinecone.io"
NETWORK_TYPES = ("aws_internet_gateway", "aws_eip", "aws_nat_gateway", "aws_route", "aws_route_table",
                 "aws_route_table_association", "aws_subnet", "aws_vpc_endpoint", "aws_route53_zone",
                 "aws_route53_record")

# What each nat_mode creates, written out by hand (addresses as `terraform state list` shows them).
# (Since issue 16 the private side is counted too, by existing_vpc_id: hence [0] everywhere.)
PRIVATE_ONLY = {"aws_subnet.private_0[0]", "aws_subnet.private_1[0]", "aws_route_table.private_0[0]",
                "aws_route_table.private_1[0]", "aws_route_table_association.private_0_subnet[0]",
                "aws_route_table_association.private_1_subnet[0]"}
SINGLE = PRIVATE_ONLY | {
    "aws_internet_gateway.igw[0]", "aws_subnet.public_0[0]", "aws_subnet.public_1[0]", "aws_route_table.public[0]",
    "aws_route.public_internet[0]", "aws_route_table_association.public_0_subnet[0]",
    "aws_route_table_association.public_1_subnet[0]", "aws_eip.nat_0[0]", "aws_nat_gateway.nat_0[0]",
    "aws_route.private_0_nat[0]", "aws_route.private_1_nat[0]"}
PER_AZ = SINGLE | {"aws_eip.nat_1[0]", "aws_nat_gateway.nat_1[0]"}


def endpoint_addresses(endpoint_set: str, ecs_exec: bool = False) -> set[str]:
    """The endpoint instances the catalogue says exist (the S3 gateway in every set): what the
    JSON's evaluated counts must agree with."""
    return {"aws_vpc_endpoint.s3[0]"} | {  # every endpoint is counted (existing_vpc_endpoints reuses)
        f"aws_vpc_endpoint.{e.service.replace('.', '_')}[0]"
        for e in catalog.INTERFACE_ENDPOINTS if catalog.endpoint_present(e, endpoint_set, ecs_exec)}


FULL_ENDPOINTS = endpoint_addresses("full")
MINIMAL_ENDPOINTS = endpoint_addresses("minimal")
PINECONE = {f'aws_vpc_endpoint.pinecone["{PINECONE_US_EAST_1}"]', "aws_route53_zone.pinecone[0]",
            "aws_route53_record.pinecone_wildcard[0]"}


def inputs(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


def planned(stack: dict, **overrides) -> set[str]:
    """The network addresses a plan with these inputs would create (count/for_each evaluated)."""
    ev = Evaluator(stack, inputs(**overrides))
    found = set()
    for kind in NETWORK_TYPES:
        for name, body in stack["resource"].get(kind, {}).items():
            for ctx in ev.instances(body):
                suffix = (f"[{ctx['count']['index']}]" if "count" in body else
                          f'["{ctx["each"]["key"]}"]' if "for_each" in body else "")
                found.add(f"{kind}.{name}{suffix}")
    return found


def network(stack: dict, kind: str) -> dict[str, dict]:
    return stack["resource"].get(kind, {})


# --------------------------------------------------------------------------- the JSON

def test_public_side_and_nats_are_counted_by_the_nat_mode_variable(stack_json):
    # (and by existing_vpc_id: an existing VPC's network is its owner's, tests/stack/test_existing_vpc_stack.py)
    not_none = '${(var.nat_mode == "none" || var.existing_vpc_id != "") ? 0 : 1}'
    for kind, name in (("aws_internet_gateway", "igw"), ("aws_subnet", "public_0"), ("aws_subnet", "public_1"),
                       ("aws_route_table", "public"), ("aws_route", "public_internet"),
                       ("aws_route_table_association", "public_0_subnet"), ("aws_eip", "nat_0"),
                       ("aws_nat_gateway", "nat_0"), ("aws_route", "private_0_nat"), ("aws_route", "private_1_nat")):
        assert network(stack_json, kind)[name]["count"] == not_none, f"{kind}.{name}"
    per_az = '${(var.nat_mode == "per_az" && var.existing_vpc_id == "") ? 1 : 0}'
    assert network(stack_json, "aws_eip")["nat_1"]["count"] == per_az
    assert network(stack_json, "aws_nat_gateway")["nat_1"]["count"] == per_az
    for name in ("private_0", "private_1"):  # the private side never depends on the mode
        assert network(stack_json, "aws_subnet")[name]["count"] == '${var.existing_vpc_id == "" ? 1 : 0}'
        assert network(stack_json, "aws_route_table")[name]["count"] == '${var.existing_vpc_id == "" ? 1 : 0}'


def test_second_az_routes_to_its_own_nat_else_to_nat_0(stack_json):
    routes = network(stack_json, "aws_route")
    assert routes["private_0_nat"]["nat_gateway_id"] == "${aws_nat_gateway.nat_0[0].id}"
    assert routes["private_1_nat"]["nat_gateway_id"] == \
        "${concat(aws_nat_gateway.nat_1[*].id, aws_nat_gateway.nat_0[*].id)[0]}"
    assert routes["private_1_nat"]["route_table_id"] == "${aws_route_table.private_1[0].id}"
    assert network(stack_json, "aws_nat_gateway")["nat_1"]["subnet_id"] == "${aws_subnet.public_1[0].id}"


def test_endpoints_outside_the_minimal_set_are_counted_by_the_endpoint_set_variable(stack_json):
    endpoints = network(stack_json, "aws_vpc_endpoint")
    def not_reused(service):  # issue 16: an existing VPC's own endpoint is reused instead
        return f'!contains(keys(var.existing_vpc_endpoints), "{service}")'

    for name in ("ssm", "ec2", "sts"):
        assert endpoints[name]["count"] == f'${{((var.endpoint_set == "full") && {not_reused(name)}) ? 1 : 0}}', name
    assert endpoints["kms"]["count"] == \
        f'${{(((var.endpoint_set == "full") || var.ecs_exec) && {not_reused("kms")}) ? 1 : 0}}'
    for name, service in (("ecr_api", "ecr.api"), ("ecr_dkr", "ecr.dkr"), ("logs", "logs"),
                          ("secretsmanager", "secretsmanager"), ("s3", "s3")):
        assert endpoints[name]["count"] == f"${{{not_reused(service)} ? 1 : 0}}", name  # no endpoint_set


def test_pinecone_region_table_is_embedded_as_a_local_with_its_five_regions(stack_json):
    table = json.loads((REPO / "constructs_lib" / "pinecone_privatelink.json").read_text())["regions"]
    assert len(table) == 5
    assert stack_json["locals"]["pinecone_privatelink"] == table


def test_pinecone_endpoints_take_the_explicit_list_else_the_region_service(stack_json):
    endpoint = network(stack_json, "aws_vpc_endpoint")["pinecone"]
    assert endpoint["for_each"] == "${toset(local.pinecone_endpoint_services)}"
    assert endpoint["private_dns_enabled"] is False
    services = stack_json["locals"]["pinecone_endpoint_services"]
    assert services.startswith("${toset(length(var.pinecone_vpce_services) > 0 ? var.pinecone_vpce_services : ")
    assert "var.pinecone_privatelink_region" in stack_json["locals"]["pinecone_privatelink_chosen"]


def test_private_zone_is_associated_with_the_vpc_and_aliases_the_wildcard_to_the_endpoint(stack_json):
    zone = network(stack_json, "aws_route53_zone")["pinecone"]
    record = network(stack_json, "aws_route53_record")["pinecone_wildcard"]
    assert zone["count"] == record["count"] == "${length(local.pinecone_private_zones)}"
    assert zone["vpc"] == [{"vpc_id": "${local.vpc_id}"}]
    assert record["name"] == "*.${local.pinecone_private_zones[0].dns_zone}" and record["type"] == "A"
    entry = "aws_vpc_endpoint.pinecone[local.pinecone_private_zones[0].service_name].dns_entry[0]"
    assert record["alias"] == {"name": f"${{{entry}.dns_name}}", "zone_id": f"${{{entry}.hosted_zone_id}}",
                               "evaluate_target_health": False}


# --------------------------------------------------------------------------- each mode's resource set

@pytest.mark.parametrize("mode, expected", [("per_az", PER_AZ), ("single", SINGLE), ("none", PRIVATE_ONLY)])
def test_nat_mode_creates_exactly_its_network(stack_json, mode, expected):
    assert planned(stack_json, nat_mode=mode) - FULL_ENDPOINTS == expected


@pytest.mark.parametrize("endpoint_set, expected", [("full", FULL_ENDPOINTS), ("minimal", MINIMAL_ENDPOINTS)])
def test_endpoint_set_creates_exactly_its_endpoints(stack_json, endpoint_set, expected):
    found = planned(stack_json, endpoint_set=endpoint_set)
    assert {a for a in found if a.startswith("aws_vpc_endpoint.")} == expected


def test_privatelink_region_adds_the_pinecone_endpoint_and_its_private_zone(stack_json):
    assert planned(stack_json, pinecone_privatelink_region="us-east-1") - planned(stack_json) == PINECONE
    zones = Evaluator(stack_json, inputs(pinecone_privatelink_region="us-east-1")).value(
        "${local.pinecone_private_zones}")
    assert zones == [{"service_name": PINECONE_US_EAST_1, "dns_zone": PINECONE_US_EAST_1_ZONE}]


def test_explicit_service_list_wins_and_keeps_the_zone_only_when_it_holds_the_region_service(stack_json):
    other = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    only_other = planned(stack_json, pinecone_privatelink_region="us-east-1", pinecone_vpce_services=[other])
    assert {a for a in only_other if "pinecone" in a} == {f'aws_vpc_endpoint.pinecone["{other}"]'}
    both = planned(stack_json, pinecone_privatelink_region="us-east-1",
                   pinecone_vpce_services=[other, PINECONE_US_EAST_1])
    assert {a for a in both if "pinecone" in a} == PINECONE | {f'aws_vpc_endpoint.pinecone["{other}"]'}


def test_cost_follows_nat_mode_and_endpoint_set_of_the_real_stack(stack_json):
    prices = cost.load_prices()
    lean = cost.estimate(stack_json, inputs(nat_mode="none", endpoint_set="minimal"), prices)
    quantities = {line.key: line.quantity for line in lean.lines}
    assert (quantities["nat_gateway"], quantities["public_ipv4"], quantities["interface_endpoints"]) == (0, 0, 4 * 2)
    assert [o.key for o in lean.options if o.current] == ["nat_none", "endpoints_minimal"]
    single = cost.estimate(stack_json, inputs(nat_mode="single"), prices)
    assert {line.key: line.quantity for line in single.lines}["nat_gateway"] == 1
    assert [o.key for o in single.options if o.current] == ["nat_single"]
    with_pinecone = cost.estimate(stack_json, inputs(pinecone_privatelink_region="us-east-1"), prices)
    assert {line.key: line.quantity for line in with_pinecone.lines}["interface_endpoints"] == 9 * 2
    assert {line.key: line.quantity for line in with_pinecone.lines}["route53_zone"] == 1
    assert lean.warnings == single.warnings == with_pinecone.warnings == []


def test_only_nat_mode_none_warns_and_says_whether_pinecone_is_reachable_at_all():
    assert network_warnings(inputs()) == network_warnings(inputs(nat_mode="single")) == []
    (with_region,) = network_warnings(inputs(nat_mode="none", pinecone_privatelink_region="us-east-1"))
    assert "control plane" in with_region and "api.pinecone.io" in with_region
    assert "PrivateLink (pinecone_privatelink_region = us-east-1)" in with_region
    (without,) = network_warnings(inputs(nat_mode="none"))
    assert "cannot reach Pinecone at all" in without


# --------------------------------------------------------------------------- against moto

@pytest.fixture(scope="module")
def lean(synthesized_project, tmp_path_factory, aws_env_module):
    """`byoc deploy` with nat_mode = none, endpoint_set = minimal and Pinecone PrivateLink in
    us-east-1, then `secret put` and `lockdown`: one deployment the tests below read."""
    project = tmp_path_factory.mktemp("lean") / "project"
    shutil.copytree(synthesized_project, project)
    runner = CliRunner()
    outputs = []
    for args, stdin in ((["deploy", "--container-image", IMAGE, "--nat-mode", "none", "--endpoint-set", "minimal",
                          "--pinecone-privatelink-region", "us-east-1", "-y"], None),
                        (["secret", "put"], "pcsk-options-test\n"),
                        (["lockdown", "-y"], None)):
        result = runner.invoke(app, [*args, "-C", str(project)], env=aws_env_module, input=stdin)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    state = json.loads((project / "terraform.byoc.tfstate").read_text())
    return {"project": project, "env": aws_env_module, "deploy_output": outputs[0],
            "outputs": {k: v["value"] for k, v in state["outputs"].items()}}


@pytest.mark.terraform
@pytest.mark.emulator
def test_deploy_with_nat_mode_none_warns_about_the_control_plane_before_the_plan(lean):
    out = lean["deploy_output"]
    warning = out.index("WARNING: nat_mode = none")
    assert warning < out.index("Terraform: plan")
    assert "Pinecone's control plane (index management, api.pinecone.io)" in out
    assert "pinecone_privatelink_region = us-east-1" in out


@pytest.mark.terraform
@pytest.mark.emulator
def test_no_nat_vpc_has_no_internet_gateway_nat_public_subnet_or_default_route(lean):
    ec2, vpc = aws(lean["env"], "ec2"), lean["outputs"]["vpc_id"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc]}]
    assert ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}])[
        "InternetGateways"] == []
    assert [n for n in ec2.describe_nat_gateways(Filters=in_vpc)["NatGateways"] if n["State"] != "deleted"] == []
    assert ec2.describe_addresses(Filters=[{"Name": "tag:Project", "Values": ["byoc-agents"]}])["Addresses"] == []
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    assert sorted(s["SubnetId"] for s in subnets) == sorted(lean["outputs"]["private_subnet_ids"])
    assert not any(t["Key"] == "Tier" and t["Value"] == "public" for s in subnets for t in s.get("Tags", []))
    tables = ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    assert len(tables) == 3  # the VPC's main table and the two private ones
    assert [r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"] == []


@pytest.mark.terraform
@pytest.mark.emulator
def test_no_nat_vpc_has_the_minimal_endpoints_the_s3_gateway_and_pinecone(lean):
    found = aws(lean["env"], "ec2").describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [lean["outputs"]["vpc_id"]]}])["VpcEndpoints"]
    by_service = {(e["ServiceName"], e["VpcEndpointType"], e["PrivateDnsEnabled"]) for e in found}
    assert len(found) == 6
    assert by_service == {
        *{(f"com.amazonaws.us-east-1.{s}", "Interface", True) for s in ("ecr.api", "ecr.dkr", "logs", "secretsmanager")},
        ("com.amazonaws.us-east-1.s3", "Gateway", False), (PINECONE_US_EAST_1, "Interface", False)}


@pytest.mark.terraform
@pytest.mark.emulator
def test_private_zone_of_pinecone_hostnames_aliases_the_wildcard_to_the_endpoint(lean):
    env, vpc = lean["env"], lean["outputs"]["vpc_id"]
    route53 = aws(env, "route53")
    (zone,) = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == PINECONE_US_EAST_1_ZONE + "."]
    assert zone["Config"]["PrivateZone"] is True
    assert [v["VPCId"] for v in route53.get_hosted_zone(Id=zone["Id"])["VPCs"]] == [vpc]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    (wildcard,) = [r for r in records if r["Type"] == "A"]
    assert wildcard["Name"].replace("\\052", "*") == f"*.{PINECONE_US_EAST_1_ZONE}."
    (endpoint,) = aws(env, "ec2").describe_vpc_endpoints(
        Filters=[{"Name": "service-name", "Values": [PINECONE_US_EAST_1]}])["VpcEndpoints"]
    dns = endpoint["DnsEntries"][0]
    assert wildcard["AliasTarget"]["DNSName"].rstrip(".") == dns["DnsName"]
    assert wildcard["AliasTarget"]["HostedZoneId"] == dns["HostedZoneId"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_no_nat_deployment_plans_no_changes_the_second_time(lean):
    stack_dir = lean["project"] / "cdktf.out" / "stacks" / STACK_NAME
    var_file = lean["project"] / ".byoc" / "inputs.tfvars.json"
    assert json.loads(var_file.read_text())["nat_mode"] == "none"
    proc = terraform(stack_dir, lean["env"], "plan", "-input=false", "-no-color", "-detailed-exitcode",
                     f"-var-file={var_file}", ok=(0, 2))
    assert proc.returncode == 0, proc.stdout[-4000:]


@pytest.mark.terraform
@pytest.mark.emulator
def test_doctor_passes_on_the_minimal_no_nat_stack(lean):
    result = CliRunner().invoke(app, ["doctor", "-C", str(lean["project"]), "--json"], env=lean["env"])
    report = json.loads(result.output)
    assert result.exit_code == 0 and report["ok"] is True, result.output
    assert [c for c in report["static"] + report["live"] if c["result"] == "fail"] == [], result.output
    static, live = ({c["name"]: c["result"] for c in report[k]} for k in ("static", "live"))
    assert static["endpoints a private task needs"] == "pass"
    assert live["VPC endpoints available with private DNS"] == live["endpoint security group admits 443"] == "pass"


@pytest.fixture(scope="module")
def network_only(synthesized_project, tmp_path_factory, aws_env_module):
    """The network alone (terraform -target on both private default routes, which pulls in the VPC,
    subnets, IGW, EIPs and NATs), applied per_az in a project of its own."""
    project = tmp_path_factory.mktemp("natswitch") / "project"
    shutil.copytree(synthesized_project, project)
    stack_dir = project / "cdktf.out" / "stacks" / STACK_NAME
    base = ["-input=false", "-no-color", "-var", f"container_image={IMAGE}", "-var", "app_name=natswitch",
            "-var", "vpc_cidr=10.9.0.0/16", "-var", 'private_subnet_cidrs=["10.9.1.0/24","10.9.2.0/24"]',
            "-var", 'public_subnet_cidrs=["10.9.101.0/24","10.9.102.0/24"]',
            "-target=aws_route.private_0_nat", "-target=aws_route.private_1_nat"]
    terraform(stack_dir, aws_env_module, "init", "-input=false", "-no-color")
    terraform(stack_dir, aws_env_module, "apply", "-auto-approve", *base)
    return {"dir": stack_dir, "env": aws_env_module, "base": base}


def default_routes(env: dict, state_file: Path) -> dict[str, str]:
    """Private route table name -> the NAT its 0.0.0.0/0 route goes to, read back from AWS."""
    state = json.loads(state_file.read_text())
    tables = {r["name"]: r["instances"][0]["attributes"]["id"] for r in state["resources"]
              if r["type"] == "aws_route_table" and r["name"].startswith("private_")}
    ec2 = aws(env, "ec2")
    return {name: next(r["NatGatewayId"] for r in ec2.describe_route_tables(RouteTableIds=[tid])["RouteTables"][0]["Routes"]
                       if r.get("DestinationCidrBlock") == "0.0.0.0/0") for name, tid in tables.items()}


@pytest.mark.terraform
@pytest.mark.emulator
def test_switching_per_az_to_single_removes_only_nat_1_and_its_eip_and_reroutes_az_1(network_only):
    d, env = network_only["dir"], network_only["env"]
    state_file = d.parents[2] / "terraform.byoc.tfstate"
    before = default_routes(env, state_file)
    assert len(set(before.values())) == 2  # per_az: each AZ its own NAT

    terraform(d, env, "plan", *network_only["base"], "-var", "nat_mode=single", "-out=single.tfplan")
    plan = json.loads(terraform(d, env, "show", "-json", "single.tfplan").stdout)
    changes = {c["address"]: c["change"]["actions"] for c in plan["resource_changes"]
               if c["change"]["actions"] != ["no-op"]}
    assert changes == {"aws_nat_gateway.nat_1[0]": ["delete"], "aws_eip.nat_1[0]": ["delete"],
                       "aws_route.private_1_nat[0]": ["update"]}

    terraform(d, env, "apply", "-input=false", "-no-color", "single.tfplan")
    after = default_routes(env, state_file)
    assert after == {"private_0": before["private_0"], "private_1": before["private_0"]}


# --------------------------------------------------------------------------- byoc doctor, static

@pytest.mark.parametrize("nat_mode", ["per_az", "single", "none"])
@pytest.mark.parametrize("endpoint_set", ["full", "minimal"])
def test_doctor_static_checks_pass_for_every_nat_mode_and_endpoint_set(stack_json, nat_mode, endpoint_set):
    checks = static_checks(stack_json, inputs(nat_mode=nat_mode, endpoint_set=endpoint_set))
    assert [c for c in checks if c.result != doctor.PASS] == []


def test_doctor_static_counts_nat_routes_by_nat_mode(stack_json):
    """A missing endpoint is a warning while a NAT route carries the traffic, a failure without one."""
    broken = copy.deepcopy(stack_json)
    del broken["resource"]["aws_vpc_endpoint"]["ecr_dkr"]
    for nat_mode, result in (("per_az", doctor.WARN), ("single", doctor.WARN), ("none", doctor.FAIL)):
        checks = {c.name: c for c in static_checks(broken, inputs(nat_mode=nat_mode))}
        assert checks["endpoints a private task needs"].result == result, nat_mode
        assert "ecr.dkr" in checks["endpoints a private task needs"].detail


def test_ecs_exec_keeps_the_kms_endpoint_in_the_minimal_set(stack_json):
    # An ECS Exec session is encrypted with the stack's key by the task's agent: without the kms
    # endpoint (and with no NAT) the session could not start.
    minimal_exec = planned(stack_json, endpoint_set="minimal", ecs_exec=True,
                           container_read_only_root_filesystem=False)
    assert {a for a in minimal_exec if a.startswith("aws_vpc_endpoint.")} == {
        *MINIMAL_ENDPOINTS, "aws_vpc_endpoint.kms[0]", "aws_vpc_endpoint.ssmmessages[0]"}
    assert endpoint_addresses("minimal", ecs_exec=True) == {
        *MINIMAL_ENDPOINTS, "aws_vpc_endpoint.kms[0]", "aws_vpc_endpoint.ssmmessages[0]"}
