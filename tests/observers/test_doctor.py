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
import time

import pytest
from typer.testing import CliRunner

from cli.observers import doctor
from cli.observers.doctor import access, evaluator, network, posture, runtime
from cli.observers.doctor.live import all_checks
from cli.observers.doctor.static import static_checks
from cli.core.aws import AwsTarget
from cli.observers.service import wait_for_rollout
from cli.main import app
from tfrun import stopped_of

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


def test_the_readmes_doctor_table_lists_every_live_check_in_order_with_its_severity():
    """The README's table is the user's map from a check to its severity, fix doc and runbook."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("| live check | what it asks (read-only) | when not met |"):]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]
            if line.startswith("| ")]
    rows = rows[:len(all_checks())]
    assert [r[0] for r in rows] == [name for name, _ in all_checks()]
    posture_checks = {name for name, _ in posture.CHECKS}
    assert {r[0]: r[2] for r in rows if r[0] in posture_checks} == dict.fromkeys(posture_checks, "WARN")
    assert all(r[2].startswith("FAIL") for r in rows if r[0] not in posture_checks)


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
    assert [c["name"] for c in report["live"]] == [name for name, _ in all_checks()] and report["ok"] is True
    by_name = {c["name"]: c for c in report["live"]}
    # The emulator answers IAM's policy simulator with the independent evaluator (gap 11): both sources
    # give verdicts, named in the detail. Access Analyzer it does not offer: said, and never a PASS.
    from cli.observers.verdicts import SIMULATOR

    assert by_name[evaluator.READS]["result"] == "pass", by_name[evaluator.READS]
    assert SIMULATOR in by_name[evaluator.READS]["detail"] and "iam-simulate" in by_name[evaluator.READS]["detail"]
    # AWS's validators: the emulator answers them with the independent evaluator, and says what of them it is.
    public = by_name[evaluator.PUBLIC]
    assert public["result"] == "pass", public
    for source in ("Secrets Manager ValidateResourcePolicy", "IAM Access Analyzer ValidatePolicy",
                   "IAM Access Analyzer CheckNoPublicAccess"):
        assert f"the secret policy: {source} (the emulator: " in public["detail"], public
    assert "the key policy: IAM Access Analyzer CheckNoPublicAccess (the emulator: " in public["detail"], public
    # The image is on public ECR: not this account's registry, so not checked, and said so.
    assert by_name[runtime.IMAGE]["result"] == "skip" and IMAGE in by_name[runtime.IMAGE]["detail"]
    passing = set(by_name) - {evaluator.READS, runtime.IMAGE, runtime.STOPPED}
    assert {n for n in passing if by_name[n]["result"] != "pass"} == set(), report


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
    # byoc's reader and the independent evaluator, over the documents AWS holds, agree.
    assert code == 1 and set(failed) == {"execution role can read the secret", evaluator.READS}
    assert "secret-read policy to the execution role" in failed["execution role can read the secret"]["fix"]


@live_marks
def test_live_flags_endpoint_security_group_without_its_443_rule(deployed_stack):
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
def test_check_value_from_outside_the_endpoint_is_denied_by_the_policy_and_said_so_never_passed(deployed_stack):
    """--check-value reads the plaintext, which the secret policy lets only the endpoint's callers
    do: from the operator's machine AWS (and the emulator, which evaluates the policy) answers
    AccessDenied. The check then says it could not read the content — a WARN, never a PASS, even
    with a value that is not JSON — and nothing of the value reaches the report."""
    sm, out = deployed_stack.client("secretsmanager"), deployed_stack.outputs
    sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString="pcsk-plain-not-json")
    try:
        code, failed, report = deployed_stack.doctor("--check-value")
    finally:
        sm.put_secret_value(SecretId=out["byoc_secret_arn"], SecretString=json.dumps({"PINECONE_API_KEY": deployed_stack.sentinel}))
    (check,) = [c for c in report["live"] if c["name"] == "secret has a current value"]
    assert check["result"] == "warn", check
    assert "readable only through the VPC endpoint" in check["detail"] and "inside the VPC" in check["fix"]
    assert "pcsk-plain-not-json" not in json.dumps(report)
    assert "secret has a current value" not in failed


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
    # byoc's reader and the independent evaluator, over the documents AWS holds, agree.
    assert code == 1 and set(failed) == {"secret policy: roles read, only via the endpoint", evaluator.READS}
    assert "is not on the reader list" in check["detail"] and "byoc lockdown" in check["fix"]
    assert "byoc-agents-execution-role GetSecretValue via vpce-" in failed[evaluator.READS]["detail"]


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


# ---- the runbook's checks: one thing broken by hand each, exactly that check fails ---------------

def _service(stack) -> dict:
    out = stack.outputs
    return stack.client("ecs").describe_services(cluster=out["ecs_cluster_name"],
                                                 services=[out["ecs_service_name"]])["services"][0]


def _task_subnets(stack) -> list[str]:
    return _service(stack)["networkConfiguration"]["awsvpcConfiguration"]["subnets"]


@live_marks
def test_live_flags_task_security_group_without_443_egress(deployed_stack):
    ec2 = deployed_stack.client("ec2")
    group = _service(deployed_stack)["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0]
    perm = next(p for p in ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"]
                if p.get("FromPort") == 443)
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[perm])
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:  # a rule put back by hand is a new rule to terraform: it restores its own
        deployed_stack.redeploy()
    assert code == 1 and set(failed) == {network.TASK_EGRESS}, failed
    assert "S3 prefix list" in failed[network.TASK_EGRESS]["detail"]
    assert "outbound rule tcp/443" in failed[network.TASK_EGRESS]["fix"]


@live_marks
def test_live_flags_network_acl_that_blocks_the_return_path(deployed_stack):
    """ACLs are stateless: 443 may leave a task subnet and the replies still be dropped on their way
    back (to the ephemeral ports). The tasks' ACL admits no inbound tcp 1024-65535: the replies from
    the endpoints in the other AZ's subnet and from S3 are denied, and doctor says which rule."""
    ec2 = deployed_stack.client("ec2")
    subnet = _task_subnets(deployed_stack)[0]
    acl = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]
    entry = {"NetworkAclId": acl["NetworkAclId"], "RuleNumber": 60, "Egress": False}
    ec2.create_network_acl_entry(**entry, Protocol="6", RuleAction="deny", CidrBlock="0.0.0.0/0",
                                 PortRange={"From": 1024, "To": 65535})
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        ec2.delete_network_acl_entry(**entry)
    assert code == 1 and set(failed) == {network.NACLS}, failed
    detail = failed[network.NACLS]["detail"]
    assert "inbound replies from the endpoints" in detail and "rule 60 denies 1024-65535" in detail
    assert "inbound replies from S3: rule 60 denies 1024-65535" in detail
    assert "outbound 443" not in detail  # the way out is open: only the way back is shut


