"""Hostile input through the CLI and the config file: every case exits 2 with one line naming
the field and the fix, no traceback, and leaves cdktf.out, the state and AWS untouched.

The project under attack has a synthesized cdktf.out and a state file; the AWS behind it is a
moto server on 127.0.0.1 whose resource counts are compared before and after each case.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app

pytestmark = pytest.mark.emulator

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
D = ["deploy", "--auto-approve", "--container-image", IMAGE]

# (id, argv after the command's -C, config file text or None, extra environment, stdin, field named)
CASES = [
    ("vpc-cidr-not-a-cidr", [*D, "--vpc-cidr", "banana"], None, {}, None, "vpc_cidr"),
    ("vpc-cidr-too-large", [*D, "--vpc-cidr", "10.0.0.0/8"], None, {}, None, "vpc_cidr"),
    ("vpc-cidr-host-bits", [*D, "--vpc-cidr", "10.0.0.1/16"], None, {}, None, "vpc_cidr"),
    ("vpc-cidr-ipv6", [*D, "--vpc-cidr", "2001:db8::/56"], None, {}, None, "vpc_cidr"),
    ("subnet-malformed", [*D, "--private-subnet-cidrs", "10.0.1.0/33,10.0.2.0/24"], None, {}, None,
     "private_subnet_cidrs"),
    ("subnets-overlap-each-other", [*D, "--private-subnet-cidrs", "10.0.1.0/24,10.0.1.128/25"], None, {}, None,
     "private_subnet_cidrs"),
    ("subnets-overlap-public", [*D, "--public-subnet-cidrs", "10.0.1.0/24,10.0.103.0/24"], None, {}, None,
     "subnet_cidrs"),
    ("subnet-outside-vpc", [*D, "--public-subnet-cidrs", "10.1.101.0/24,10.0.102.0/24"], None, {}, None,
     "public_subnet_cidrs"),
    ("one-subnet-for-two-azs", [*D, "--private-subnet-cidrs", "10.0.1.0/24"], None, {}, None,
     "private_subnet_cidrs"),
    ("three-subnets-for-two-azs", [*D, "--private-subnet-cidrs", "10.0.1.0/24,10.0.2.0/24,10.0.3.0/24"], None, {},
     None, "private_subnet_cidrs"),
    ("fargate-pair-invalid", [*D, "--task-cpu", "256", "--task-memory", "4096"], None, {}, None, "task_memory"),
    ("fargate-cpu-invalid", [*D, "--task-cpu", "300"], None, {}, None, "task_cpu"),
    ("port-zero", [*D, "--container-port", "0"], None, {}, None, "container_port"),
    ("port-70000", [*D, "--container-port", "70000"], None, {}, None, "container_port"),
    ("port-not-a-number", [*D, "--container-port", "http"], None, {}, None, "--container-port"),
    ("desired-count-negative", [*D, "--desired-count", "-1"], None, {}, None, "desired_count"),
    ("desired-count-fraction", [*D, "--desired-count", "2.5"], None, {}, None, "--desired-count"),
    ("min-above-max", [*D, "--autoscaling-min-capacity", "5", "--autoscaling-max-capacity", "2"], None, {}, None,
     "autoscaling_max_capacity"),
    ("cpu-target-out-of-range", [*D, "--autoscaling-cpu-target", "95"], None, {}, None, "autoscaling_cpu_target"),
    ("image-malformed", ["deploy", "-y", "--container-image", "not an image!"], None, {}, None, "container_image"),
    ("image-empty", ["deploy", "-y", "--container-image", ""], None, {}, None, "container_image"),
    ("image-missing", ["deploy", "-y"], None, {}, None, "container_image"),
    ("reader-arn-short-account", [*D, "--app-reader-principal-arns", "arn:aws:iam::123:role/x"], None, {}, None,
     "app_reader_principal_arns"),
    ("reader-arn-not-iam", [*D, "--app-reader-principal-arns", "arn:aws:s3:::bucket"], None, {}, None,
     "app_reader_principal_arns"),
    ("lockdown-principal-malformed", ["lockdown", "-y", "--principal", "role/reader"], None, {}, None,
     "--principal"),
    ("region-unknown", [*D, "--aws-region", "mars-north-1"], None, {}, None, "aws_region"),
    ("region-upper-case", [*D, "--aws-region", "US-EAST-1"], None, {}, None, "aws_region"),
    ("app-name-characters", [*D, "--app-name", "Byoc_Agents"], None, {}, None, "app_name"),
    ("app-name-too-long", [*D, "--app-name", "a" * 40], None, {}, None, "app_name"),
    ("log-retention-not-offered", [*D, "--log-retention-days", "13"], None, {}, None, "log_retention_days"),
    ("health-path-relative", [*D, "--health-check-path", "health"], None, {}, None, "health_check_path"),
    ("recovery-window-3", [*D, "--secret-recovery-window-days", "3"], None, {}, None,
     "secret_recovery_window_days"),
    ("vpce-service-malformed", [*D, "--pinecone-vpce-services", "pinecone-privatelink"], None, {}, None,
     "pinecone_vpce_services"),
    ("pinecone-account-short", [*D, "--pinecone-aws-account-id", "123", "--pinecone-external-id", "x"], None, {},
     None, "pinecone_aws_account_id"),
    ("external-id-without-account", [*D, "--pinecone-external-id", "ext-123"], None, {}, None,
     "pinecone_external_id"),
    # Issue 7's options.
    ("nat-mode-unknown", [*D, "--nat-mode", "two"], None, {}, None, "--nat-mode"),
    ("endpoint-set-unknown", [*D, "--endpoint-set", "some"], None, {}, None, "--endpoint-set"),
    ("load-balancer-classic", [*D, "--load-balancer-type", "classic"], None, {}, None, "--load-balancer-type"),
    ("certificate-not-acm", [*D, "--certificate-arn", "arn:aws:iam::123456789012:server-certificate/x"], None, {},
     None, "certificate_arn"),
    ("tls-policy-tls10", [*D, "--tls-policy", "ELBSecurityPolicy-2016-08"], None, {}, None, "--tls-policy"),
    ("private-dns-one-label", [*D, "--private-dns-name", "internal"], None, {}, None, "private_dns_name"),
    ("private-dns-injection", [*D, "--private-dns-name", 'api.corp" ; rm -rf /'], None, {}, None,
     "private_dns_name"),
    ("alarm-cpu-over-100", [*D, "--alarm-cpu-percent", "150"], None, {}, None, "alarm_cpu_percent"),
    ("alarm-topic-not-sns", [*D, "--alarm-sns-topic-arn", "arn:aws:sqs:us-east-1:123456789012:q"], None, {}, None,
     "alarm_sns_topic_arn"),
    ("alarm-topic-both-ways", [*D, "--alarm-create-sns-topic", "--alarm-sns-topic-arn",
                               "arn:aws:sns:us-east-1:123456789012:alerts"], None, {}, None, "alarm_create_sns_topic"),
    ("privatelink-region-not-pinecones", [*D, "--aws-region", "ap-south-1", "--pinecone-privatelink-region",
                                          "ap-south-1"], None, {}, None, "--pinecone-privatelink-region"),
    ("privatelink-region-other-than-vpc", [*D, "--pinecone-privatelink-region", "eu-west-1"], None, {}, None,
     "pinecone_privatelink_region"),
    ("ecs-exec-on-read-only-root", [*D, "--ecs-exec"], None, {}, None, "ecs_exec"),
    ("toml-ecs-exec-string", ["deploy", "-y"], f'container_image = "{IMAGE}"\necs_exec = "on"\n', {}, None,
     "ecs_exec"),
    ("toml-invalid", ["deploy", "-y"], "container_image = [unclosed\n", {}, None, "byoc.toml"),
    ("toml-unknown-key", ["deploy", "-y"], f'container_image = "{IMAGE}"\nnat_gateway = 1\n', {}, None,
     "nat_gateway"),
    ("toml-wrong-type-string", ["deploy", "-y"], f'container_image = "{IMAGE}"\ndesired_count = "two"\n', {}, None,
     "desired_count"),
    ("toml-wrong-type-bool", ["deploy", "-y"], f'container_image = "{IMAGE}"\ncontainer_port = true\n', {}, None,
     "container_port"),
    ("toml-list-for-string", ["deploy", "-y"], f'container_image = ["{IMAGE}"]\n', {}, None, "container_image"),
    ("env-not-a-number", [*D], None, {"BYOC_DESIRED_COUNT": "lots"}, None, "BYOC_DESIRED_COUNT"),
    ("flag-not-a-bool", [*D, "--vpc-flow-logs=maybe"], None, {}, None, "--vpc-flow-logs"),
    ("nat-mode-from-environment", [*D], None, {"BYOC_NAT_MODE": "bogus"}, None, "BYOC_NAT_MODE"),
    ("fargate-memory-for-chosen-cpu", [*D, "--task-cpu", "1024", "--task-memory", "64"], None, {}, None,
     "it takes 2048, 3072, 4096, 5120, 6144, 7168 or 8192"),
    ("toml-string-for-bool", ["deploy", "-y"], f'container_image = "{IMAGE}"\nvpc_flow_logs = "yes"\n', {}, None,
     "vpc_flow_logs"),
    ("secret-empty", ["secret", "put"], None, {}, "", "secret value"),
    ("secret-whitespace", ["secret", "put"], None, {}, "  \n\t \n", "secret value"),
    ("secret-on-argv", ["secret", "put", "pcsk_on_argv"], None, {}, None, "command line"),
]


@pytest.fixture(scope="module")
def target(synthesized_project, tmp_path_factory, emulator_module):
    """A synthesized project with a state file, and the emulator's AWS."""
    project = tmp_path_factory.mktemp("hostile") / "project"
    shutil.copytree(synthesized_project, project)
    (project / "terraform.byoc.tfstate").write_text(
        '{"version": 4, "serial": 3, "lineage": "test", "outputs": {}, "resources": [{"mode": "managed"}]}\n')
    (project / ".byoc" / "inputs.tfvars.json").write_text(f'{{"container_image": "{IMAGE}", "aws_region": "us-east-1"}}\n')
    return project, emulator_module


