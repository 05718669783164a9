"""Issue 16: the seed's remaining Configure variables, pinecone_environment and pinecone_api_key.

- ``pinecone_environment`` reaches the container as the plain environment variable
  PINECONE_ENVIRONMENT when set, and changes nothing when not (the JSON, evaluated); plain
  terraform takes ``-var pinecone_environment=…`` (and the seed's whole flow with it:
  tests/e2e/test_terraform_plain_e2e.py).
- ``pinecone_api_key`` is sensitive and ephemeral; without the Pinecone provider any value is
  refused by Terraform's validation, with the way the service's key really goes in, and the value
  is never printed. With the provider it is accepted and stays out of saved plans and state:
  tests/stack/test_pinecone_provider.py. It is never a CLI input.
"""

from __future__ import annotations

import copy
import re

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.core.tfexpr import Evaluator
from stacks.inputs import BY_NAME, defaults
from tfrun import terraform, variables_only

IMAGE = "public.ecr.aws/nginx/nginx:1.27"
SENTINEL = "pcsk_SENTINEL_seed_variable_5d1e"


def inputs(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


# --------------------------------------------------------------------------- pinecone_environment

def test_pinecone_environment_is_an_optional_plain_input(stack_json):
    variable = stack_json["variable"]["pinecone_environment"]
    assert (variable["type"], variable["default"]) == ("string", "")
    assert "sensitive" not in variable and "PINECONE_ENVIRONMENT" in variable["description"]


def test_pinecone_environment_reaches_the_container_only_when_set(stack_json):
    task = stack_json["resource"]["aws_ecs_task_definition"]["app"]
    assert task["container_definitions"].startswith("${jsonencode([merge({")
    assert task["container_definitions"].endswith(", local.container_environment)])}")
    local = stack_json["locals"]["container_environment"]
    assert Evaluator(stack_json, inputs()).value(local) == {}  # the container definition as before
    assert Evaluator(stack_json, inputs(pinecone_environment="us-east-1-aws")).value(local) == {
        "environment": [{"name": "PINECONE_ENVIRONMENT", "value": "us-east-1-aws"}]}
    # The key itself stays an ECS secret, never an environment value.
    assert '"secrets" = [{"name" = "PINECONE_API_KEY"' in task["container_definitions"]


@pytest.mark.terraform
def test_plain_terraform_takes_the_seeds_pinecone_environment_and_checks_it(stack_json, tmp_path, terraform_rc):
    folder = variables_only(stack_json, tmp_path)
    terraform(folder, {}, "plan", "-input=false", "-no-color", "-var", f"container_image={IMAGE}",
              "-var", "pinecone_environment=us-east-1-aws")
    bad = terraform(folder, {}, "plan", "-input=false", "-no-color", "-var", f"container_image={IMAGE}",
                    "-var", "pinecone_environment=Not An Env!", ok=(1,))
    assert "pinecone_environment must be a Pinecone environment name" in " ".join(bad.stderr.split())


# --------------------------------------------------------------------------- pinecone_api_key

def test_pinecone_api_key_is_sensitive_ephemeral_must_stay_empty_and_is_no_cli_input(stack_json):
    variable = stack_json["variable"]["pinecone_api_key"]
    assert (variable["sensitive"], variable["ephemeral"], variable["default"]) == (True, True, "")
    (rule,) = variable["validation"]
    assert rule["condition"] == '${var.pinecone_api_key == ""}'
    assert "byoc secret put" in rule["error_message"]
    assert stack_json["terraform"]["required_version"] == ">= 1.10"  # ephemeral variables
    assert "pinecone_api_key" not in BY_NAME  # never a CLI input (byoc.toml, BYOC_*, flags)


@pytest.mark.terraform
def test_setting_pinecone_api_key_without_the_provider_is_refused_and_never_printed(stack_json, tmp_path,
                                                                                    terraform_rc):
    """Refused by the validation, naming the way the key really goes in. (A refused plan writes no
    plan file, so whether a plan keeps the key is tests/stack/test_pinecone_provider.py's part, where the
    provider accepts it.) The control: the same declaration without ``sensitive`` and
    ``ephemeral`` has terraform print the value in the validation's diagnostic."""
    (tmp_path / "stack").mkdir()
    (tmp_path / "control").mkdir()
    folder = variables_only(stack_json, tmp_path / "stack")
    key = ["-var", f"container_image={IMAGE}", "-var", f"pinecone_api_key={SENTINEL}"]
    proc = terraform(folder, {}, "plan", "-input=false", "-no-color", *key, ok=(1,))
    message = " ".join(proc.stderr.split())
    assert "pinecone_api_key is only for the optional Pinecone provider" in message
    assert "the running service's key goes into Secrets Manager with `byoc secret put`" in message
    assert SENTINEL not in proc.stdout + proc.stderr

    plain = copy.deepcopy(stack_json)
    for flag in ("sensitive", "ephemeral"):
        del plain["variable"]["pinecone_api_key"][flag]
    control = terraform(variables_only(plain, tmp_path / "control"), {}, "plan", "-input=false", "-no-color", *key,
                        ok=(1,))
    assert SENTINEL in control.stderr


def test_the_cli_never_takes_pinecone_api_key(tmp_path):
    (tmp_path / "byoc.toml").write_text(f'container_image = "{IMAGE}"\npinecone_api_key = "{SENTINEL}"\n')
    result = CliRunner().invoke(app, ["cost", "-C", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert re.search(r"pinecone_api_key does not belong in a file: .*`byoc secret put`", result.output)
    assert SENTINEL not in result.output
    flag = CliRunner().invoke(app, ["deploy", "-C", str(tmp_path), "--pinecone-api-key", SENTINEL])
    assert flag.exit_code == 2 and "--pinecone-api-key" in flag.output and SENTINEL not in flag.output
    assert [p.name for p in tmp_path.iterdir()] == ["byoc.toml"]  # nothing written
