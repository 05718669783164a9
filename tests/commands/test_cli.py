"""The CLI's arguments, help and error messages (CliRunner, no AWS, no terraform apply).

Every bad input must give exit code 2 and one line naming the field and the fix, with nothing
written to the project; runtime failures exit 1 and say what to do next.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from stacks.inputs import INPUTS

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
COMMANDS = ("synth", "deploy", "lockdown", "status", "destroy", "emulator", "demo", "secret")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def empty_project(tmp_path, monkeypatch) -> Path:
    """A project folder with no config, no synth, no deployment; fake credentials so that only
    the behaviour under test can fail."""
    for key in ("AWS_ENDPOINT_URL", "BYOC_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return tmp_path


def one_line_error(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def project_untouched(project: Path) -> bool:
    return sorted(p.name for p in project.iterdir()) in ([], ["byoc.toml"])


def test_top_level_help_lists_every_command(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", [["synth"], ["deploy"], ["lockdown"], ["status"], ["destroy"],
                                     ["emulator"], ["demo"], ["secret", "put"]])
def test_each_command_has_help(runner, command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    assert ("--port" if command == ["emulator"] else "--project-dir") in result.output


def test_deploy_help_has_a_kebab_case_flag_for_every_stack_variable(runner):
    result = runner.invoke(app, ["deploy", "--help"], terminal_width=200)
    for spec in INPUTS:
        assert spec.flag in result.output, spec.flag
    assert "--auto-approve" in result.output and "--endpoint-url" in result.output


def test_unknown_option_is_one_line_usage_error(runner, empty_project):
    result = runner.invoke(app, ["deploy", "--no-such-flag"])
    assert result.exit_code == 2
    assert "--no-such-flag" in one_line_error(result)


def test_deploy_without_container_image_names_the_field_and_changes_nothing(runner, empty_project):
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--auto-approve"])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "container_image is required" in line and "--container-image" in line
    assert project_untouched(empty_project)


def test_deploy_refuses_private_subnets_outside_the_vpc_naming_the_field_and_the_fix(runner, empty_project):
    # (Every other bad flag value through the same boundary: tests/commands/test_hostile_inputs.py.)
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--auto-approve", "--container-image", IMAGE,
                                 "--private-subnet-cidrs", "10.9.1.0/24,10.9.2.0/24"])
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert line.startswith("byoc: error: --private-subnet-cidrs:") and "must lie inside vpc_cidr" in line, line
    assert project_untouched(empty_project)


def test_environment_value_is_validated_like_a_flag(runner, empty_project, monkeypatch):
    monkeypatch.setenv("BYOC_DESIRED_COUNT", "-3")
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--container-image", IMAGE])
    assert result.exit_code == 2
    assert "desired_count" in one_line_error(result)


@pytest.mark.parametrize("command", [["lockdown"], ["status"], ["destroy"]])
def test_commands_on_a_project_without_deployment_say_to_deploy_first(runner, empty_project, command,
                                                                      monkeypatch):
    result = runner.invoke(app, [*command, "-C", str(empty_project), "--auto-approve"]
                           if command != ["status"] else [*command, "-C", str(empty_project)])
    assert result.exit_code == 1, result.output
    assert "run `byoc deploy` first" in one_line_error(result)


def test_secret_put_refuses_a_value_on_the_command_line_without_echoing_it(runner, empty_project):
    result = runner.invoke(app, ["secret", "put", "-C", str(empty_project), "pcsk_value_on_argv"])
    assert result.exit_code == 2
    line = one_line_error(result)
    assert "stdin" in line and "pcsk_value_on_argv" not in result.output


def test_project_dir_must_exist(runner, tmp_path):
    result = runner.invoke(app, ["synth", "-C", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "--project-dir" in one_line_error(result)


def test_provider_mirror_must_hold_the_aws_provider(runner, empty_project, tmp_path):
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--container-image", IMAGE,
                                 "--provider-mirror", str(tmp_path)])
    assert result.exit_code == 2
    assert "registry.terraform.io" in one_line_error(result)


def test_missing_terraform_is_one_line_with_install_hint(runner, empty_project, monkeypatch):
    monkeypatch.setenv("PATH", str(empty_project))  # a PATH without terraform
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--container-image", IMAGE, "-y"])
    assert result.exit_code == 1
    assert "terraform is not on PATH" in one_line_error(result)
    assert project_untouched(empty_project)


def test_missing_credentials_is_one_line_with_what_to_do(runner, empty_project, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = runner.invoke(app, ["deploy", "-C", str(empty_project), "--container-image", IMAGE, "-y"])
    assert result.exit_code == 1
    assert "no AWS credentials found" in one_line_error(result)
    assert project_untouched(empty_project)


def test_emulator_rejects_an_impossible_port(runner):
    result = runner.invoke(app, ["emulator", "--port", "70000"])
    assert result.exit_code == 2
    assert "--port" in one_line_error(result)
