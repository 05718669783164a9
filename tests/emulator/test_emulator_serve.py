"""``cli.emulator.serve``: the emulator in the foreground, as ``byoc emulator`` runs it — the same
two lines, then "Emulator stopped." on Ctrl-C, and the KeyboardInterrupt left to the caller."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli.emulator import free_port

pytestmark = pytest.mark.emulator

REPO = Path(__file__).resolve().parents[2]


def _until_ctrl_c(argv: list[str]) -> tuple[list[str], str, int]:
    """Run argv until its two lines are out, press Ctrl-C: (the two lines, the rest, exit code)."""
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        proc.send_signal(signal.SIGINT)
        rest = proc.communicate(timeout=30)[0]
    finally:
        proc.kill()
    return [line.rstrip("\n") for line in lines], rest, proc.returncode


def test_serve_says_what_byoc_emulator_says_and_leaves_the_interrupt_to_its_caller():
    port = free_port()
    serve = "from cli.emulator import serve; serve(int(sys.argv[1]), lambda line: print(line, flush=True))"
    said, rest, code = _until_ctrl_c([sys.executable, "-c", f"import sys; {serve}", str(port)])
    assert said[0] == f"Emulator listening on http://127.0.0.1:{port} (Ctrl-C to stop). In another shell:"
    assert said[1].startswith(f"  export AWS_ENDPOINT_URL=http://127.0.0.1:{port} AWS_ACCESS_KEY_ID=")
    assert rest.startswith("Emulator stopped.\n") and "KeyboardInterrupt" in rest
    assert code == -signal.SIGINT  # re-raised: Python ends an uncaught KeyboardInterrupt with SIGINT

    byoc, _, _ = _until_ctrl_c([sys.executable, "-m", "cli.main", "emulator", "--port", str(port)])
    assert said == byoc
