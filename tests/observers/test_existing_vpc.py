"""Issue 16, what byoc reads of an existing VPC: cost and the static doctor on the JSON, and,
against one moto server on 127.0.0.1, two VPCs made with boto3 as a platform team would (one with
a Secrets Manager endpoint and an S3 gateway of its own, one without), one `byoc deploy` into each,
then a second deploy that plans no changes; and each bad existing network refused with exit 2
before anything is written or created (and by plain terraform's data-source checks).

What the stack creates in an existing VPC, and the inputs' rules:
tests/stack/test_existing_vpc_stack.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.observers import cost
from cli.observers.doctor import SKIP
from cli.observers.doctor.static import static_checks
from cli.observers.existing_vpc import check as check_network
from cli.main import app
from constructs_lib.catalog import PINECONE_PRIVATELINK
from tfrun import aws, terraform

from existing_vpc_inputs import IMAGE, OWN_NETWORK, S3_VPCE, SM_VPCE, SUBNET_A, SUBNET_B, VPC_ID, existing, inputs  # noqa: F401


# --------------------------------------------------------------------------- cost and the static doctor, on the JSON

def test_cost_counts_no_vpc_or_nat_and_lists_reused_endpoints_apart(stack_json):
    prices = cost.load_prices()
    reuse = cost.estimate(stack_json, existing(existing_vpc_endpoints={"secretsmanager": SM_VPCE, "s3": S3_VPCE}),
                          prices)
    quantities = {line.key: line.quantity for line in reuse.lines}
    assert (quantities["nat_gateway"], quantities["public_ipv4"], quantities["interface_endpoints"]) == (0, 0, 7 * 2)
    assert reuse.reused_endpoints == [f"s3 gateway {S3_VPCE}", f"secretsmanager {SM_VPCE}"]
    assert not [o for o in reuse.options if o.key.startswith("nat_")]  # the VPC's NATs are its owner's
    assert reuse.warnings == []
    assert any(line.startswith("Reused from the existing VPC") and SM_VPCE in line for line in cost.render(reuse))
    before_deploy = cost.estimate(stack_json, existing(), prices, endpoints_found=False)
    assert {line.key: line.quantity for line in before_deploy.lines}["interface_endpoints"] == 8 * 2
    assert any("counted as created here until `byoc deploy` has found them" in w for w in before_deploy.warnings)


def test_doctor_static_checks_count_reused_endpoints_as_present(stack_json):
    checks = {c.name: c for c in static_checks(stack_json, existing(existing_vpc_endpoints={"secretsmanager": SM_VPCE}))}
    assert checks["endpoints a private task needs"].result == "pass"
    assert checks["endpoint security group admits 443"].result == SKIP
    assert SM_VPCE in checks["endpoint security group admits 443"].detail


# --------------------------------------------------------------------------- against moto

def _vpc(ec2, cidr: str, *, dns: bool = True) -> str:
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if dns:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    return vpc


def _private_subnet(ec2, vpc: str, cidr: str, az: str, nat: str | None) -> tuple[str, str]:
    """A subnet with a route table of its own, whose way out is ``nat`` (or none)."""
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if nat:
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    return subnet, table


#: The interface endpoints a task start uses (catalog.TASK_START_SERVICES): a platform VPC's own.
TASK_START = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
DENY_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*",
                                                               "Resource": "*"}]})


def _platform_vpc(ec2, octet: int, *, endpoints: tuple[str, ...] = (), secondary: bool = False,
                  endpoint_azs: tuple[str, ...] = ("us-east-1a", "us-east-1b"), admits: str | None = None,
                  policy: str | None = None, lattice: bool = False) -> dict:
    """A VPC as a platform team hands it over: DNS on, a public subnet with a NAT gateway, two
    private subnets (two AZs) routed through it — in a secondary CIDR block with ``secondary`` —,
    and for each service of ``endpoints`` an interface endpoint of its own (private DNS; one
    security group admitting tcp/443 from ``admits``, by default the private subnets' CIDR block;
    subnets in ``endpoint_azs``; ``policy`` as its endpoint policy), plus an S3 gateway on the
    private route tables. ``lattice``: also one endpoint of each type DescribeVpcEndpoints may
    describe without a ServiceName (Resource, ServiceNetwork)."""
    cidr = f"10.{octet}.0.0/16"
    private_cidr = f"10.{octet + 100}.0.0/16" if secondary else cidr
    vpc = _vpc(ec2, cidr)
    if secondary:
        ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock=private_cidr)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.100.0/24", AvailabilityZone="us-east-1a")
    public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=public["Subnet"]["SubnetId"])
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    nat = ec2.create_nat_gateway(SubnetId=public["Subnet"]["SubnetId"],
                                 AllocationId=ec2.allocate_address(Domain="vpc")["AllocationId"])["NatGateway"]["NatGatewayId"]
    prefix = private_cidr.rsplit(".", 2)[0]
    (a, table_a), (b, table_b) = (_private_subnet(ec2, vpc, f"{prefix}.{i + 1}.0/24", az, nat)
                                  for i, az in enumerate(("us-east-1a", "us-east-1b")))
    found = {"vpc": vpc, "cidr": cidr, "private_cidr": private_cidr, "subnets": [a, b], "tables": [table_a, table_b],
             "nat": nat, "endpoints": {}}
    if endpoints:
        group = ec2.create_security_group(GroupName="platform-endpoints", Description="endpoints", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": admits or private_cidr}]}])
        found["group"] = group
        subnets = [s for s, az in ((a, "us-east-1a"), (b, "us-east-1b")) if az in endpoint_azs]
        for service in endpoints:
            found["endpoints"][service] = ec2.create_vpc_endpoint(
                VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Interface",
                SubnetIds=subnets, SecurityGroupIds=[group], PrivateDnsEnabled=True,
                **({"PolicyDocument": policy} if policy else {}))["VpcEndpoint"]["VpcEndpointId"]
        found["secretsmanager"] = found["endpoints"].get("secretsmanager")
        found["s3"] = ec2.create_vpc_endpoint(
            VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3", VpcEndpointType="Gateway",
            RouteTableIds=[table_a, table_b])["VpcEndpoint"]["VpcEndpointId"]
    if lattice:
        found["lattice"] = [ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType=kind, SubnetIds=[a, b], **arn)[
            "VpcEndpoint"]["VpcEndpointId"] for kind, arn in (
            ("Resource", {"ResourceConfigurationArn": "arn:aws:vpc-lattice:us-east-1:123456789012:"
                                                      "resourceconfiguration/rcfg-0123456789abcdef0"}),
            ("ServiceNetwork", {"ServiceNetworkArn": "arn:aws:vpc-lattice:us-east-1:123456789012:"
                                                     "servicenetwork/sn-0123456789abcdef0"}))]
    return found


def _invoke(env: dict, *args: str, input: str | None = None):
    return CliRunner().invoke(app, list(args), env=env, input=input)


def _deploy(project: Path, env: dict, app_name: str, vpc: dict, *extra: str):
    return _invoke(env, "deploy", "-C", str(project), "--container-image", IMAGE, "--app-name", app_name,
                   "--existing-vpc-id", vpc["vpc"], "--existing-private-subnet-ids", ",".join(vpc["subnets"]), "-y",
                   *extra)


def _state(project: Path) -> dict:
    return json.loads((project / "terraform.byoc.tfstate").read_text())


def _managed(state: dict) -> dict[str, dict]:
    """address -> attributes of every managed resource instance in ``state``."""
    return {f"{r['type']}.{r['name']}" + (f"[{i['index_key']}]" if "index_key" in i else ""): i["attributes"]
            for r in state["resources"] if r["mode"] == "managed" for i in r["instances"]}


@pytest.fixture(scope="module")
def vpcs(aws_env_module) -> dict:
    ec2 = aws(aws_env_module, "ec2")
    # "reuse": the task-start endpoints and the S3 gateway are the platform's, its private subnets lie in a
    # secondary CIDR block that the endpoints' security group admits, and it has endpoints without a ServiceName.
    return {"reuse": _platform_vpc(ec2, 30, endpoints=TASK_START, secondary=True, lattice=True),
            "fresh": _platform_vpc(ec2, 31)}


def _deployment(synthesized_project, tmp_path_factory, env, name: str, vpc: dict, *, secret: bool) -> dict:
    project = tmp_path_factory.mktemp(name) / "project"
    shutil.copytree(synthesized_project, project)
    ec2 = aws(env, "ec2")
    default_group = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc"]]},
                                                          {"Name": "group-name", "Values": ["default"]}])
    first = _deploy(project, env, f"exvpc-{name}", vpc)
    assert first.exit_code == 0, first.output
    state = _state(project)
    if secret:
        put = _invoke(env, "secret", "put", "-C", str(project), input="pcsk-existing-vpc-test\n")
        assert put.exit_code == 0, put.output
    second = _deploy(project, env, f"exvpc-{name}", vpc)
    outputs = {k: v["value"] for k, v in state["outputs"].items()}
    service = aws(env, "ecs").describe_services(cluster=outputs["ecs_cluster_name"],
                                                 services=[outputs["ecs_service_name"]])["services"][0]
    return {"project": project, "env": env, "vpc": vpc, "first": first.output, "second": second,
            "task_group": service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0],
            "state": state, "outputs": {k: v["value"] for k, v in state["outputs"].items()},
            "default_group_before": default_group["SecurityGroups"]}


@pytest.fixture(scope="module")
def reused(synthesized_project, tmp_path_factory, aws_env_module, vpcs) -> dict:
    """`byoc deploy` into the VPC with its own Secrets Manager endpoint and S3 gateway, `secret
    put` (so that doctor sees running tasks), and `byoc deploy` again."""
    return _deployment(synthesized_project, tmp_path_factory, aws_env_module, "reuse", vpcs["reuse"], secret=True)


@pytest.fixture(scope="module")
def fresh(synthesized_project, tmp_path_factory, aws_env_module, vpcs) -> dict:
    """`byoc deploy` into the VPC without endpoints, and `byoc deploy` again."""
    return _deployment(synthesized_project, tmp_path_factory, aws_env_module, "fresh", vpcs["fresh"], secret=False)


@pytest.mark.terraform
@pytest.mark.emulator
def test_deploy_says_which_endpoints_it_reuses_and_which_it_creates(reused, fresh):
    vpc = reused["vpc"]
    mine = vpc["endpoints"]
    assert (f"VPC endpoints: reusing the VPC's ecr.api ({mine['ecr.api']}), ecr.dkr ({mine['ecr.dkr']}), logs "
            f"({mine['logs']}), secretsmanager ({mine['secretsmanager']}), s3 gateway ({vpc['s3']}); "
            "creating ssm, ec2, sts, kms.") in reused["first"]
    assert ("VPC endpoints: reusing the VPC's none; creating ecr.api, ecr.dkr, logs, ssm, ec2, sts, secretsmanager, "
            "kms, s3 gateway.") in fresh["first"]
    assert f"Existing VPC {vpc['vpc']}: subnets {vpc['subnets'][0]} (us-east-1a)" in reused["first"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_a_second_deploy_plans_no_changes_in_either_vpc(reused, fresh):
    for deployment in (reused, fresh):
        assert deployment["second"].exit_code == 0, deployment["second"].output
        assert "No changes: the deployment already matches these inputs." in deployment["second"].output
        # ... and finds the same endpoints again: its own are never taken for the VPC's.
        first_line = next(line for line in deployment["first"].splitlines() if line.startswith("VPC endpoints:"))
        assert first_line in deployment["second"].output


@pytest.mark.terraform
@pytest.mark.emulator
def test_state_holds_no_network_of_its_own_and_no_reused_endpoint(reused, fresh):
    for deployment in (reused, fresh):
        kinds = {address.split(".")[0] for address in _managed(deployment["state"])}
        assert kinds & OWN_NETWORK == set(), kinds
    assert not [a for a in _managed(reused["state"]) if a.startswith(tuple(
        f"aws_vpc_endpoint.{s.replace('.', '_')}" for s in (*TASK_START, "s3")))]
    assert {"aws_vpc_endpoint.secretsmanager[0]", "aws_vpc_endpoint.s3[0]"} <= set(_managed(fresh["state"]))


@pytest.mark.terraform
@pytest.mark.emulator
def test_secret_policy_names_the_reused_endpoint_or_the_created_one(reused, fresh):
    for deployment, expected in ((reused, reused["vpc"]["secretsmanager"]),
                                 (fresh, _managed(fresh["state"])["aws_vpc_endpoint.secretsmanager[0]"]["id"])):
        outputs = deployment["outputs"]
        assert outputs["secretsmanager_vpce_id"] == expected
        policy = json.loads(aws(deployment["env"], "secretsmanager").get_resource_policy(
            SecretId=outputs["byoc_secret_arn"])["ResourcePolicy"])
        (deny,) = [s for s in policy["Statement"] if s["Sid"] == "DenyReadOutsideVpcEndpoint"]
        assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": expected}}


@pytest.mark.terraform
@pytest.mark.emulator
def test_everything_attaches_to_the_given_vpc_and_subnets(reused, fresh):
    for deployment in (reused, fresh):
        vpc, outputs, ec2 = deployment["vpc"], deployment["outputs"], aws(deployment["env"], "ec2")
        assert outputs["vpc_id"] == vpc["vpc"] and outputs["private_subnet_ids"] == vpc["subnets"]
        managed = _managed(deployment["state"])
        assert {managed[a]["vpc_id"] for a in managed if a.startswith(("aws_security_group.", "aws_vpc_endpoint.",
                                                                       "aws_flow_log."))} == {vpc["vpc"]}
        assert sorted(managed["aws_lb.main"]["subnets"]) == sorted(vpc["subnets"])
        assert sorted(managed["aws_ecs_service.app"]["network_configuration"][0]["subnets"]) == sorted(vpc["subnets"])
        endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc"]]}])["VpcEndpoints"]
        services = [e.get("ServiceName", "").rsplit(".", 1)[-1] for e in endpoints]  # Resource endpoints have none
        assert services.count("secretsmanager") == services.count("s3") == 1  # none twice
        # The VPC's default security group is its owner's: untouched.
        after = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc"]]},
                                                      {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
        assert after == deployment["default_group_before"]
    s3 = _managed(fresh["state"])["aws_vpc_endpoint.s3[0]"]
    assert sorted(s3["route_table_ids"]) == sorted(fresh["vpc"]["tables"])


@pytest.mark.terraform
@pytest.mark.emulator
def test_doctor_and_cost_follow_the_existing_vpc(reused):
    result = _invoke(reused["env"], "doctor", "-C", str(reused["project"]), "--json")
    report = json.loads(result.output)
    assert [c for c in report["static"] + report["live"] if c["result"] == "fail"] == [], result.output
    live = {c["name"]: c for c in report["live"]}
    assert live["VPC endpoints available with private DNS"]["result"] == "pass"
    assert live["route tables: S3 gateway and the way out"]["result"] == "pass"
    estimate = json.loads(_invoke(reused["env"], "cost", "-C", str(reused["project"]), "--json").output)
    quantities = {line["key"]: line["quantity"] for line in estimate["lines"]}
    assert (quantities["nat_gateway"], quantities["public_ipv4"]) == (0, 0)
    mine = reused["vpc"]["endpoints"]
    assert estimate["reused_endpoints"] == sorted([f"s3 gateway {reused['vpc']['s3']}",
                                                   *(f"{svc} {mine[svc]}" for svc in TASK_START)])


def _doctor(deployment) -> dict[str, dict]:
    result = _invoke(deployment["env"], "doctor", "-C", str(deployment["project"]), "--json")
    return {c["name"]: c for c in json.loads(result.output)["live"]} | {"exit": {"result": result.exit_code}}


@pytest.mark.terraform
@pytest.mark.emulator
def test_endpoints_without_a_service_name_are_read_by_deploy_and_doctor(reused):
    """DescribeVpcEndpoints may describe endpoints of type Resource and ServiceNetwork without a
    ServiceName (EC2 API Reference, VpcEndpoint): the reuse VPC has one of each, and both the deploy
    (which reads every endpoint of the VPC before planning) and every live check of doctor read past them."""
    ec2 = aws(reused["env"], "ec2")
    lattice = ec2.describe_vpc_endpoints(VpcEndpointIds=reused["vpc"]["lattice"])["VpcEndpoints"]
    assert {e["VpcEndpointType"] for e in lattice} == {"Resource", "ServiceNetwork"}
    assert not [e for e in lattice if "ServiceName" in e]
    assert "Existing VPC" in reused["first"] and reused["second"].exit_code == 0
    live = _doctor(reused)
    assert not [c for c in live.values() if "could not check" in str(c.get("detail", ""))], live


def _rules(ec2, group: str, *permissions: dict) -> None:
    """Replace every inbound rule of ``group`` with ``permissions``."""
    current = ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    if current:
        ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=current)
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=list(permissions))


def _https(**source) -> dict:
    return {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, **source}


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.parametrize("admitted_by", ["the secondary CIDR block", "the task subnets' CIDRs",
                                         "the task security group"])
def test_doctor_passes_an_endpoint_that_admits_the_tasks_by_any_means_aws_honours(reused, admitted_by):
    """The platform's endpoints (ecr.api, ecr.dkr, logs, secretsmanager) share one security group;
    the tasks run in subnets of the VPC's secondary CIDR block. A rule for that block, one per task
    subnet, or one naming the task security group each admits them: doctor passes, where the old
    check (a rule covering the primary VPC CIDR) failed."""
    ec2, vpc = aws(reused["env"], "ec2"), reused["vpc"]
    task_group = reused["task_group"]
    subnet_cidrs = [s["CidrBlock"] for s in ec2.describe_subnets(SubnetIds=vpc["subnets"])["Subnets"]]
    source = {"the secondary CIDR block": _https(IpRanges=[{"CidrIp": vpc["private_cidr"]}]),
              "the task subnets' CIDRs": _https(IpRanges=[{"CidrIp": c} for c in subnet_cidrs]),
              "the task security group": _https(UserIdGroupPairs=[{"GroupId": task_group}])}[admitted_by]
    _rules(ec2, vpc["group"], source)
    try:
        live = _doctor(reused)
    finally:
        _rules(ec2, vpc["group"], _https(IpRanges=[{"CidrIp": vpc["private_cidr"]}]))
    check = live["endpoint security group admits 443"]
    assert check["result"] == "pass", check
    assert live["exit"]["result"] == 0, live


@pytest.mark.terraform
@pytest.mark.emulator
def test_doctor_fails_an_endpoint_that_admits_only_another_cidr(reused):
    """The VPC's primary CIDR block is not where the tasks are: a rule for it admits none of them."""
    ec2, vpc = aws(reused["env"], "ec2"), reused["vpc"]
    _rules(ec2, vpc["group"], _https(IpRanges=[{"CidrIp": vpc["cidr"]}]))
    try:
        live = _doctor(reused)
    finally:
        _rules(ec2, vpc["group"], _https(IpRanges=[{"CidrIp": vpc["private_cidr"]}]))
    check = live["endpoint security group admits 443"]
    assert check["result"] == "fail" and live["exit"]["result"] == 1, check
    assert f"the secretsmanager endpoint {vpc['secretsmanager']}" in check["detail"]
    assert "admit no tcp/443 from the task subnets" in check["detail"] and "task security group" in check["fix"]


