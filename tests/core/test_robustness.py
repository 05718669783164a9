"""Nothing crashes with a traceback and nothing is misreported: damaged files, bad endpoint
URLs, secret values AWS would refuse, and the last-resort error boundary (CliRunner, no AWS, no
terraform). (Lockdown's reader list: tests/actions/test_lockdown.py.)

Each damaged file gets one line naming the file and what to do: exit 2 for the user's own
config (byoc.toml), exit 1 for what byoc keeps (state, saved inputs); a state file that exists
but cannot be read is never "no deployment found".
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.actions import secret
from cli.core.config import Project
from cli.core.errors import InputError
from cli.main import app
from cli.core.synth import CACHE_FILE, is_fresh

REPO = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    for key in ("AWS_ENDPOINT_URL", "BYOC_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _deployed(project: Path, state: bytes | None = None, inputs: bytes | None = None) -> None:
    """A project that looks deployed: saved inputs and a local state (either may be damaged)."""
    (project / ".byoc").mkdir(exist_ok=True)
    (project / ".byoc" / "inputs.tfvars.json").write_bytes(
        inputs if inputs is not None else json.dumps({"container_image": IMAGE, "aws_region": "us-east-1"}).encode())
    if state is not None:
        (project / "terraform.byoc.tfstate").write_bytes(state)


def _one_line(result) -> str:
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _run(project: Path, command: str, *args: str) -> tuple[int, str]:
    """``byoc <command> -C <project> <args>``: its exit code and its one line."""
    result = CliRunner().invoke(app, [command, "-C", str(project), *args])
    return result.exit_code, _one_line(result)


def _files(project: Path) -> dict[str, bytes]:
    return {str(p.relative_to(project)): p.read_bytes() for p in sorted(project.rglob("*")) if p.is_file()}


GOOD_STATE = json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 3, "lineage": "x",
                         "outputs": {}, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
                                                       "instances": [{}]}]})


@pytest.mark.parametrize("state, why", [
    pytest.param(GOOD_STATE[: len(GOOD_STATE) // 2].encode(), "not valid JSON, perhaps cut short", id="truncated"),
    pytest.param(b"this is not json", "not valid JSON", id="not-json"),
    pytest.param(b"\xff\xfe\x00garbage", "not UTF-8", id="binary"),
    pytest.param(b'["a", "list"]', "not a Terraform state", id="json-but-not-a-state"),
])
@pytest.mark.parametrize("command", [["status"], ["lockdown", "-y"], ["secret", "put"], ["destroy", "-y"]])
def test_a_damaged_state_file_is_an_error_never_no_deployment(project, state, why, command):
    _deployed(project, state=state)
    before = _files(project)
    result = CliRunner().invoke(app, [*command, "-C", str(project)], input="pcsk-key\n")
    line = _one_line(result)
    assert result.exit_code == 1, result.output
    assert "terraform.byoc.tfstate cannot be read as a Terraform state" in line and why in line
    assert "no deployment found" not in line and "restore it" in line
    assert _files(project) == before


def test_a_damaged_state_names_terraforms_backup_when_there_is_one(project):
    _deployed(project, state=b"{")
    (project / "terraform.byoc.tfstate.backup").write_text(GOOD_STATE)
    line = _one_line(CliRunner().invoke(app, ["status", "-C", str(project)]))
    assert "cp terraform.byoc.tfstate.backup terraform.byoc.tfstate" in line


def test_a_state_file_that_is_a_folder_is_an_error(project):
    _deployed(project)
    (project / "terraform.byoc.tfstate").mkdir()
    result = CliRunner().invoke(app, ["status", "-C", str(project)])
    assert result.exit_code == 1 and "it is a folder" in _one_line(result)


def test_an_empty_state_file_is_no_state_as_for_terraform(project):
    _deployed(project, state=b"")
    result = CliRunner().invoke(app, ["status", "-C", str(project)])
    assert result.exit_code == 1 and "no deployment found" in _one_line(result)


@pytest.mark.parametrize("inputs, why", [
    pytest.param(b'{"container_image": ', "not valid JSON", id="truncated"),
    pytest.param(b"\xff\xfe", "not UTF-8 text", id="binary"),
    pytest.param(b"[1, 2]", "not a JSON object of inputs", id="not-an-object"),
    pytest.param(b'{"container_image": "x", "desired_count": "many"}', "desired_count:", id="bad-value"),
    # The region is never guessed: a default would point every command at another region's account.
    pytest.param(b'{"container_image": "x"}', "aws_region is missing", id="no-region"),
])
def test_damaged_saved_inputs_name_the_file_and_the_way_back(project, inputs, why):
    _deployed(project, state=GOOD_STATE.encode(), inputs=inputs)
    code, line = _run(project, "status")
    assert code == 1 and ".byoc/inputs.tfvars.json is damaged" in line and why in line and "byoc deploy" in line


@pytest.mark.parametrize("content, why", [
    pytest.param(b"container_image = \"\xff\xfe\"\n", "not UTF-8 text (byte 0xff at offset 19)", id="not-utf8"),
    pytest.param(b"\x00\x01\x02binary", "holds binary data", id="binary"),
    pytest.param(b"container_image = ", "not valid TOML", id="cut-short"),
    pytest.param(b"env = 3\n", "env must be a table", id="env-not-a-table"),
])
def test_a_damaged_byoc_toml_exits_2_naming_it(project, content, why):
    (project / "byoc.toml").write_bytes(content)
    code, line = _run(project, "deploy", "-y")
    assert code == 2 and line.startswith("byoc: error: byoc.toml:") and why in line
    assert sorted(p.name for p in project.iterdir()) == ["byoc.toml"]


def test_a_byoc_toml_that_is_a_folder_exits_2_naming_it(project):
    (project / "byoc.toml").mkdir()
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "-y"])
    assert result.exit_code == 2 and "byoc.toml: is a folder, not a file" in _one_line(result)


def test_an_empty_byoc_toml_means_every_input_at_its_default(project):
    (project / "byoc.toml").write_text("")
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "-y"])
    assert result.exit_code == 2 and "container_image is required" in _one_line(result)  # nothing else refused


@pytest.mark.parametrize("record", [b"{not json", b"\xff", b"[]"])
def test_a_damaged_synth_record_means_synthesize_again_with_a_notice(project, record, capsys):
    p = Project(project)
    (project / ".byoc").mkdir()
    (project / ".byoc" / CACHE_FILE).write_bytes(record)
    assert is_fresh(p) is False
    assert ".byoc/synth.json is damaged; synthesizing again" in capsys.readouterr().err


@pytest.mark.parametrize("url", ["127.0.0.1:5000", "ftp://127.0.0.1", "http://", "http://127.0.0.1:port", "localhost"])
def test_an_endpoint_url_that_is_not_http_exits_2_naming_the_flag(project, url):
    _deployed(project, state=GOOD_STATE.encode())
    result = CliRunner().invoke(app, ["status", "-C", str(project), "--endpoint-url", url])
    line = _one_line(result)
    assert result.exit_code == 2 and line.startswith("byoc: error: --endpoint-url:") and "http(s) URL" in line


def test_an_aws_endpoint_url_variable_that_is_not_http_exits_2_naming_it(project, monkeypatch):
    _deployed(project, state=GOOD_STATE.encode())
    monkeypatch.setenv("AWS_ENDPOINT_URL", "127.0.0.1:5000")
    result = CliRunner().invoke(app, ["status", "-C", str(project)])
    assert result.exit_code == 2 and "AWS_ENDPOINT_URL: '127.0.0.1:5000' is not an http(s) URL" in _one_line(result)


@pytest.mark.parametrize("value, rule", [
    pytest.param("pcsk-one\npcsk-two", "holds a line break at character 9", id="two-lines"),
    pytest.param("pcsk-\x07bell", "a tab or control character", id="control-character"),
    pytest.param("pcsk-\tkey", "a tab or control character", id="tab"),
    pytest.param("x" * 65_600, "too long for Secrets Manager", id="too-long"),
    pytest.param("   \n ", "empty or only whitespace", id="empty"),
])
def test_a_secret_value_aws_would_refuse_is_refused_before_any_call_naming_the_rule(project, value, rule):
    _deployed(project)  # no state: any AWS or deployment lookup would say "no deployment found"
    result = CliRunner().invoke(app, ["secret", "put", "-C", str(project)], input=value)
    line = _one_line(result)
    assert result.exit_code == 2 and line.startswith("byoc: error: secret value:") and rule in line
    assert value.strip()[:8] not in line or not value.strip()


def test_a_piped_value_that_is_not_utf8_is_refused(project):
    _deployed(project)
    result = CliRunner().invoke(app, ["secret", "put", "-C", str(project)], input=b"\xff\xfekey")
    assert result.exit_code == 2 and "not UTF-8 text" in _one_line(result)


def test_the_largest_value_secrets_manager_holds_is_accepted_and_one_byte_more_is_refused():
    # Secrets Manager holds at most 65,536 bytes; the key is stored as {"PINECONE_API_KEY": "<key>"}.
    largest = "k" * (65_536 - len('{"PINECONE_API_KEY": ""}'))
    assert secret.check_secret_value(f"  {largest}\n") == largest  # a pasted newline is not part of the key
    with pytest.raises(InputError) as refused:
        secret.check_secret_value(largest + "k")
    assert str(refused.value) == ("secret value: too long for Secrets Manager (stored as JSON it would be 65,537 "
                                  "bytes; a secret holds at most 65,536); pipe only the API key.")


def test_a_bug_in_byoc_is_one_line_exit_1_with_the_traceback_in_a_file(project):
    """The boundary itself under test, on a command of its own (no input may reach a bug in byoc's
    commands on purpose, and patching one would test the patch): whatever a command raises that
    byoc never expects is one line, exit 1, the traceback in the project's .byoc/logs."""
    import typer

    from cli.commands.app import ByocGroup
    from cli.core.crash import remember_project

    boundary = typer.Typer(cls=ByocGroup)

    @boundary.command()
    def broken() -> None:
        remember_project(project)
        {}["byoc_secret_arn"]

    @boundary.command()
    def other() -> None:  # two commands, so that `broken` is a subcommand as byoc's are
        pass

    result = CliRunner().invoke(boundary, ["broken"])
    line = _one_line(result)
    assert result.exit_code == 1, result.output
    assert re.match(r"byoc: internal error: KeyError in \S+\.py:\d+ — a bug in byoc", line), line
    assert "a bug in byoc" in line and ".byoc/logs/crash-" in line
    (report,) = (project / ".byoc" / "logs").glob("crash-*.log")
    assert "Traceback (most recent call last)" in report.read_text() and "KeyError: 'byoc_secret_arn'" in report.read_text()


