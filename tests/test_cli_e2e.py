"""The CLI's two-phase flow end to end: real terraform, a moto server on 127.0.0.1.

One deployment per module (deploy takes ~80 s against moto); each test asserts one behaviour
of one step. The steps run in the fixture, in the order a user runs them:
deploy -> secret put (stdin) -> lockdown -> lockdown again -> status -> destroy.
"""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.policy import SecretPolicy

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]

IMAGE = "public.ecr.aws/nginx/nginx:1.27"


@pytest.fixture(scope="module")
def flow_run(synthesized_project, tmp_path_factory, emulator_module):
    """Run the whole flow once through the CLI; keep every step's result."""
    import shutil

    project = tmp_path_factory.mktemp("cli-e2e") / "project"
    shutil.copytree(synthesized_project, project)
    sentinel = "pcsk-sentinel-" + secrets.token_hex(12)
    env = emulator_module.env()
    runner = CliRunner()
    base = ["-C", str(project)]
    steps: dict[str, object] = {"project": project, "sentinel": sentinel}

    def invoke(*args, **kw):
        return runner.invoke(app, list(args), env=env, catch_exceptions=False, **kw)

    watcher = ArgvWatcher(sentinel)
    watcher.start()

    steps["deploy"] = invoke("deploy", *base, "--container-image", IMAGE, "--auto-approve")
    steps["state_after_deploy"] = (project / "terraform.byoc.tfstate").read_text()
    steps["secret_put"] = invoke("secret", "put", *base, input=sentinel + "\n")
    steps["lockdown"] = invoke("lockdown", *base, "--auto-approve")
    steps["state_after_lockdown"] = json.loads((project / "terraform.byoc.tfstate").read_text())
    steps["policy"] = _policy(env, steps["state_after_lockdown"])
    steps["lockdown_again"] = invoke("lockdown", *base)  # no --auto-approve: nothing to approve
    steps["status"] = invoke("status", *base, "--json")
    steps["files"] = _all_text(project)
    steps["destroy"] = invoke("destroy", *base, "--auto-approve")
    steps["state_after_destroy"] = json.loads((project / "terraform.byoc.tfstate").read_text())
    watcher.stop()
    steps["argv_watch"] = watcher
    return steps


class ArgvWatcher(threading.Thread):
    """Reads every process's command line on this machine every 20 ms while the flow runs and
    records any that holds the sentinel (terraform, its provider plugin, node, anything)."""

    def __init__(self, needle: str) -> None:
        super().__init__(daemon=True)
        self.needle = needle.encode()
        self.hits: list[str] = []
        self.seen: set[str] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    raw = cmdline.read_bytes()
                except OSError:
                    continue
                if raw:
                    self.seen.add(raw.split(b"\0", 1)[0].decode(errors="replace").rsplit("/", 1)[-1])
                if self.needle in raw:
                    self.hits.append(raw.replace(b"\0", b" ").decode(errors="replace"))
            self._stop_event.wait(0.02)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _policy(env, state) -> SecretPolicy:
    import boto3

    arn = state["outputs"]["byoc_secret_arn"]["value"]
    client = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"],
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    return SecretPolicy.parse(client.get_resource_policy(SecretId=arn)["ResourcePolicy"])


def _all_text(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        if path.is_file() and ".terraform/providers" not in path.as_posix():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)


def outputs(steps) -> dict:
    return {k: v["value"] for k, v in steps["state_after_lockdown"]["outputs"].items()}


def test_deploy_applies_and_prints_outputs_and_next_step(flow_run):
    result = flow_run["deploy"]
    assert result.exit_code == 0, result.output
    created = sum(len(r["instances"]) for r in flow_run["state_after_lockdown"]["resources"] if r["mode"] == "managed")
    assert f"Plan: {created} to add" in result.output
    assert f"[{created}/{created}] done" in result.output
    assert "byoc_secret_arn = arn:aws:secretsmanager:" in result.output
    assert "byoc secret put" in result.output


def test_secret_put_reads_stdin_and_never_echoes_the_value(flow_run):
    result = flow_run["secret_put"]
    assert result.exit_code == 0, result.output
    assert "Stored PINECONE_API_KEY" in result.output
    assert flow_run["sentinel"] not in result.output


def test_lockdown_names_task_and_execution_roles_in_the_policy(flow_run):
    result = flow_run["lockdown"]
    assert result.exit_code == 0, result.output
    out = outputs(flow_run)
    assert sorted(flow_run["policy"].readers) == sorted([out["ecs_task_role_arn"], out["ecs_execution_role_arn"]])
    assert flow_run["policy"].endpoints == [out["secretsmanager_vpce_id"]]
    assert f"may read PINECONE_API_KEY: {out['ecs_task_role_arn']}" in result.output
    assert "only through VPC endpoint" in result.output


def test_locked_policy_denies_other_principals_and_other_paths(flow_run):
    policy, out = flow_run["policy"], outputs(flow_run)
    vpce = out["secretsmanager_vpce_id"]
    assert policy.may_read(out["ecs_execution_role_arn"], vpce)
    assert not policy.may_read("arn:aws:iam::123456789012:role/someone-else", vpce)
    assert not policy.may_read(out["ecs_task_role_arn"], None)


def test_lockdown_again_changes_nothing(flow_run):
    result = flow_run["lockdown_again"]
    assert result.exit_code == 0, result.output
    assert "No changes: the secret is already locked down" in result.output
    assert "Apply" not in result.output and "Synth: up to date" in result.output


def test_status_json_shows_value_set_and_locked(flow_run):
    result = flow_run["status"]
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["secret"]["has_value"] is True
    assert info["lockdown"]["locked"] is True
    assert outputs(flow_run)["ecs_execution_role_arn"] in info["lockdown"]["readers"]


def test_secret_value_is_in_no_process_arguments_during_the_run(flow_run):
    watch = flow_run["argv_watch"]
    assert watch.hits == []
    assert "terraform" in watch.seen  # the watcher did see the child processes it guards against


def test_secret_value_is_nowhere_in_the_project(flow_run):
    assert flow_run["sentinel"] not in flow_run["files"]
    assert flow_run["sentinel"] not in flow_run["state_after_deploy"]


def test_destroy_removes_everything_and_explains_the_secret(flow_run):
    result = flow_run["destroy"]
    assert result.exit_code == 0, result.output
    assert "recovery window" in result.output
    assert flow_run["state_after_destroy"]["resources"] == []
