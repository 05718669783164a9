"""Runtime failures and the long-running commands, with real terraform and real processes:
a terraform failure (state locked), the provider out of reach, `byoc emulator`, and the
lockdown's retry while IAM propagates."""

from __future__ import annotations

import fcntl
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.actions import lockdown
from cli.core.errors import ByocError
from cli.main import app

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def _byoc() -> str:
    return shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"


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
    # (--auto-approve plans and applies in one `terraform apply`: that is the command that failed)
    assert "terraform apply failed: the state is locked by another byoc or terraform run" in error[0]
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


@pytest.mark.emulator
def test_emulator_command_serves_aws_on_loopback_until_ctrl_c():
    import boto3

    proc = subprocess.Popen([_byoc(), "emulator"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert "Emulator listening on http://127.0.0.1:" in first, first
        url = first.split("listening on ", 1)[1].split()[0]
        sts = boto3.client("sts", region_name="us-east-1", endpoint_url=url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        assert sts.get_caller_identity()["Account"] == "123456789012"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out
    assert "Emulator stopped." in out


def test_lockdown_retries_while_aws_rejects_a_new_role_as_principal(capsys):
    calls, sleeps = [], []

    def attempt():
        calls.append(1)
        if len(calls) < 3:
            error = ByocError("terraform apply failed: putting Secrets Manager Secret policy")
            error.detail = "MalformedPolicyDocumentException: This resource policy contains an invalid principal"
            raise error

    lockdown.retry_on_propagation(attempt, sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == [5, 10]
    assert capsys.readouterr().out.count("IAM propagation") == 2


def test_lockdown_does_not_retry_other_failures():
    calls = []

    def attempt():
        calls.append(1)
        raise ByocError("terraform apply failed: AccessDenied")

    with pytest.raises(ByocError, match="AccessDenied"):
        lockdown.retry_on_propagation(attempt, sleep=lambda _s: None)
    assert len(calls) == 1


def test_lockdown_gives_up_after_the_last_retry():
    calls = []

    def attempt():
        calls.append(1)
        raise ByocError("terraform apply failed: Invalid principal in policy")

    with pytest.raises(ByocError):
        lockdown.retry_on_propagation(attempt, sleep=lambda _s: None)
    assert len(calls) == len(lockdown.RETRY_DELAYS) + 1