@pytest.fixture(scope="module")
def bad_networks(aws_env_module) -> dict[str, tuple[str, list[str]]]:
    """Existing networks byoc must refuse, by what is wrong: (vpc id, subnet ids)."""
    ec2 = aws(aws_env_module, "ec2")
    good = _platform_vpc(ec2, 40, endpoints=False)
    no_dns = _vpc(ec2, "10.41.0.0/16", dns=False)
    no_dns_subnets = [_private_subnet(ec2, no_dns, f"10.41.{i}.0/24", az, None)[0]
                      for i, az in ((1, "us-east-1a"), (2, "us-east-1b"))]
    other = _platform_vpc(ec2, 42, endpoints=False)
    same_az = _private_subnet(ec2, good["vpc"], "10.40.3.0/24", "us-east-1a", None)[0]
    public, public_table = _private_subnet(ec2, good["vpc"], "10.40.4.0/24", "us-east-1b", None)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=good["vpc"])
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    no_nat = [_private_subnet(ec2, good["vpc"], f"10.40.{i}.0/24", az, None)[0]
              for i, az in ((5, "us-east-1a"), (6, "us-east-1b"))]
    # A platform endpoint the tasks would reuse, each short of what they need in one way.
    one_az = _platform_vpc(ec2, 43, endpoints=("secretsmanager",), endpoint_azs=("us-east-1a",))
    other_cidr = _platform_vpc(ec2, 44, endpoints=("secretsmanager",), admits="192.168.0.0/16")
    deny_all = _platform_vpc(ec2, 45, endpoints=("secretsmanager",), policy=DENY_ALL)
    # A VPC that already has the private zone of Pinecone's PrivateLink hostnames in us-east-1.
    zoned = _platform_vpc(ec2, 46)
    aws(aws_env_module, "route53").create_hosted_zone(
        Name=PINECONE_PRIVATELINK["us-east-1"].dns_zone, CallerReference="platform-pinecone-zone",
        VPC={"VPCRegion": "us-east-1", "VPCId": zoned["vpc"]}, HostedZoneConfig={"PrivateZone": True})
    a, b = good["subnets"]
    return {
        "endpoint_az": (one_az["vpc"], one_az["subnets"]),
        "endpoint_sg": (other_cidr["vpc"], other_cidr["subnets"]),
        "endpoint_policy": (deny_all["vpc"], deny_all["subnets"]),
        "pinecone_zone": (zoned["vpc"], zoned["subnets"]),
        "missing": ("vpc-0123456789abcdef0", [a, b]),
        "dns": (no_dns, no_dns_subnets),
        "other_vpc": (good["vpc"], [a, other["subnets"][1]]),
        "same_az": (good["vpc"], [a, same_az]),
        "public": (good["vpc"], [a, public]),
        "no_nat": (good["vpc"], no_nat),
    }


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.parametrize("case, field, fix", [
    ("missing", "existing_vpc_id", "does not exist in us-east-1"),
    ("dns", "existing_vpc_id", "aws ec2 modify-vpc-attribute --vpc-id"),
    ("other_vpc", "existing_private_subnet_ids", "give two private subnets of"),
    ("same_az", "existing_private_subnet_ids", "give subnets in two different availability zones"),
    ("public", "existing_private_subnet_ids", "give private subnets (no route to an internet gateway"),
    ("no_nat", "existing_private_subnet_ids", "or set nat_mode = none to accept no way out"),
    ("endpoint_az", "existing_vpc_id", "has no subnet in us-east-1b, where the tasks run: aws ec2 modify-vpc-endpoint"),
    ("endpoint_sg", "existing_vpc_id", "admit no tcp/443 from the task subnets subnet-"),
    ("endpoint_policy", "existing_vpc_id", "its policy denies the execution role secretsmanager:GetSecretValue"),
    ("pinecone_zone", "pinecone_privatelink_region", "Route 53 refuses a second zone of one name in one VPC"),
])
def test_a_bad_existing_network_is_refused_before_anything_changes(bad_networks, aws_env_module, tmp_path, case,
                                                                    field, fix):
    vpc, subnets = bad_networks[case]
    ec2 = aws(aws_env_module, "ec2")
    groups_before = len(ec2.describe_security_groups()["SecurityGroups"])
    extra = ("--pinecone-privatelink-region", "us-east-1") if case == "pinecone_zone" else ()
    result = _deploy(tmp_path, aws_env_module, "exvpc-bad", {"vpc": vpc, "subnets": subnets}, *extra)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"byoc: error: {field}: "), line
    assert fix in line, line
    assert list(tmp_path.iterdir()) == []  # no synth, no .byoc: nothing written
    assert len(ec2.describe_security_groups()["SecurityGroups"]) == groups_before  # nothing created


