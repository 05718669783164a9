"""The installed ``byoc`` run as a user runs it: a fresh process, either without a terminal
(stdin from /dev/null, stdout and stderr captured apart) or with stdin and stderr on a
pseudo-terminal (``pty``) and stdout still a pipe, so a test sees which stream got what."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

BYOC = shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str  # with a terminal: everything written to it (stderr, and the echo of what was typed)

    def lines(self) -> list[str]:
        """stderr's non-empty lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without the settings a user's shell may add (BYOC_*, AWS endpoint)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BYOC_") and k != "AWS_ENDPOINT_URL"}
    return {**env, **extra}


def byoc(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None,
         timeout: float = 600) -> Run:
    """``byoc <args>`` with no terminal: stdin is /dev/null unless ``stdin`` text is piped."""
    proc = subprocess.run([BYOC, *args], input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, env=env if env is not None else clean_env(), cwd=cwd,
                          timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _own_terminal() -> None:
    """In the child, before byoc starts: a session of its own whose controlling terminal is the
    pseudo-terminal on its stdin, as a shell's foreground job has (``/dev/tty`` is that terminal)."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def byoc_in_terminal(*args: str, env: dict[str, str] | None = None, answers: dict[str, str] | None = None,
                     cwd: Path | None = None, timeout: float = 180) -> Run:
    """``byoc <args>`` with stdin and stderr on a pseudo-terminal and stdout on a pipe. ``answers``:
    when the terminal shows a text, type the answer. A hidden prompt (getpass) discards what was
    typed before it turned echo off, so an answer is typed again each second until byoc writes
    something after it."""
    main, side = pty.openpty()
    proc = subprocess.Popen([BYOC, *args], stdin=side, stdout=subprocess.PIPE, stderr=side,
                            env=env if env is not None else clean_env(), cwd=cwd, preexec_fn=_own_terminal)
    os.close(side)
    pending = dict(answers or {})
    answer: str | None = None  # the answer to type, and when it was last typed (None: not yet)
    typed_at: float | None = None
    seen, last_output, deadline = b"", time.monotonic(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.1)
            now = time.monotonic()
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the other side closed: the process is done with the terminal
                    break
                if not chunk:
                    break
                seen, last_output = seen + chunk, now
                for prompt in [p for p in pending if p.encode() in seen]:
                    answer, typed_at = pending.pop(prompt), None
            elif proc.poll() is not None:
                break
            if answer is not None:
                if typed_at is not None and last_output > typed_at:
                    answer = None  # byoc took it and went on
                elif (typed_at is None and now - last_output > 0.5) or (typed_at is not None and now - typed_at > 1.5):
                    os.write(main, answer.encode())
                    typed_at = now
        stdout, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
    return Run(proc.returncode, stdout.decode(), seen.decode(errors="replace"))


#: The image of a project that only looks deployed (no AWS behind it).
LOOKS_DEPLOYED_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"


def make_looks_deployed(project: Path) -> Path:
    """What byoc reads to decide that a deployment exists — the saved inputs and a local state
    holding a resource — with no AWS behind it: for cases that stop before they would reach one."""
    import json

    from stacks.inputs import defaults

    (project / ".byoc").mkdir(parents=True, exist_ok=True)
    (project / ".byoc" / "inputs.tfvars.json").write_text(
        json.dumps({**defaults(), "container_image": LOOKS_DEPLOYED_IMAGE}))
    (project / "terraform.byoc.tfstate").write_text(json.dumps(
        {"version": 4, "serial": 1, "lineage": "t", "outputs": {}, "resources": [{"mode": "managed"}]}))
    return project


def no_aws_env(tmp_path: Path) -> dict[str, str]:
    """No credentials anywhere boto3 looks, and no instance metadata to ask."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("AWS_")}
    return {**env, "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true"}
