"""Ctrl-C and concurrent runs, with real processes, real terraform and a moto server.

One `byoc deploy` is stopped by SIGINT while it applies: a clear message, the state saved, the
lock released. While another terraform run holds the state lock, a deploy must fail fast with a
lock message and leave the state alone. The next deploy is stopped by SIGTERM (a cancelled CI
job) the same way, exit 143; a last deploy then converges with no duplicates.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


def _byoc() -> str:
    return shutil.which("byoc", path=str(Path(sys.executable).parent)) or "byoc"


def _managed(state: dict) -> list[str]:
    return [f"{r['type']}.{r['name']}[{i}]" for r in state.get("resources", []) if r["mode"] == "managed"
            for i, _ in enumerate(r.get("instances", []))]


def _read_until(proc: subprocess.Popen, seen: list[str], pattern: str, deadline: float) -> bool:
    """Read ``proc``'s output into ``seen`` until a line matches ``pattern``; False at its end."""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            return False
        seen.append(line)
        if re.search(pattern, line):
            return True
    return False


def _lock_file(project: Path) -> Path:
    """Where terraform's local backend records who holds the state lock."""
    return project / ".terraform.byoc.tfstate.lock.info"


@pytest.fixture(scope="module")
def interrupted_run(synthesized_project, tmp_path_factory, emulator_module):
    project = tmp_path_factory.mktemp("interrupt") / "project"
    shutil.copytree(synthesized_project, project)
    env = {**os.environ, **emulator_module.env()}
    cmd = [_byoc(), "deploy", "-C", str(project), "--container-image", IMAGE, "-y"]
    # Every signal is sent the moment its trigger line is read: the output is read as it is
    # written, so the run is then still where the line says (a line read late from the pipe's
    # backlog would describe a run that may have finished meanwhile).
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: list[str] = []
    assert _read_until(first, seen, r"^\[([3-9]|\d\d+)/\d+\]", time.monotonic() + 300), "".join(seen)
    first.send_signal(signal.SIGINT)  # to byoc only, as a terminal's Ctrl-C reaches the foreground
    rest, _ = first.communicate(timeout=300)
    state_after_interrupt = json.loads((project / "terraform.byoc.tfstate").read_text())
    lock_left = [p.name for p in project.rglob("*.lock.info")]
    # Another terraform run holds the state lock for as long as the test needs: a plain
    # `terraform apply` waiting at its question (the interrupted deploy left changes to make).
    stack_dir = project / "cdktf.out" / "stacks" / "byoc"
    holder = subprocess.Popen(["terraform", "apply", "-input=true", "-no-color", "-var-file=../../../.byoc/inputs.tfvars.json"],
                              cwd=stack_dir, env={**env, "TF_IN_AUTOMATION": "1"}, stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 240
    while not _lock_file(project).exists() and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _lock_file(project).exists(), "terraform apply never took the state lock"
    started = time.monotonic()
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    second_seconds = time.monotonic() - started
    holder.communicate("no\n", timeout=120)  # not approved: it changes nothing and lets go of the lock
    # The next deploy is cancelled the way CI cancels a job: SIGTERM, once it creates resources.
    third = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    third_seen: list[str] = []
    assert _read_until(third, third_seen, r"^\[\d+/\d+\]", time.monotonic() + 300), "".join(third_seen)
    third.send_signal(signal.SIGTERM)
    third_rest, _ = third.communicate(timeout=300)
    state_after_term = json.loads((project / "terraform.byoc.tfstate").read_text())
    lock_left_after_term = [p.name for p in project.rglob("*.lock.info")]
    fourth = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    return {"project": project, "first_output": "".join(seen) + rest, "first_rc": first.returncode,
            "second": second, "second_seconds": second_seconds, "state_after_interrupt": state_after_interrupt,
            "lock_left": lock_left, "third_output": "".join(third_seen) + third_rest, "third_rc": third.returncode,
            "state_after_term": state_after_term, "lock_left_after_term": lock_left_after_term,
            "fourth": fourth, "endpoint": emulator_module.endpoint_url,
            "state_final": json.loads((project / "terraform.byoc.tfstate").read_text())}


def test_deploy_while_another_terraform_run_holds_the_lock_fails_fast_with_a_lock_message(interrupted_run):
    second = interrupted_run["second"]
    assert second.returncode == 1, second.stdout + second.stderr
    assert "the state is locked by another byoc or terraform run" in second.stderr
    assert interrupted_run["second_seconds"] < 60


def test_sigint_during_apply_stops_terraform_gracefully_and_exits_130(interrupted_run):
    out = interrupted_run["first_output"]
    assert interrupted_run["first_rc"] not in (0, None), out
    assert "Interrupted: terraform is stopping gracefully" in out
    assert "byoc: interrupted during terraform apply; terraform stopped gracefully" in out
    assert interrupted_run["first_rc"] == 130 and "Traceback" not in out


def test_sigint_leaves_state_saved_and_lock_released(interrupted_run):
    assert _managed(interrupted_run["state_after_interrupt"]), "nothing was saved to the state"
    assert interrupted_run["lock_left"] == []


def test_sigterm_during_apply_stops_terraform_gracefully_and_exits_143(interrupted_run):
    out = interrupted_run["third_output"]
    assert interrupted_run["third_rc"] == 143, out
    assert "Interrupted: terraform is stopping gracefully" in out
    assert "byoc: terminated (SIGTERM) during terraform apply; terraform stopped gracefully" in out
    assert "Traceback" not in out
    # The state was saved by this run (terraform bumps its serial on every write; what it holds
    # may even be less, when a half-created resource was being replaced) and the lock released.
    assert interrupted_run["state_after_term"]["serial"] > interrupted_run["state_after_interrupt"]["serial"]
    assert interrupted_run["lock_left_after_term"] == []


def test_next_deploy_converges_without_duplicates(interrupted_run):
    third = interrupted_run["fourth"]
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr
    planned = int(re.search(r"Plan: (\d+) to add", interrupted_run["first_output"]).group(1))
    managed = _managed(interrupted_run["state_final"])
    assert len(managed) == len(set(managed)) == planned
    kw = dict(region_name="us-east-1", endpoint_url=interrupted_run["endpoint"], aws_access_key_id="testing",
              aws_secret_access_key="testing")
    ec2 = boto3.client("ec2", **kw)
    vpcs = [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleted", "deleting")]
    albs = boto3.client("elbv2", **kw).describe_load_balancers()["LoadBalancers"]
    secrets = boto3.client("secretsmanager", **kw).list_secrets()["SecretList"]
    roles = [r for r in boto3.client("iam", **kw).list_roles()["Roles"] if r["RoleName"].startswith("byoc-agents-")]
    in_state = {kind: sum(1 for m in managed if m.startswith(kind + "."))
                for kind in ("aws_vpc", "aws_nat_gateway", "aws_lb", "aws_secretsmanager_secret", "aws_iam_role")}
    assert in_state["aws_vpc"] == 1 and in_state["aws_lb"] == 1
    # What exists in AWS is exactly what the state tracks: nothing created twice, nothing orphaned.
    assert {"aws_vpc": len(vpcs), "aws_nat_gateway": len(nats), "aws_lb": len(albs),
            "aws_secretsmanager_secret": len(secrets), "aws_iam_role": len(roles)} == in_state
