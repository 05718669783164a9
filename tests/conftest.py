"""Shared fixtures: one synth per session, the offline provider mirror, moto servers, and the
one deployment that tests which only read (or break and put back) share.

Synth is expensive (jsii + Node), so the stack is synthesized once per session (per xdist
worker) into a project folder; tests that run terraform copy that synthesized project (the state
path in the JSON is relative, so a copy is a working project of its own).

The suite runs in parallel (pytest-xdist, ``--dist loadgroup``, see pyproject.toml): every test
module is one group, so its module fixtures (a deployment, a moto server) are built once, on
one worker; tests that share the session's ``deployed_stack`` form the group of that name
(``pytest.mark.xdist_group("deployed_stack")``).
Groups that deploy go first, so that the longest ones never start last. Test modules live in
one folder per layer (tests/stack, core, observers, actions, commands, emulator, e2e) but run in the
order of their file names, as in one folder: the modules that share ``deployed_stack`` depend on
it (test_cli_e2e expects the reader list the flow left, before test_rollout's lockdowns add one).
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from argv_watch import ArgvWatcher
from cli.core.config import Project
from cli.emulator import Emulator, running, spawned
from cli.core.synth import ensure_synth
from cli.core.terraform import PROVIDER_ADDRESS, PROVIDER_VERSION, find_provider_mirror
from stacks import STACK_NAME
from tfrun import aws

REPO = Path(__file__).resolve().parents[1]
IMAGE = "public.ecr.aws/nginx/nginx:1.27"
#: The shared deployment's BYOC trust settings (pinecone_aws_account_id, pinecone_external_id).
TRUST_ACCOUNT, TRUST_EXTERNAL_ID = "111122223333", "byoc-scan-external-id"


def pytest_configure(config):
    """A runner may start the suite with SIGINT ignored (a background job of a non-interactive
    shell, e.g. `nohup bash .ci/run &`), and an ignored signal stays ignored in every process
    started from here. The interrupt tests play a terminal's Ctrl-C, so byoc must start as a
    terminal's foreground job would: with SIGINT at its default."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    """Every test module is an xdist group of its own unless a test names another; groups whose
    tests deploy (marked both terraform and emulator) run first. The order is deterministic, as
    xdist requires of every worker's collection.

    A test is marked by what its fixtures start, not only by what its module declares: one that
    uses terraform's provider mirror runs terraform, one that uses a moto server is an emulator
    test, so the fast tier (`-m "not terraform and not emulator"`) can never pull in a deployment
    through a fixture."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "terraform_rc" in names and item.get_closest_marker("terraform") is None:
            item.add_marker(pytest.mark.terraform)
        if names & {"emulator", "emulator_module", "deployed_stack"} and item.get_closest_marker("emulator") is None:
            item.add_marker(pytest.mark.emulator)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))

    def group(item) -> str:
        marker = item.get_closest_marker("xdist_group")
        return marker.kwargs.get("name") or marker.args[0]

    deploying = {group(i) for i in items if i.get_closest_marker("terraform") and i.get_closest_marker("emulator")}
    order = {id(item): n for n, item in enumerate(items)}
    items.sort(key=lambda item: (group(item) not in deploying, item.path.name, order[id(item)]))


@pytest.fixture(scope="session")
def provider_mirror() -> Path:
    mirror = find_provider_mirror()
    if mirror is None:
        pytest.fail(f"no filesystem mirror with {PROVIDER_ADDRESS} {PROVIDER_VERSION} found: "
                    "set BYOC_PROVIDER_MIRROR to the folder holding registry.terraform.io/")
    return mirror


@pytest.fixture(scope="session")
def terraform_rc(tmp_path_factory, provider_mirror) -> Path:
    """A Terraform CLI config that installs hashicorp/aws from the mirror only."""
    rc = tmp_path_factory.mktemp("tfrc") / "terraformrc"
    rc.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{provider_mirror}"\n    include = ["{PROVIDER_ADDRESS}"]\n  }}\n'
        f'  direct {{\n    exclude = ["{PROVIDER_ADDRESS}"]\n  }}\n'
        "}\n")
    return rc


@pytest.fixture(scope="session")
def synthesized_project(tmp_path_factory) -> Path:
    """A project folder whose cdktf.out holds the stack, synthesized once per session."""
    project = tmp_path_factory.mktemp("synth")
    # Through byoc's own synth, so copies also carry its cache record and count as fresh.
    ensure_synth(Project(project), force=True)
    return project


