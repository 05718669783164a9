"""The input table (``stacks.inputs``) and how ``validate`` reports: the one required input, unknown
inputs, every problem at once, a message per check. Which values each input accepts and refuses,
in Python and in terraform, is tests/stack/test_input_parity.py's table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stacks.inputs import BY_NAME, INPUTS, defaults, validate

REPO = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"


def _valid(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


def test_only_container_image_is_required():
    assert [i.name for i in INPUTS if i.required] == ["container_image"]
    assert defaults()["app_name"] == "byoc-agents"
    assert defaults()["app_reader_principal_arns"] == []


def test_missing_container_image_is_reported_by_name():
    errors = validate(defaults())
    assert [e.field for e in errors] == ["container_image"]
    assert "container_image" in errors[0].message and "required" in errors[0].message


def test_unknown_input_is_reported_and_known_ones_listed():
    errors = validate(_valid(contaner_port=8080))
    assert [e.field for e in errors] == ["contaner_port"]
    assert "container_port" in errors[0].message


def test_every_problem_is_reported_not_only_the_first():
    errors = validate(_valid(container_port=70000, vpc_cidr="banana", app_name="X"))
    assert {e.field for e in errors} == {"container_port", "vpc_cidr", "app_name"}


def test_every_input_has_a_description_and_a_message_per_check():
    for spec in INPUTS:
        assert spec.description.strip(), spec.name
        for hcl, _ok, message in spec.checks:
            assert hcl.strip() and spec.name in message, (spec.name, message)
    assert set(BY_NAME) == {i.name for i in INPUTS}


def test_importing_inputs_never_loads_jsii():
    code = "import sys, stacks.inputs; sys.exit(1 if 'jsii' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
