"""Shared fixtures: one synth per session, the offline provider mirror, a moto server per test.

Synth is expensive (jsii + Node), so the stack is synthesized once per session into a
project folder; tests that run terraform copy that synthesized project (the state path in the
JSON is relative, so a copy is a working project of its own).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.config import Project
from cli.emulator import running
from cli.synth import ensure_synth
from cli.terraform import PROVIDER_ADDRESS, PROVIDER_VERSION, find_provider_mirror
from stacks import STACK_NAME

REPO = Path(__file__).resolve().parents[1]


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


@pytest.fixture
def emulator():
    """A moto server on 127.0.0.1, started for this test and stopped after it."""
    with running() as emu:
        yield emu


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
        yield emu


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