@live_marks
def test_live_flags_network_acl_that_denies_443_out(deployed_stack):
    ec2 = deployed_stack.client("ec2")
    subnet = _task_subnets(deployed_stack)[0]
    acl = ec2.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]
    entry = {"NetworkAclId": acl["NetworkAclId"], "RuleNumber": 50, "Egress": True}
    ec2.create_network_acl_entry(**entry, Protocol="6", RuleAction="deny", CidrBlock="0.0.0.0/0",
                                 PortRange={"From": 443, "To": 443})
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        ec2.delete_network_acl_entry(**entry)
    assert code == 1 and set(failed) == {network.NACLS}, failed
    assert "rule 50 denies 443-443" in failed[network.NACLS]["detail"]
    assert "lowest number first" in failed[network.NACLS]["fix"]


@live_marks
def test_live_flags_task_subnet_without_the_s3_gateway_route(deployed_stack):
    ec2, subnet = deployed_stack.client("ec2"), _task_subnets(deployed_stack)[0]
    table = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["RouteTables"][0]
    route = next(r for r in table["Routes"] if r.get("DestinationPrefixListId"))
    ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationPrefixListId=route["DestinationPrefixListId"])
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        ec2.create_route(RouteTableId=table["RouteTableId"], DestinationPrefixListId=route["DestinationPrefixListId"],
                         GatewayId=route["GatewayId"])
    assert code == 1 and set(failed) == {network.ROUTES}, failed
    assert "no route to the S3 gateway endpoint" in failed[network.ROUTES]["detail"]


@live_marks
def test_live_flags_vpc_dns_hostnames_off(deployed_stack):
    ec2, vpc = deployed_stack.client("ec2"), deployed_stack.outputs["vpc_id"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": False})
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    assert code == 1 and set(failed) == {network.DNS}, failed
    assert "enableDnsHostnames off" in failed[network.DNS]["detail"]
    assert "--enable-dns-hostnames" in failed[network.DNS]["fix"]


@live_marks
def test_live_flags_endpoint_missing_from_an_az_of_the_tasks(deployed_stack):
    ec2, vpce = deployed_stack.client("ec2"), deployed_stack.outputs["secretsmanager_vpce_id"]
    subnets = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]["SubnetIds"]
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce, RemoveSubnetIds=subnets[1:])
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddSubnetIds=subnets[1:])
    assert code == 1 and set(failed) == {network.ENDPOINT_AZS}, failed
    assert "secretsmanager has no subnet in" in failed[network.ENDPOINT_AZS]["detail"]


@live_marks
def test_live_flags_kms_key_policy_that_breaks_decrypt(deployed_stack):
    kms, key = deployed_stack.client("kms"), deployed_stack.outputs["kms_key_arn"]
    original = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    doc = json.loads(original)
    doc["Statement"] = [s for s in doc["Statement"] if ":root" not in json.dumps(s.get("Principal"))]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(doc), BypassPolicyLockoutSafetyCheck=True)
    try:
        code, failed, _ = deployed_stack.doctor()
    finally:
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=original)
    # Without the account's delegation the independent evaluator denies the roles' decrypt too.
    assert code == 1 and set(failed) == {access.KEY, evaluator.READS}
    assert "does not let the account (IAM) use the key" in failed[access.KEY]["detail"]


