"""`byoc doctor` flags exactly what is broken, with the right advice, and passes when healthy.

Static checks: each root cause of the fix doc written into a copy of the synthesized JSON.
Live checks: the session's shared deployment (``deployed_stack``: deployed with the CLI against a
moto server on 127.0.0.1), broken one way at a time with boto3 (as someone would by hand) and put
back.
"""

from __future__ import annotations

import copy
import json
import shutil

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

# The session's shared deployment (conftest.py): each test breaks one thing and puts it back.
def live_marks(test):
    for mark in (pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")):
        test = mark(test)
    return test


@live_marks
def test_live_doctor_passes_on_the_healthy_stack(deployed_stack):
    code, failed, report = deployed_stack.doctor()
    assert code == 0 and failed == {}, report
    assert len(report["live"]) >= 8 and report["ok"] is True


@live_marks
def test_live_flags_detached_execution_secret_policy(deployed_stack):
    iam, out = deployed_stack.client("iam"), deployed_stack.outputs
    role = out["ecs_execution_role_arn"].rsplit("/", 1)[-1]
    policy_arn = next(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
                      if p["PolicyName"].endswith("-secret-read"))
    iam.detach_role_policy(RoleName=role, PolicyArn=policy_arn)
    try:
        code, failed, report = deployed_stack.doctor()
    finally:
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
    assert code == 1 and set(failed) == {"execution role can read the secret"}
    assert "secret-read policy to the execution role" in failed["execution role can read the secret"]["fix"]


@live_marks
def test_live_flags_removed_443_rule(deployed_stack):
    ec2, out = deployed_stack.client("ec2"), deployed_stack.outputs
    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[out["secretsmanager_vpce_id"]])["VpcEndpoints"][0]
    group = endpoint["Groups"][0]["GroupId"]
    cidr = ec2.describe_vpcs(VpcIds=[out["vpc_id"]])["Vpcs"][0]["CidrBlock"]
    perm = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": cidr}]}
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[perm])
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:  # a rule added back by hand would be a new rule to terraform: it puts its own back
        deployed_stack.redeploy()
    assert code == 1 and set(failed) == {"endpoint security group admits 443"}
    assert "tcp/443" in failed["endpoint security group admits 443"]["fix"]


@live_marks
def test_live_flags_task_definition_revision_without_json_key(deployed_stack):
    ecs, out = deployed_stack.client("ecs"), deployed_stack.outputs
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
        code, failed, _ = deployed_stack.doctor()
    finally:
        ecs.deregister_task_definition(taskDefinition=new)
    assert code == 1 and set(failed) == {"task definition injects the JSON key"}
    assert ":PINECONE_API_KEY::" in failed["task definition injects the JSON key"]["fix"]


@live_marks
def test_live_flags_non_json_secret_value_without_printing_it(deployed_stack):
    sm, out = deployed_stack.client("secretsmanager"), deployed_stack.outputs
    sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString="pcsk-plain-not-json")
    try:
        code, failed, report = deployed_stack.doctor()
    finally:
        sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString=json.dumps({"PINECONE_API_KEY": deployed_stack.sentinel}))
    assert code == 1 and set(failed) == {"secret holds JSON with PINECONE_API_KEY"}
    assert "not JSON" in failed["secret holds JSON with PINECONE_API_KEY"]["detail"]
    assert "pcsk-plain-not-json" not in json.dumps(report)


@live_marks
def test_live_flags_secret_policy_narrowed_to_task_role(deployed_stack):
    sm, out = deployed_stack.client("secretsmanager"), deployed_stack.outputs
    original = sm.get_resource_policy(SecretId=out["byoc_secret_arn"])["ResourcePolicy"]
    doc = json.loads(original)
    for st in doc["Statement"]:
        for pairs in st.get("Condition", {}).values():
            if "aws:PrincipalArn" in pairs:
                pairs["aws:PrincipalArn"] = [out["ecs_task_role_arn"]]  # the seed's step 5, taken literally
    sm.put_resource_policy(SecretId=out["byoc_secret_arn"], ResourcePolicy=json.dumps(doc))
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        sm.put_resource_policy(SecretId=out["byoc_secret_arn"], ResourcePolicy=original)
    check = failed.get("secret policy: roles read, only via the endpoint")
    assert code == 1 and set(failed) == {"secret policy: roles read, only via the endpoint"}
    assert "execution role may not read" in check["detail"] and "byoc lockdown" in check["fix"]


@live_marks
def test_live_flags_deleted_secretsmanager_endpoint(deployed_stack):
    ec2, out = deployed_stack.client("ec2"), deployed_stack.outputs
    ec2.delete_vpc_endpoints(VpcEndpointIds=[out["secretsmanager_vpce_id"]])
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:  # a new endpoint (a new id, which the secret policy then names): terraform puts it back
        deployed_stack.redeploy()
    assert code == 1
    assert "VPC endpoints available with private DNS" in failed
    assert "secretsmanager missing" in failed["VPC endpoints available with private DNS"]["detail"]
    assert set(failed) == {"VPC endpoints available with private DNS"}