@pytest.mark.terraform
@pytest.mark.emulator
def test_no_way_out_is_accepted_with_nat_mode_none(bad_networks, aws_env_module):
    from cli.core.aws import AwsTarget

    vpc, subnets = bad_networks["no_nat"]
    network = check_network(AwsTarget("us-east-1", aws_env_module["AWS_ENDPOINT_URL"]),
                            inputs(existing_vpc_id=vpc, existing_private_subnet_ids=subnets, nat_mode="none"))
    assert network.way_out is False and "no way out to the internet (nat_mode = none accepts that)" in network.lines[0]


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.parametrize("case, message", [
    ("dns", "existing_vpc_id: the VPC needs enableDnsSupport and enableDnsHostnames on"),
    ("other_vpc", "existing_private_subnet_ids: entry 1 is a subnet of another VPC"),
    ("same_az", "existing_private_subnet_ids: both subnets are in one availability zone"),
])
def test_plain_terraform_plan_stops_on_the_same_bad_networks(bad_networks, aws_env_module, project_copy_module,
                                                             case, message):
    stack_dir = project_copy_module / "cdktf.out" / "stacks" / "byoc"
    if not (stack_dir / ".terraform").is_dir():
        terraform(stack_dir, aws_env_module, "init", "-input=false", "-no-color")
    vpc, subnets = bad_networks[case]
    proc = terraform(stack_dir, aws_env_module, "plan", "-input=false", "-no-color", "-var",
                     f"container_image={IMAGE}", "-var", f"existing_vpc_id={vpc}", "-var",
                     f"existing_private_subnet_ids={json.dumps(subnets)}", ok=(1,))
    assert message in " ".join(proc.stderr.split()), proc.stderr[-3000:]


