"""Python-side input validation (``stacks.inputs.validate``): the checks the CLI runs before
anything touches terraform or AWS. Each bad value must come back as an error naming its field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stacks.inputs import BY_NAME, INPUTS, defaults, validate

REPO = Path(__file__).resolve().parents[1]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"


def _valid(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


def test_defaults_plus_an_image_are_valid():
    assert validate(_valid()) == []


def test_only_container_image_is_required():
    assert [i.name for i in INPUTS if i.required] == ["container_image"]
    assert defaults()["app_name"] == "byoc-agents"
    assert defaults()["app_reader_principal_arns"] == []


def test_missing_container_image_is_reported_by_name():
    errors = validate(defaults())
    assert [e.field for e in errors] == ["container_image"]
    assert "container_image" in errors[0].message and "required" in errors[0].message


@pytest.mark.parametrize(("overrides", "field"), [
    pytest.param({"task_cpu": 256, "task_memory": 4096}, "task_memory", id="fargate-pair"),
    pytest.param({"task_cpu": 300}, "task_cpu", id="task-cpu-not-fargate"),
    pytest.param({"container_port": 70000}, "container_port", id="port-too-high"),
    pytest.param({"container_port": 0}, "container_port", id="port-zero"),
    pytest.param({"container_port": 80.5}, "container_port", id="port-fraction"),
    pytest.param({"vpc_cidr": "banana"}, "vpc_cidr", id="vpc-cidr-not-a-cidr"),
    pytest.param({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr", id="vpc-cidr-too-large-for-aws"),
    pytest.param({"private_subnet_cidrs": ["10.1.1.0/24", "10.1.2.0/24"]}, "private_subnet_cidrs",
                 id="private-subnets-outside-vpc"),
    pytest.param({"public_subnet_cidrs": ["10.0.101.0/24"]}, "public_subnet_cidrs", id="one-public-subnet"),
    pytest.param({"public_subnet_cidrs": ["10.0.1.0/24", "10.0.102.0/24"]}, "private_subnet_cidrs",
                 id="public-overlaps-private"),
    pytest.param({"app_reader_principal_arns": ["not-an-arn"]}, "app_reader_principal_arns", id="reader-not-arn"),
    pytest.param({"app_reader_principal_arns": ["arn:aws:s3:::bucket"]}, "app_reader_principal_arns",
                 id="reader-not-iam"),
    pytest.param({"app_name": "Byoc_Agents"}, "app_name", id="app-name-uppercase"),
    pytest.param({"app_name": "a" * 40}, "app_name", id="app-name-too-long"),
    pytest.param({"container_image": "not an image"}, "container_image", id="image-with-spaces"),
    pytest.param({"aws_region": "moon-1"}, "aws_region", id="region"),
    pytest.param({"log_retention_days": 0}, "log_retention_days", id="log-retention-never"),
    pytest.param({"pinecone_external_id": "abc"}, "pinecone_external_id", id="external-id-without-account"),
    pytest.param({"pinecone_aws_account_id": "12345"}, "pinecone_aws_account_id", id="account-id-short"),
    pytest.param({"autoscaling_min_capacity": 5, "autoscaling_max_capacity": 2}, "autoscaling_max_capacity",
                 id="autoscaling-max-below-min"),
    pytest.param({"health_check_path": "health"}, "health_check_path", id="health-path-relative"),
    pytest.param({"secret_recovery_window_days": 3}, "secret_recovery_window_days", id="recovery-window"),
])
def test_bad_value_is_reported_with_its_field_name(overrides, field):
    errors = validate(_valid(**overrides))
    # The first error is the bad field's own (a knock-on error may follow, e.g. task_memory
    # after an invalid task_cpu), and its message names the field.
    assert errors and errors[0].field == field, errors
    assert field in errors[0].message, errors[0].message


def test_unknown_input_is_reported_and_known_ones_listed():
    errors = validate(_valid(contaner_port=8080))
    assert [e.field for e in errors] == ["contaner_port"]
    assert "container_port" in errors[0].message


def test_every_problem_is_reported_not_only_the_first():
    errors = validate(_valid(container_port=70000, vpc_cidr="banana", app_name="X"))
    assert {e.field for e in errors} == {"container_port", "vpc_cidr", "app_name"}


def test_pinecone_trust_inputs_are_valid_as_a_pair():
    assert validate(_valid(pinecone_aws_account_id="123456789012", pinecone_external_id="ext-id-1")) == []


def test_every_input_has_a_description_and_a_message_per_check():
    for spec in INPUTS:
        assert spec.description.strip(), spec.name
        for hcl, _ok, message in spec.checks:
            assert hcl.strip() and spec.name in message, (spec.name, message)
    assert set(BY_NAME) == {i.name for i in INPUTS}


def test_importing_inputs_never_loads_jsii():
    code = "import sys, stacks.inputs; sys.exit(1 if 'jsii' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
