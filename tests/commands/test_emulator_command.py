"""`byoc emulator`, run as a user runs it (a fresh process): AWS on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest


def _byoc() -> str:
    return shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"


@pytest.mark.emulator
def test_emulator_command_serves_aws_on_loopback_until_ctrl_c():
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