def test_a_missing_output_is_a_one_line_error_not_a_key_error():
    from cli.core.errors import ByocError
    from cli.core.session import Outputs

    with pytest.raises(ByocError, match="the deployment has no output 'ecs_task_role_arn'.*byoc deploy"):
        Outputs({})["ecs_task_role_arn"]


@pytest.mark.parametrize("signum, code, line", [
    pytest.param(signal.SIGINT, 130, "byoc: interrupted; nothing was left half-done. Run the command again.",
                 id="ctrl-c"),
    pytest.param(signal.SIGTERM, 143, "byoc: terminated (SIGTERM); nothing was left half-done. Run the command again.",
                 id="sigterm"),
])
def test_a_signal_outside_terraform_exits_128_plus_its_number_with_one_line(project, signum, code, line):
    """A real signal to a real byoc process, caught while it waits on AWS (an endpoint on
    127.0.0.1 that accepts the connection and never answers): the exit code is byoc's own,
    whatever typer's version does with a KeyboardInterrupt."""
    _deployed(project, state=json.dumps({**json.loads(GOOD_STATE), "outputs": {
        "byoc_secret_arn": {"value": "arn:aws:secretsmanager:us-east-1:123456789012:secret:byoc-agents/x-AbCdEf"}}}
    ).encode())
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BYOC_"))}
        env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "status", "-C", str(project), "--endpoint-url",
                                 f"http://127.0.0.1:{server.getsockname()[1]}"], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            server.settimeout(60)
            connection, _ = server.accept()  # byoc is now waiting for AWS's answer
            proc.send_signal(signum)
            output, _ = proc.communicate(timeout=60)
            connection.close()
        finally:
            proc.kill()
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert proc.returncode == code and lines == [line], output
