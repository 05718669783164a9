"""`byoc doctor` flags exactly what is broken, with the right advice, and passes when healthy.

Static checks: each root cause of the fix doc written into a copy of the synthesized JSON.
Live checks: one stack deployed with the CLI against a moto server on 127.0.0.1, then broken one
way at a time with boto3 (as someone would by hand) and put back.
"""

from __future__ import annotations

import copy
import json
import shutil

import boto3
import pytest
from typer.testing import CliRunner

from cli import doctor
from cli.doctor.static import static_checks
from cli.main import app

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def failing(checks) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks if c.result == doctor.FAIL}


# ---- static ------------------------------------------------------------------------------------

def test_static_checks_pass_on_the_generated_stack(stack_json):
    assert failing(static_checks(stack_json)) == {}


def _break(stack_json, edit):
    doc = copy.deepcopy(stack_json)
    edit(doc["resource"], doc["data"])
    return failing(static_checks(doc))


def test_static_flags_execution_role_without_secret_grant(stack_json):
    failed = _break(stack_json, lambda r, d: r["aws_iam_role_policy_attachment"].pop("execution_secret_read"))
    assert set(failed) == {"execution role reads the secret"}
    assert "grant_read" in failed["execution role reads the secret"].fix


def test_static_flags_value_from_without_json_key(stack_json):
    def edit(r, d):
        td = r["aws_ecs_task_definition"]["app"]
        td["container_definitions"] = td["container_definitions"].replace(":PINECONE_API_KEY::", "")
    failed = _break(stack_json, edit)
    assert set(failed) == {"valueFrom carries the JSON key"}


def test_static_flags_missing_endpoint_without_nat(stack_json):
    def edit(r, d):
        r["aws_vpc_endpoint"].pop("secretsmanager")
        r.pop("aws_route")
    failed = _break(stack_json, edit)
    assert "endpoints a private task needs" in failed
    assert "secretsmanager" in failed["endpoints a private task needs"].detail


def test_static_warns_missing_endpoint_when_nat_routes_exist(stack_json):
    doc = copy.deepcopy(stack_json)
    doc["resource"]["aws_vpc_endpoint"].pop("ecr_dkr")
    check = {c.name: c for c in static_checks(doc)}["endpoints a private task needs"]
    assert check.result == doctor.WARN and "ecr.dkr" in check.detail


def test_static_flags_endpoint_security_group_without_443(stack_json):
    failed = _break(stack_json, lambda r, d: r["aws_vpc_security_group_ingress_rule"].pop("vpc_endpoints_https"))
    assert set(failed) == {"endpoint security group admits 443"}


def test_static_flags_lockdown_that_drops_the_execution_role(stack_json):
    def edit(r, d):
        for st in d["aws_iam_policy_document"]["secret_policy_locked"]["statement"]:
            for cond in st.get("condition", []):
                if cond["variable"] == "aws:PrincipalArn":
                    cond["values"] = "${var.app_reader_principal_arns}"
    failed = _break(stack_json, edit)
    assert set(failed) == {"locked policy keeps the execution role"}


def test_static_flags_one_role_for_both_jobs(stack_json):
    def edit(r, d):
        r["aws_ecs_task_definition"]["app"]["task_role_arn"] = "${aws_iam_role.execution.arn}"
    assert set(_break(stack_json, edit)) == {"task role differs from execution role"}


def test_static_flags_old_platform_version(stack_json):
    def edit(r, d):
        r["aws_ecs_service"]["app"]["platform_version"] = "1.3.0"
    assert set(_break(stack_json, edit)) == {"platform version supports JSON-key secrets"}


def test_doctor_static_command_needs_no_aws_and_exits_zero(synthesized_project, tmp_path, monkeypatch):
    project = tmp_path / "p"
    shutil.copytree(synthesized_project, project)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(app, ["doctor", "-C", str(project), "--static"])
    assert result.exit_code == 0, result.output
    assert "valueFrom carries the JSON key" in result.output and "Live checks: skipped (--static)" in result.output


