"""Where a terminal changes what byoc does: the installed ``byoc`` with stdin and stderr on a
pseudo-terminal and stdout on a pipe (tests/byoc_run.py). A question is asked on the terminal
(stderr), never on stdout; a command that asks is not refused there for want of
``--auto-approve``; a step that runs silently for seconds shows a live line with its elapsed time,
and only there (the same line helper writing to a pipe adds nothing)."""

from __future__ import annotations

import os
import pty
import re
import shutil
import time
from pathlib import Path

import pytest

from byoc_run import byoc_in_terminal, make_looks_deployed, no_aws_env
from cli.core.progress import elapsed, notice

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
ESCAPE = "\x1b["


@pytest.fixture
def looks_deployed(tmp_path) -> Path:
    return make_looks_deployed(tmp_path / "project")


_no_aws_env = no_aws_env


def test_secret_put_asks_for_the_key_on_the_terminal_and_writes_nothing_to_stdout(looks_deployed):
    run = byoc_in_terminal("secret", "put", "-C", str(looks_deployed), answers={"Pinecone API key:": "\r"})
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    assert "Pinecone API key:" in run.stderr
    assert "secret value: the input was empty or only whitespace" in run.stderr


def test_destroy_on_a_terminal_is_not_refused_for_want_of_auto_approve(looks_deployed, tmp_path):
    run = byoc_in_terminal("destroy", "-C", str(looks_deployed), env=_no_aws_env(tmp_path))
    assert run.code == 1, run.stderr
    assert "--auto-approve" not in run.stderr
    assert "no AWS credentials found" in run.stderr  # it went on, to the first AWS step
    assert run.stdout == ""


def test_synth_on_a_terminal_shows_a_live_line_with_the_elapsed_time(synthesized_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(synthesized_project, project)
    started = time.monotonic()
    run = byoc_in_terminal("synth", "-C", str(project), "--force")
    took = time.monotonic() - started
    assert run.code == 0, run.stderr
    live = "Synth: synthesizing the stack (cdktf on Node.js) ..."
    assert f"\r{ESCAPE}K{live} [0s]" in run.stderr
    if took > 2.5:  # redrawn every second while it runs
        assert f"\r{ESCAPE}K{live} [1s]" in run.stderr
    assert run.stderr.rstrip("\r\n").endswith(f"\r{ESCAPE}K")  # erased at the end: the result says the rest
    assert re.fullmatch(r"Synthesized cdktf\.out/stacks/byoc/cdk\.tf\.json in \d+\.\ds\.\n", run.stdout)


def _read_all(fd: int) -> str:
    """Everything written to the terminal, once its other side is closed."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed and everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_the_live_line_is_redrawn_each_second_kept_when_asked_and_a_message_clears_it_first():
    main, side = pty.openpty()
    with os.fdopen(side, "w") as terminal:
        with elapsed("Terraform: init ...", terminal, keep=True, interval=0.2) as drawn:
            time.sleep(0.5)
            notice("The Terraform registry is out of reach; using the provider mirror at /opt/mirror.", terminal)
            time.sleep(0.3)
    text = _read_all(main)
    os.close(main)
    assert drawn is True
    assert text.startswith(f"\r{ESCAPE}KTerraform: init ... [0s]")
    assert text.count("Terraform: init ... [") >= 3  # drawn, redrawn at each tick, then kept
    assert f"\r{ESCAPE}KThe Terraform registry is out of reach" in text  # cleared before the message
    assert re.search(r"\r\x1b\[KTerraform: init \.\.\. \[[1-9]\d*s\]\r?\n$", text)  # kept with its time


def test_the_live_line_adds_nothing_where_there_is_no_terminal(tmp_path):
    out = (tmp_path / "log.txt").open("w")
    with elapsed("Synth: synthesizing the stack (cdktf on Node.js) ...", out, interval=0.1) as drawn:
        time.sleep(0.3)
    out.close()
    assert drawn is False and (tmp_path / "log.txt").read_text() == ""