def _files(project: Path) -> dict[str, str]:
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(project.rglob("*")) if p.is_file()}


def _aws(endpoint: str) -> dict[str, int]:
    kw = dict(region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    return {"vpcs": len(boto3.client("ec2", **kw).describe_vpcs()["Vpcs"]),
            "roles": len(boto3.client("iam", **kw).list_roles()["Roles"]),
            "secrets": len(boto3.client("secretsmanager", **kw).list_secrets()["SecretList"]),
            "keys": len(boto3.client("kms", **kw).list_keys()["Keys"])}


@pytest.mark.parametrize("case_id, argv, toml, env, stdin, field", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_exits_2_with_one_line_and_changes_nothing(target, case_id, argv, toml, env, stdin, field):
    project, emu = target
    before_files, before_aws = _files(project), _aws(emu.endpoint_url)
    config = project / "byoc.toml"
    if toml is not None:
        config.write_text(toml)
    words = 2 if argv[0] == "secret" else 1
    try:
        result = CliRunner().invoke(app, [*argv[:words], "-C", str(project), *argv[words:]],
                                    env={**emu.env(), **env}, input=stdin)
    finally:
        config.unlink(missing_ok=True)
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("byoc: error:"), result.output
    assert "Traceback" not in result.output
    assert field in lines[0], lines[0]
    assert _files(project) == before_files
    assert _aws(emu.endpoint_url) == before_aws