# ---- live --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deployed(synthesized_project, tmp_path_factory, emulator_module):
    project = tmp_path_factory.mktemp("doctor") / "project"
    shutil.copytree(synthesized_project, project)
    env = emulator_module.env()
    runner = CliRunner()
    for args, stdin in ((["deploy", "--container-image", IMAGE, "-y"], None),
                        (["secret", "put"], "pcsk-doctor-test\n"),
                        (["lockdown", "-y"], None)):
        result = runner.invoke(app, [*args, "-C", str(project)], env=env, input=stdin)
        assert result.exit_code == 0, result.output
    state = json.loads((project / "terraform.byoc.tfstate").read_text())
    outputs = {k: v["value"] for k, v in state["outputs"].items()}

    def client(service):
        return boto3.client(service, region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"],
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def run_doctor():
        result = runner.invoke(app, ["doctor", "-C", str(project), "--json"], env=env)
        assert result.output.strip(), result.stderr if result.stderr_bytes else result
        report = json.loads(result.output)
        return result.exit_code, {c["name"]: c for c in report["live"] if c["result"] == "fail"}, report

    return {"project": project, "outputs": outputs, "client": client, "doctor": run_doctor}


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_doctor_passes_on_the_healthy_stack(deployed):
    code, failed, report = deployed["doctor"]()
    assert code == 0 and failed == {}, report
    assert len(report["live"]) >= 8 and report["ok"] is True


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_detached_execution_secret_policy(deployed):
    iam, out = deployed["client"]("iam"), deployed["outputs"]
    role = out["ecs_execution_role_arn"].rsplit("/", 1)[-1]
    policy_arn = next(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
                      if p["PolicyName"].endswith("-secret-read"))
    iam.detach_role_policy(RoleName=role, PolicyArn=policy_arn)
    try:
        code, failed, report = deployed["doctor"]()
    finally:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    assert code == 1 and set(failed) == {"execution role can read the secret"}
    assert "secret-read policy to the execution role" in failed["execution role can read the secret"]["fix"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_removed_443_rule(deployed):
    ec2, out = deployed["client"]("ec2"), deployed["outputs"]
    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[out["secretsmanager_vpce_id"]])["VpcEndpoints"][0]
    group = endpoint["Groups"][0]["GroupId"]
    cidr = ec2.describe_vpcs(VpcIds=[out["vpc_id"]])["Vpcs"][0]["CidrBlock"]
    perm = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[perm])
    try:
        code, failed, _ = deployed["doctor"]()
    finally:
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {**perm, "IpRanges": [{"CidrIp": cidr, "Description": "HTTPS from the VPC"}]}])
    assert code == 1 and set(failed) == {"endpoint security group admits 443"}
    assert "tcp/443" in failed["endpoint security group admits 443"]["fix"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_task_definition_revision_without_json_key(deployed):
    ecs, out = deployed["client"]("ecs"), deployed["outputs"]
    svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    containers = td["containerDefinitions"]
    for c in containers:
        for s in c.get("secrets", []):
            s["valueFrom"] = out["byoc_secret_arn"]  # the fix doc's "Was:" form
    new = ecs.register_task_definition(
        family=td["family"], containerDefinitions=containers, executionRoleArn=td["executionRoleArn"],
        taskRoleArn=td["taskRoleArn"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu=td["cpu"], memory=td["memory"])["taskDefinition"]["taskDefinitionArn"]
    try:
        code, failed, _ = deployed["doctor"]()
    finally:
        ecs.deregister_task_definition(taskDefinition=new)
    assert code == 1 and set(failed) == {"task definition injects the JSON key"}
    assert ":PINECONE_API_KEY::" in failed["task definition injects the JSON key"]["fix"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_non_json_secret_value_without_printing_it(deployed):
    sm, out = deployed["client"]("secretsmanager"), deployed["outputs"]
    sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString="pcsk-plain-not-json")
    try:
        code, failed, report = deployed["doctor"]()
    finally:
        sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString='{"PINECONE_API_KEY": "pcsk-doctor-test"}')
    assert code == 1 and set(failed) == {"secret holds JSON with PINECONE_API_KEY"}
    assert "not JSON" in failed["secret holds JSON with PINECONE_API_KEY"]["detail"]
    assert "pcsk-plain-not-json" not in json.dumps(report)


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_secret_policy_narrowed_to_task_role(deployed):
    sm, out = deployed["client"]("secretsmanager"), deployed["outputs"]
    original = sm.get_resource_policy(SecretId=out["byoc_secret_arn"])["ResourcePolicy"]
    doc = json.loads(original)
    for st in doc["Statement"]:
        for pairs in st.get("Condition", {}).values():
            if "aws:PrincipalArn" in pairs:
                pairs["aws:PrincipalArn"] = [out["ecs_task_role_arn"]]  # the seed's step 5, taken literally
    sm.put_resource_policy(SecretId=out["byoc_secret_arn"], ResourcePolicy=json.dumps(doc))
    try:
        code, failed, _ = deployed["doctor"]()
    finally:
        sm.put_resource_policy(SecretId=out["byoc_secret_arn"], ResourcePolicy=original)
    check = failed.get("secret policy: roles read, only via the endpoint")
    assert code == 1 and set(failed) == {"secret policy: roles read, only via the endpoint"}
    assert "execution role may not read" in check["detail"] and "byoc lockdown" in check["fix"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_live_flags_deleted_secretsmanager_endpoint(deployed):
    """Last: not put back (the stack is destroyed with the emulator)."""
    ec2, out = deployed["client"]("ec2"), deployed["outputs"]
    ec2.delete_vpc_endpoints(VpcEndpointIds=[out["secretsmanager_vpce_id"]])
    code, failed, _ = deployed["doctor"]()
    assert code == 1
    assert "VPC endpoints available with private DNS" in failed
    assert "secretsmanager missing" in failed["VPC endpoints available with private DNS"]["detail"]
    assert set(failed) == {"VPC endpoints available with private DNS"}
