"""Real terraform on the synthesized JSON: offline init through the provider mirror, validate,
and the variables' validation blocks rejecting bad input with the stack's own message.

The project is copied and initialized once for the module; every test reuses it. The many bad
inputs are planned against the stack's own ``variable`` blocks alone (``variables_only``: the
synthesized JSON's variables, unchanged, in a configuration without resources or providers), so
each plan is real terraform evaluating the same validations in a fraction of a second instead of
loading the AWS provider; one case runs on the whole stack too, to show the two agree.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stacks import STACK_NAME
from tfrun import terraform as run_terraform
from tfrun import variables_only

pytestmark = pytest.mark.terraform

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"


def terraform(stack_dir: Path, env: dict[str, str], *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return run_terraform(stack_dir, env, *args, ok=None, timeout=timeout)  # callers judge the exit code


@pytest.fixture(scope="module")
def initialized(project_copy_module, terraform_rc) -> Path:
    """The module's project copy after `terraform init` (offline: hashicorp/aws from the mirror)."""
    stack_dir = project_copy_module / "cdktf.out" / "stacks" / STACK_NAME
    proc = terraform(stack_dir, {"TF_CLI_CONFIG_FILE": str(terraform_rc)}, "init", "-input=false", "-no-color")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return stack_dir


def test_init_offline_installs_the_pinned_aws_provider(initialized):
    lock = (initialized / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert 'version     = "5.100.0"' in lock


def test_validate_passes_without_warnings(initialized, terraform_rc):
    proc = terraform(initialized, {"TF_CLI_CONFIG_FILE": str(terraform_rc)}, "validate", "-json", "-no-color")
    result = json.loads(proc.stdout)
    assert proc.returncode == 0 and result["valid"], proc.stdout + proc.stderr
    assert result["error_count"] == 0 and result["warning_count"] == 0, result["diagnostics"]


def _diagnostics(stdout: str) -> list[dict]:
    found = []
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("type") == "diagnostic" and message["diagnostic"]["severity"] == "error":
            found.append(message["diagnostic"])
    return found


@pytest.mark.parametrize(("variables", "field", "message"), [
    pytest.param(["task_cpu=256", "task_memory=4096"], "task_memory",
                 "task_memory is not a valid Fargate size for task_cpu", id="fargate-pair"),
    pytest.param(["container_port=70000"], "container_port",
                 "container_port must be a whole number from 1 to 65535", id="port"),
    pytest.param(['app_reader_principal_arns=["not-an-arn"]'], "app_reader_principal_arns",
                 "every app_reader_principal_arns entry must be an IAM ARN", id="reader-arn"),
    pytest.param(['private_subnet_cidrs=["10.1.1.0/24","10.1.2.0/24"]'], "private_subnet_cidrs",
                 "every entry of private_subnet_cidrs must lie inside vpc_cidr", id="subnets-outside-vpc"),
    pytest.param(["vpc_cidr=10.0.0.0/8"], "vpc_cidr",
                 "vpc_cidr must be an IPv4 CIDR with a prefix from /16 to /28", id="vpc-cidr-too-large"),
    pytest.param(["vpc_cidr=banana"], "vpc_cidr",
                 "vpc_cidr must be an IPv4 CIDR", id="vpc-cidr-banana"),
    pytest.param(["nat_mode=two"], "nat_mode", "nat_mode must be one of per_az, single, none", id="nat-mode"),
    pytest.param(["tls_policy=ELBSecurityPolicy-2016-08"], "tls_policy", "tls_policy must be one of", id="tls-1.0"),
    pytest.param(["private_dns_name=internal"], "private_dns_name", "private_dns_name must be a lower-case DNS name",
                 id="dns-one-label"),
    pytest.param(["alarm_create_sns_topic=true", "alarm_sns_topic_arn=arn:aws:sns:us-east-1:123456789012:alerts"],
                 "alarm_create_sns_topic", "alarm_create_sns_topic and alarm_sns_topic_arn exclude each other",
                 id="alarm-topic-both-ways"),
    pytest.param(["pinecone_privatelink_region=eu-west-1"], "pinecone_privatelink_region",
                 "pinecone_privatelink_region must be empty or equal aws_region", id="privatelink-other-region"),
])
def test_terraform_rejects_bad_input_with_the_field_and_message(variables_config, variables, field, message):
    _assert_rejected(variables_config, {}, variables, field, message)


def test_the_whole_stack_rejects_bad_input_as_its_variables_alone_do(initialized, aws_env):
    _assert_rejected(initialized, aws_env, ["task_cpu=256", "task_memory=4096"], "task_memory",
                     "task_memory is not a valid Fargate size for task_cpu")


@pytest.fixture(scope="module")
def variables_config(stack_json, tmp_path_factory) -> Path:
    return variables_only(stack_json, tmp_path_factory.mktemp("variables"))


def _assert_rejected(stack_dir: Path, env: dict[str, str], variables: list[str], field: str, message: str) -> None:
    args = ["plan", "-input=false", "-json", "-lock=false", "-var", f"container_image={IMAGE}"]
    for assignment in variables:
        args += ["-var", assignment]
    proc = terraform(stack_dir, env, *args)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr
    errors = _diagnostics(proc.stdout)
    assert errors, proc.stdout[-3000:] + proc.stderr
    # Every error is the variable's own validation message, pointing at that variable.
    for diagnostic in errors:
        assert diagnostic["summary"] == "Invalid value for variable", diagnostic
        assert diagnostic["detail"].startswith(message), diagnostic["detail"]
        assert diagnostic["snippet"]["code"].strip().startswith(f'"{field}"'), diagnostic["snippet"]


def test_terraform_requires_container_image(variables_config):
    proc = terraform(variables_config, {}, "plan", "-input=false", "-json", "-lock=false")
    assert proc.returncode == 1
    (error,) = _diagnostics(proc.stdout)
    assert error["summary"] == "No value for required variable"
    assert '"container_image"' in error["detail"]