@live_marks
def test_rotation_off_is_a_posture_warning_and_doctor_exits_0(deployed_stack):
    """A key that does not rotate still decrypts: no task fails, nothing is exposed."""
    kms, key = deployed_stack.client("kms"), deployed_stack.outputs["kms_key_arn"]
    kms.disable_key_rotation(KeyId=key)
    try:
        code, failed, report = deployed_stack.doctor()
    finally:
        kms.enable_key_rotation(KeyId=key)
    by_name = {c["name"]: c for c in report["live"]}
    assert code == 0 and failed == {} and report["ok"] is True, report
    assert by_name[posture.ROTATION]["result"] == "warn" and "rotation is off" in by_name[posture.ROTATION]["detail"]
    assert by_name[access.KEY]["result"] == "pass"


@live_marks
def test_live_checks_an_ecr_image_of_this_account_exists_and_may_be_pulled(deployed_stack):
    ecs, ecr, out = deployed_stack.client("ecs"), deployed_stack.client("ecr"), deployed_stack.outputs
    account = out["ecs_task_role_arn"].split(":")[4]
    repo = "byoc-doctor-probe"
    ecr.create_repository(repositoryName=repo)
    td = ecs.describe_task_definition(taskDefinition=_service(deployed_stack)["taskDefinition"])["taskDefinition"]
    containers = td["containerDefinitions"]
    for c in containers:
        c["image"] = f"{account}.dkr.ecr.us-east-1.amazonaws.com/{repo}:v1"
    new = ecs.register_task_definition(
        family=td["family"], containerDefinitions=containers, executionRoleArn=td["executionRoleArn"],
        taskRoleArn=td["taskRoleArn"], networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu=td["cpu"], memory=td["memory"])["taskDefinition"]["taskDefinitionArn"]
    try:
        missing = deployed_stack.doctor()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"digest": "sha256:" + "0" * 64, "size": 1}, "layers": []})
        ecr.put_image(repositoryName=repo, imageManifest=manifest, imageTag="v1")
        present = deployed_stack.doctor()
        ecr.set_repository_policy(repositoryName=repo, policyText=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "NoPulls", "Effect": "Deny", "Principal": {"AWS": out["ecs_execution_role_arn"]},
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]}))
        blocked = deployed_stack.doctor()
    finally:
        ecs.deregister_task_definition(taskDefinition=new)
        ecr.delete_repository(repositoryName=repo, force=True)
    assert missing[0] == 1 and set(missing[1]) == {runtime.IMAGE}, missing[1]
    assert "no such image" in missing[1][runtime.IMAGE]["detail"]
    assert present[0] == 0, present[2]
    assert blocked[0] == 1 and set(blocked[1]) == {runtime.IMAGE}, blocked[1]
    assert "repository policy denies the execution role" in blocked[1][runtime.IMAGE]["detail"]


@live_marks
def test_live_explains_the_stopped_tasks_of_a_failing_deployment(deployed_stack, monkeypatch):
    """New tasks that cannot pull the image (the emulator's fault switch stands in for AWS) while
    the old ones keep serving: only the stopped-tasks check fails, with AWS's reason explained.
    The circuit breaker is off for the test, so the failing deployment stays the current one."""
    ecs, out = deployed_stack.client("ecs"), deployed_stack.outputs
    cluster, name = out["ecs_cluster_name"], out["ecs_service_name"]
    for key, value in deployed_stack.env.items():  # the emulator's credentials, for the wait below
        monkeypatch.setenv(key, value)
    config = _service(deployed_stack)["deploymentConfiguration"]
    deployed_stack.emulator.set_faults(image="missing")
    try:
        primary = ecs.update_service(
            cluster=cluster, service=name, forceNewDeployment=True,
            deploymentConfiguration={**config, "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
        )["service"]["deployments"][0]["id"]
        for _ in range(60):  # until a task of the new deployment has stopped
            if stopped_of(ecs, cluster, name, primary):
                break
            time.sleep(0.5)
        code, failed, report = deployed_stack.doctor()
    finally:
        deployed_stack.emulator.set_faults(image=None)
        ecs.update_service(cluster=cluster, service=name, forceNewDeployment=True, deploymentConfiguration=config)
        wait_for_rollout(AwsTarget("us-east-1", deployed_stack.env["AWS_ENDPOINT_URL"]), cluster, name,
                         say=lambda _line: None, timeout=120)
    assert code == 1 and set(failed) == {runtime.STOPPED}, failed
    check = failed[runtime.STOPPED]
    assert "of the current deployment failed" in check["detail"] and "CannotPullContainerError" in check["detail"]
    assert "the image cannot be pulled" in check["fix"]
    # Once a later deployment is healthy, those failures are history: a warning, not a failure.
    code, failed, report = deployed_stack.doctor()
    after = {c["name"]: c for c in report["live"]}[runtime.STOPPED]
    assert code == 0 and after["result"] == "warn" and "earlier deployments" in after["detail"]