@pytest.fixture(scope="session")
def stack_json(synthesized_project) -> dict:
    return json.loads((synthesized_project / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_text())


@pytest.fixture
def project_copy(synthesized_project, tmp_path) -> Path:
    """A private copy of the synthesized project, for tests that init/apply/destroy."""
    dest = tmp_path / "project"
    shutil.copytree(synthesized_project, dest)
    return dest


def evaluating(emu: Emulator) -> Emulator:
    """The emulator, if it evaluates policies; a test suite whose emulator says no to nothing
    proves no denial, so a missing evaluator fails the test (never a skip)."""
    info = emu.info()
    if info["policies"] != "evaluated":
        pytest.fail(f"the emulator does not evaluate policies: {info['why_not']} (`byoc evaluator install`)")
    return emu


@pytest.fixture
def emulator():
    """A moto server on 127.0.0.1 that evaluates policies, started for this test and stopped after it."""
    with running() as emu:
        yield evaluating(emu)


@pytest.fixture
def aws_env(emulator, terraform_rc, monkeypatch) -> dict[str, str]:
    """Environment for terraform and boto3 against this test's emulator (also set in os.environ)."""
    env = {**emulator.env(), "TF_CLI_CONFIG_FILE": str(terraform_rc)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


# --- Module-scoped variants, for one deployment that several small tests assert on -----------

@pytest.fixture(scope="module")
def emulator_module():
    """A moto server on 127.0.0.1 shared by every test of one module (started once, stopped after)."""
    with running() as emu:
        yield evaluating(emu)


@pytest.fixture(scope="module")
def aws_env_module(emulator_module, terraform_rc) -> dict[str, str]:
    """Like ``aws_env`` but for ``emulator_module``: set in os.environ for the module's duration."""
    env = {**emulator_module.env(), "TF_CLI_CONFIG_FILE": str(terraform_rc)}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        yield env


@pytest.fixture(scope="module")
def project_copy_module(synthesized_project, tmp_path_factory) -> Path:
    """A private copy of the synthesized project shared by one module (init once, reuse)."""
    dest = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(synthesized_project, dest)
    return dest


# --- The shared deployment ------------------------------------------------------------------

@dataclass
class DeployedStack:
    """One project deployed through the CLI as a user would — deploy, secret put (a sentinel
    value), lockdown, lockdown again, status — against an emulator in its own process, with
    every step's result kept. Tests on it read, or break one thing and put it back. Inputs: the
    defaults, with the BYOC trust role on (byoc.toml)."""

    project: Path
    emulator: Emulator
    sentinel: str
    steps: dict[str, Any] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return self.emulator.env()

    def invoke(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        """``byoc <command words> -C <project> <rest>`` in this process (CliRunner)."""
        words = 2 if args and args[0] in ("secret", "backend") else 1
        argv = [*args[:words], "-C", str(self.project), *args[words:]]
        from cli.main import app

        return CliRunner().invoke(app, argv, env={**self.env, **(env or {})}, input=input, catch_exceptions=False)

    def state(self) -> dict:
        return json.loads((self.project / "terraform.byoc.tfstate").read_text())

    @property
    def outputs(self) -> dict[str, Any]:
        return {k: v["value"] for k, v in self.state()["outputs"].items()}

    def client(self, service: str):
        return aws(self.env, service)

    def service(self) -> dict[str, Any]:
        """The ECS service as AWS describes it, and its stopped tasks."""
        ecs, out = self.client("ecs"), self.outputs
        svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
        stopped = ecs.list_tasks(cluster=out["ecs_cluster_name"], serviceName=out["ecs_service_name"],
                                 desiredStatus="STOPPED")["taskArns"]
        tasks = ecs.describe_tasks(cluster=out["ecs_cluster_name"], tasks=stopped)["tasks"] if stopped else []
        return {**svc, "stopped": tasks}

    def doctor(self, *flags: str) -> tuple[int, dict[str, dict], dict]:
        """``byoc doctor --json``: (exit code, failed live checks by name, the whole report)."""
        result = self.invoke("doctor", "--json", *flags)
        assert result.output.strip(), result
        report = json.loads(result.output)
        return result.exit_code, {c["name"]: c for c in report["live"] if c["result"] == "fail"}, report

    def role(self, name: str, *, path: str = "/", read_grant: bool = True) -> str:
        """A role of the account (created once), given the stack's read grant (the
        ``byoc-agents-secret-read`` policy, as for the stack's roles) or none: a reader whose own
        policies the evaluated lockdown can judge."""
        iam = self.client("iam")
        try:
            arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            arn = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                    "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        if read_grant:
            iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::123456789012:policy/byoc-agents-secret-read")
        return arn

    def redeploy(self) -> None:
        """Converge the deployment back to its inputs (for a test that broke more than it can
        put back by hand)."""
        result = self.invoke("deploy", "--container-image", IMAGE, "-y")
        assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def deployed_stack(synthesized_project, tmp_path_factory):
    project = tmp_path_factory.mktemp("deployed") / "project"
    shutil.copytree(synthesized_project, project)
    # The BYOC trust role too, so that the security scans of this deployment see every policy.
    (project / "byoc.toml").write_text(f'pinecone_aws_account_id = "{TRUST_ACCOUNT}"\n'
                                       f'pinecone_external_id = "{TRUST_EXTERNAL_ID}"\n')
    # Task phases of 0.3 s instead of 1 s (cli/emulator/ecs_tasks.py): rollouts are part of this flow.
    with spawned(env={"BYOC_EMULATOR_TASK_SECONDS": "0.3"}) as emu:
        evaluating(emu)
        stack = DeployedStack(project, emu, sentinel="pcsk-sentinel-" + secrets.token_hex(12))
        steps = stack.steps
        watcher = ArgvWatcher(stack.sentinel)
        watcher.start()
        steps["deploy"] = stack.invoke("deploy", "--container-image", IMAGE, "--auto-approve")
        steps["state_after_deploy"] = (project / "terraform.byoc.tfstate").read_text()
        steps["service_after_deploy"] = stack.service()
        steps["secret_put"] = stack.invoke("secret", "put", input=stack.sentinel + "\n")
        steps["lockdown"] = stack.invoke("lockdown", "--auto-approve")
        steps["state_after_lockdown"] = stack.state()
        steps["policy_after_lockdown"] = stack.client("secretsmanager").get_resource_policy(
            SecretId=stack.outputs["byoc_secret_arn"])["ResourcePolicy"]
        steps["lockdown_again"] = stack.invoke("lockdown", "--auto-approve")  # nothing to approve
        steps["status"] = stack.invoke("status", "--json")
        watcher.stop()
        steps["argv_watch"] = watcher
        steps["files"] = _all_text(project)
        yield stack


def _all_text(root: Path) -> str:
    chunks = []
    for path in root.rglob("*"):
        if path.is_file() and ".terraform/providers" not in path.as_posix():
            chunks.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(chunks)
