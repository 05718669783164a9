"""Every stack input is reachable the same way as a flag, a ``BYOC_*`` environment variable and a
byoc.toml key, and is a Terraform variable of the same name and type: all four come from the one
input table (``stacks.inputs``), so none can drift from the others.

Each good example of every input (tests/stack/test_input_parity.py's table) is given to ``byoc
deploy`` each way — the flag as its help shows it (and a list flag repeated too), the variable the
help names, the key in byoc.toml — and the inputs the command hands to its action must be the
example, the same every way. The action itself is replaced by a recorder: what is under test is
the command's own argument handling, up to the inputs it would deploy.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.commands.deploy as deploy_command
from cli.main import app
from stacks.inputs import BY_NAME, INPUTS

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
_PARITY = Path(__file__).resolve().parents[1] / "stack" / "test_input_parity.py"


def _examples() -> dict[str, tuple[list, list]]:
    spec = importlib.util.spec_from_file_location("input_parity_examples", _PARITY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXAMPLES


GOOD = [(name, value if isinstance(value, dict) else {name: value})
        for name, (good, _bad) in _examples().items() for value in good]


@pytest.fixture(scope="module")
def help_text() -> str:
    return CliRunner().invoke(app, ["deploy", "--help"], terminal_width=100).output


def _env_var(help_text: str, name: str) -> str:
    """The variable ``byoc deploy --help`` names for the input."""
    flag = BY_NAME[name].flag
    entry = " ".join(re.search(rf"^  {re.escape(flag)}\b.*?(?=^  -|\Z)", help_text, re.M | re.S).group(0).split())
    return re.search(r"env var: (BYOC_[A-Z0-9_]+)\]", entry).group(1)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _flags(values: dict, *, repeat: bool) -> list[str]:
    argv: list[str] = []
    for name, value in values.items():
        spec = BY_NAME[name]
        if spec.tf_type == "bool":
            argv.append(spec.flag if value else f"--no-{spec.flag[2:]}")
        elif repeat and isinstance(value, list) and len(value) > 1:
            for item in value:
                argv += [spec.flag, item]
        else:
            argv += [spec.flag, _text(value)]
    return argv


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


@pytest.fixture
def recorded(monkeypatch) -> list[dict]:
    calls: list[dict] = []
    monkeypatch.setattr(deploy_command, "deploy_stack", lambda _s, values, **_kw: calls.append(values) or {})
    for key in ("BYOC_PROJECT_DIR", "BYOC_ENV", *(f"BYOC_{i.name.upper()}" for i in INPUTS)):
        monkeypatch.delenv(key, raising=False)
    return calls


def _deploy(project: Path, values: dict, argv: list[str], env: dict[str, str], recorded: list[dict]) -> dict:
    image = [] if "container_image" in values else ["--container-image", IMAGE]
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "-y", *image, *argv], env=env)
    assert result.exit_code == 0, result.output
    return recorded.pop()


@pytest.mark.parametrize("name, values", GOOD, ids=[f"{n}-{i}" for i, (n, _v) in enumerate(GOOD)])
def test_every_input_is_the_same_value_as_flag_environment_variable_and_byoc_toml_key(
        name, values, recorded, help_text, tmp_path):
    results = {}
    for way in ("flag", "repeated flag", "environment", "byoc.toml"):
        project = tmp_path / way.replace(" ", "-")
        project.mkdir()
        argv, env = [], {}
        if way == "environment":
            env = {_env_var(help_text, n): _text(v) for n, v in values.items()}
        elif way == "byoc.toml":
            (project / "byoc.toml").write_text("".join(f"{n} = {_toml(v)}\n" for n, v in values.items()))
        else:
            argv = _flags(values, repeat=way == "repeated flag")
        results[way] = _deploy(project, values, argv, env, recorded)
    for way, got in results.items():
        assert {n: got[n] for n in values} == values, way
        assert got == results["flag"], way


def test_every_input_is_a_terraform_variable_of_the_same_type(stack_json):
    variables = stack_json["variable"]
    assert set(variables) == {i.name for i in INPUTS} | {"pinecone_api_key"}  # the seed's, Terraform-only
    for spec in INPUTS:
        assert variables[spec.name]["type"] == spec.tf_type, spec.name
