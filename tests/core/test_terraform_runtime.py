"""Terraform failing under byoc, with real terraform: a run that finds the state locked, and the
AWS provider out of reach with no mirror; each one line that says what happened and what to do.
(`byoc emulator` as a process: tests/commands/test_emulator_command.py; lockdown's retry while IAM
propagates: tests/actions/test_lockdown.py.)"""

from __future__ import annotations

import fcntl
import shutil

import pytest
from typer.testing import CliRunner

from cli.main import app

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


@pytest.mark.terraform
@pytest.mark.emulator
def test_terraform_failure_is_one_line_with_summary_and_log_path(synthesized_project, tmp_path, emulator):
    """A state locked by another run: terraform's own error, one line, and where the log is."""
    project = tmp_path / "p"
    shutil.copytree(synthesized_project, project)
    state = project / "terraform.byoc.tfstate"
    state.write_text("")
    with state.open("r+") as held:
        fcntl.lockf(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what terraform's local backend takes
        result = CliRunner().invoke(app, ["deploy", "-C", str(project), "--container-image", IMAGE, "-y"],
                                    env=emulator.env())
    assert result.exit_code == 1, result.output
    error = [ln for ln in result.output.splitlines() if ln.startswith("byoc: error:")]
    assert len(error) == 1, result.output
    # (a deploy plans to a file first, so that the policies it writes are validated before apply:
    # the plan is the command that met the lock)
    assert "terraform plan failed: the state is locked by another byoc or terraform run" in error[0]
    assert f"full log: {project / '.byoc' / 'logs' / 'deploy.log'}" in error[0]
    assert (project / ".byoc" / "logs" / "deploy.log").read_text().strip()


@pytest.mark.terraform
def test_provider_out_of_reach_without_mirror_says_what_to_do(synthesized_project, tmp_path, monkeypatch):
    """No registry (a proxy on a closed loopback port) and no mirror on the machine."""
    import cli.core.terraform as tf

    project = tmp_path / "p"
    shutil.copytree(synthesized_project, project)
    monkeypatch.setattr(tf, "_MIRROR_ROOTS", ())
    monkeypatch.setattr(tf, "_MIRROR_SEARCH", ())
    monkeypatch.delenv("BYOC_PROVIDER_MIRROR", raising=False)
    env = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "",
           "TF_CLI_CONFIG_FILE": str(tmp_path / "none.tfrc"), "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "TF_PLUGIN_CACHE_DIR": ""}
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "--container-image", IMAGE, "-y"], env=env)
    assert result.exit_code == 1, result.output
    line = [ln for ln in result.output.splitlines() if ln.startswith("byoc: error:")][0]
    assert "could not download the AWS provider" in line and "--provider-mirror" in line
