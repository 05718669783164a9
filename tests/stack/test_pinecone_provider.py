"""Optional Pinecone index management with the pinecone-io/pinecone provider (byoc.toml [pinecone]).

The provider cannot be installed offline here, so these tests are synth-level: what the JSON
says, that the key is never in it, that bad settings are refused with exit 2 before anything
runs, and that `byoc deploy` says clearly that the provider needs registry access (terraform
init runs for real, with a provider mirror that holds only the AWS provider: no network).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.core.config import open_project
from cli.main import app
from cli.core.synth import ensure_synth, is_fresh
from stacks import STACK_NAME
from constructs_lib.catalog import PINECONE_API_KEY_ENV as API_KEY_ENV
from constructs_lib.catalog import PINECONE_PROVIDER_SOURCE as PROVIDER_SOURCE

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"
SENTINEL = "pcsk_SENTINEL_pinecone_provider_7f3a"
CONFIG = f'''container_image = "{IMAGE}"

[pinecone]
manage_indexes = true

[pinecone.indexes.agent-memory]
dimension = 1536

[pinecone.indexes.docs]
dimension = 768
metric = "dotproduct"
deletion_protection = "disabled"
'''


@pytest.fixture(scope="module")
def pinecone_project(tmp_path_factory) -> Path:
    """A project with [pinecone] on, synthesized once for this module (with the key in the environment)."""
    project = tmp_path_factory.mktemp("pinecone") / "project"
    project.mkdir()
    (project / "byoc.toml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(API_KEY_ENV, SENTINEL)
        ensure_synth(open_project(project, None), force=True)
    return project


@pytest.fixture(scope="module")
def pinecone_json(pinecone_project) -> dict:
    return json.loads((pinecone_project / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_text())


def _files(project: Path) -> dict[str, str]:
    return {p.relative_to(project).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(project.rglob("*")) if p.is_file()}


def test_default_stack_names_no_pinecone_provider(stack_json):
    assert set(stack_json["terraform"]["required_providers"]) == {"aws"}
    assert "pinecone" not in stack_json.get("provider", {})
    assert "pinecone_indexes" not in stack_json["variable"]


def test_pinecone_provider_is_required_from_the_registry_with_a_pinned_major(pinecone_json):
    assert pinecone_json["terraform"]["required_providers"]["pinecone"] == {"source": PROVIDER_SOURCE,
                                                                           "version": "~> 2.0"}


def test_pinecone_provider_reads_the_environment_unless_the_ephemeral_api_key_variable_is_set(pinecone_json):
    # Empty (byoc's way): null, so the provider reads PINECONE_API_KEY; the seed's -var pinecone_api_key
    # is ephemeral, so it never reaches the state or a saved plan (the sentinel test below).
    assert pinecone_json["provider"]["pinecone"] == [
        {"api_key": '${var.pinecone_api_key == "" ? null : var.pinecone_api_key}'}]
    variable = pinecone_json["variable"]["pinecone_api_key"]
    assert (variable["ephemeral"], variable["sensitive"], variable["default"]) == (True, True, "")
    assert not variable.get("validation")  # accepted: the provider takes it


def test_api_key_from_the_environment_never_reaches_cdktf_out(pinecone_project):
    for path in (pinecone_project / "cdktf.out").rglob("*"):
        if path.is_file():
            assert SENTINEL not in path.read_text(errors="replace"), path


def test_indexes_are_a_variable_defaulting_to_the_config_tables(pinecone_json):
    variable = pinecone_json["variable"]["pinecone_indexes"]
    # Names keep their hyphens (jsii would rewrite dict keys; the default is written as an override).
    assert variable["default"] == {
        "agent-memory": {"dimension": 1536, "metric": "cosine", "deletion_protection": "enabled"},
        "docs": {"dimension": 768, "metric": "dotproduct", "deletion_protection": "disabled"},
    }
    assert variable["type"].startswith("map(object(")
    (rule,) = variable["validation"]
    assert "var.pinecone_indexes" in rule["condition"] and rule["error_message"]


def test_one_serverless_index_per_entry_in_the_stack_region(pinecone_json):
    index = pinecone_json["resource"]["pinecone_index"]["index"]
    assert index["for_each"] == "${var.pinecone_indexes}"
    assert index["provider"] == "pinecone"
    assert (index["name"], index["dimension"], index["metric"]) == (
        "${each.key}", "${each.value.dimension}", "${each.value.metric}")
    assert index["deletion_protection"] == "${each.value.deletion_protection}"
    assert index["spec"] == {"serverless": {"cloud": "aws", "region": "${var.aws_region}"}}
    assert "pinecone_index.index" in pinecone_json["output"]["pinecone_index_hosts"]["value"]


def test_the_aws_part_is_unchanged_by_the_pinecone_switch(pinecone_json, stack_json):
    aws_only = {kind: sorted(names) for kind, names in pinecone_json["resource"].items() if kind != "pinecone_index"}
    assert aws_only == {kind: sorted(names) for kind, names in stack_json["resource"].items()}


def test_changing_an_index_in_byoc_toml_makes_the_synth_stale(pinecone_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(pinecone_project, project)
    assert is_fresh(open_project(project, None))
    (project / "byoc.toml").write_text(CONFIG.replace("dimension = 768", "dimension = 1024"))
    assert not is_fresh(open_project(project, None))


@pytest.mark.parametrize(("table", "field"), [
    ("[pinecone]\nmanage_indexes = true\n[pinecone.indexes.Agent_Memory]\ndimension = 8\n", "pinecone.indexes.Agent_Memory"),
    ("[pinecone]\nmanage_indexes = true\n[pinecone.indexes.a]\ndimension = 0\n", "pinecone.indexes.a.dimension"),
    ("[pinecone]\nmanage_indexes = true\n[pinecone.indexes.a]\ndimension = 8\nmetric = \"hamming\"\n",
     "pinecone.indexes.a.metric"),
    ("[pinecone]\nmanage_indexes = true\n[pinecone.indexes.a]\ndimension = 8\napi_key = \"x\"\n",
     "pinecone.indexes.a.api_key"),
    ("[pinecone]\nmanage_indexes = \"yes\"\n", "pinecone.manage_indexes"),
    ("[pinecone]\napi_key = \"pcsk_x\"\n", "pinecone.api_key"),
])
def test_bad_pinecone_settings_exit_2_naming_the_field_and_change_nothing(tmp_path, table, field):
    (tmp_path / "byoc.toml").write_text(f'container_image = "{IMAGE}"\n\n{table}')
    before = _files(tmp_path)
    result = CliRunner().invoke(app, ["synth", "-C", str(tmp_path)])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and field in lines[0] and "Traceback" not in result.output, result.output
    assert _files(tmp_path) == before


def test_deploy_without_the_api_key_in_the_environment_exits_2_before_anything(pinecone_project, tmp_path, emulator,
                                                                              monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(pinecone_project, project)
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    before = _files(project)
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "--auto-approve"])
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith(f"byoc: error: {API_KEY_ENV}: not set"), result.output
    assert "never pass it as an argument" in lines[0]
    assert _files(project) == before


def test_deploy_says_the_pinecone_provider_needs_registry_access(pinecone_project, tmp_path, emulator, monkeypatch,
                                                                 provider_mirror):
    """Real terraform init with a mirror holding only hashicorp/aws: no network, the provider is missing."""
    project = tmp_path / "project"
    shutil.copytree(pinecone_project, project)
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(API_KEY_ENV, SENTINEL)
    result = CliRunner().invoke(app, ["deploy", "-C", str(project), "--auto-approve",
                                      "--provider-mirror", str(provider_mirror)])
    assert result.exit_code == 1, result.output
    last = result.output.strip().splitlines()[-1]
    assert "terraform init could not install the provider pinecone-io/pinecone" in last, result.output
    assert "registry access" in last and "manage_indexes = false" in last
    assert SENTINEL not in result.output
    for log in (project / ".byoc").rglob("*.log"):
        assert SENTINEL not in log.read_text(errors="replace"), log
    assert not (project / "terraform.byoc.tfstate").exists()  # nothing was applied


@pytest.mark.terraform
@pytest.mark.parametrize("ephemeral", [True, False])
def test_pinecone_api_key_never_reaches_a_saved_plan_or_the_state(pinecone_json, tmp_path, terraform_rc, ephemeral):
    """The stack's own declaration (with the provider, so accepted), planned to a file and applied
    with -var pinecone_api_key=<sentinel>. The plan file is read three ways: its bytes, the bytes
    of every file inside it (a zip, deflated: its own bytes never show a value), and what
    ``terraform show -json`` makes of it. The control run without ``ephemeral`` shows that
    Terraform would otherwise keep the value in the plan (in the last two)."""
    import zipfile

    from tfrun import terraform, variables_only

    stack = json.loads(json.dumps(pinecone_json))
    if not ephemeral:
        del stack["variable"]["pinecone_api_key"]["ephemeral"]
    folder = variables_only(stack, tmp_path)
    key = ["-var", f"pinecone_api_key={SENTINEL}"]
    terraform(folder, {}, "plan", "-input=false", "-no-color", "-out=key.tfplan", "-var", f"container_image={IMAGE}",
              *key)
    plan = folder / "key.tfplan"
    with zipfile.ZipFile(plan) as archive:
        members = [archive.read(n) for n in archive.namelist()]
    shown = terraform(folder, {}, "show", "-json", plan.name).stdout
    needle = SENTINEL.encode()
    assert needle not in plan.read_bytes()
    assert any(needle in member for member in members) is not ephemeral
    assert (SENTINEL in shown) is not ephemeral
    if ephemeral:  # an ephemeral value is given again at apply, and kept nowhere
        proc = terraform(folder, {}, "apply", "-input=false", "-no-color", *key, plan.name)
        assert SENTINEL not in proc.stdout + proc.stderr
        assert SENTINEL not in (folder / "terraform.tfstate").read_text()