# --------------------------------------------------------------------------- last: destroy keeps what it did not create

@pytest.mark.terraform
@pytest.mark.emulator
def test_destroy_in_an_existing_vpc_keeps_the_vpc_its_subnets_and_its_reused_endpoints(reused):
    """`byoc destroy` of the deployment that reused the platform's endpoints: the VPC, its subnets,
    route tables, NAT gateway and the endpoints it reused (and the S3 gateway's routes) are still
    there; the endpoints and security groups the stack created are gone."""
    ec2, vpc, env = aws(reused["env"], "ec2"), reused["vpc"], reused["env"]
    reused_ids = [*vpc["endpoints"].values(), vpc["s3"]]
    own = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=[
        {"Name": "vpc-id", "Values": [vpc["vpc"]]}, {"Name": "tag:ManagedBy", "Values": ["byoc"]}])["VpcEndpoints"]]
    assert own  # ssm, ec2, sts, kms: the stack's own
    result = _invoke(env, "destroy", "-C", str(reused["project"]), "-y", "--force-delete-secret")
    assert result.exit_code == 0, result.output
    assert ec2.describe_vpcs(VpcIds=[vpc["vpc"]])["Vpcs"][0]["State"] == "available"
    assert {s["SubnetId"] for s in ec2.describe_subnets(SubnetIds=vpc["subnets"])["Subnets"]} == set(vpc["subnets"])
    assert ec2.describe_nat_gateways(NatGatewayIds=[vpc["nat"]])["NatGateways"][0]["State"] == "available"
    kept = {e["VpcEndpointId"]: e for e in ec2.describe_vpc_endpoints(VpcEndpointIds=reused_ids)["VpcEndpoints"]}
    assert {i: kept[i]["State"] for i in reused_ids} == dict.fromkeys(reused_ids, "available")
    tables = ec2.describe_route_tables(RouteTableIds=vpc["tables"])["RouteTables"]
    assert all(any(r.get("GatewayId") == vpc["s3"] for r in t["Routes"]) for t in tables)
    gone = ec2.describe_vpc_endpoints(VpcEndpointIds=own)["VpcEndpoints"]
    assert {e["State"].lower() for e in gone} == {"deleted"}
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc["vpc"]]}])["SecurityGroups"]
    assert {g["GroupName"] for g in groups} == {"default", "platform-endpoints"}
