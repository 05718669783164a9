"""``byoc`` in a process of its own, stopped by a signal the moment it prints a given line —
how a terminal's Ctrl-C or a cancelled CI job meets it. For the tests of what it then says."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def interrupted(stack, words: list[str], trigger: str, *, stdin: str | None = None,
                sig: int = signal.SIGINT) -> tuple[str, int]:
    """``byoc <words> -C <project>`` in a process of its own, sent ``sig`` the moment a line
    matches ``trigger``: (everything it printed, its exit code)."""
    byoc = shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"
    n = 2 if words[0] == "secret" else 1
    proc = subprocess.Popen([byoc, *words[:n], "-C", str(stack.project), *words[n:]], env={**os.environ, **stack.env},
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if stdin is not None:
        proc.stdin.write(stdin)
    proc.stdin.close()
    seen, deadline = [], time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if re.search(trigger, line):
            proc.send_signal(sig)
            break
    rest = proc.stdout.read()  # to its end: the process has exited
    proc.wait(timeout=300)
    return "".join(seen) + rest, proc.returncode
