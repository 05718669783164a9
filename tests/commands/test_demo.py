"""`byoc demo`, the README's main job, run exactly as a user runs it (a fresh process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]


def test_byoc_demo_runs_the_whole_flow_and_exits_zero(tmp_path):
    byoc = shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # no AWS account needed
    proc = subprocess.run([byoc, "demo", "--project-dir", str(tmp_path / "demo")], env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    for step in ("Start the embedded AWS emulator", "Synthesize", "Deploy", "Store a dummy API key",
                 "Lock the secret down", "a further plan shows no changes", "Destroy", "demo passed"):
        assert step in output, step
    assert "may read PINECONE_API_KEY" in output
    assert "Traceback" not in output and "end-of-life" not in output
    assert "POST / HTTP" not in output  # the emulator's request log stays out of the user's way
