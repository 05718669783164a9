"""No synth when nothing changed, and a synth whenever anything that shapes cdk.tf.json did:
the stack's code, a rendering package's version, the JSON itself, or a synth-time config value
(the backend). Stack inputs are Terraform variables, so changing one needs no synth."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from cli.core import synth as synth_mod
from cli.core.config import Project, open_project
from cli.main import app


@pytest.fixture
def project(synthesized_project, tmp_path) -> Project:
    root = tmp_path / "p"
    shutil.copytree(synthesized_project, root)
    return Project(root)


def test_unchanged_project_is_a_hit(project):
    assert synth_mod.is_fresh(project)


def test_changed_construct_code_is_a_miss(project, tmp_path, monkeypatch):
    code = tmp_path / "code"
    dirs = []
    for d in synth_mod._package_dirs():
        shutil.copytree(d, code / d.name, ignore=shutil.ignore_patterns("__pycache__"))
        dirs.append(code / d.name)
    monkeypatch.setattr(synth_mod, "_package_dirs", lambda: dirs)
    synth_mod._write_cache(project)  # as if this code had produced the JSON
    assert synth_mod.is_fresh(project)
    network = code / "constructs_lib" / "network.py"
    network.write_text(network.read_text() + "\n# a change\n")
    assert not synth_mod.is_fresh(project)


def test_changed_package_version_is_a_miss(project, tmp_path, monkeypatch):
    # Another cdktf release's metadata first on sys.path: the version importlib.metadata reports,
    # as after an upgrade.
    info = tmp_path / "site" / "cdktf-0.21.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: cdktf\nVersion: 0.21.1\n")
    assert synth_mod.is_fresh(project)
    monkeypatch.syspath_prepend(str(info.parent))
    assert synth_mod.metadata.version("cdktf") == "0.21.1"
    assert not synth_mod.is_fresh(project)


def test_deleted_or_edited_output_is_a_miss(project):
    out = project.stack_dir / "cdk.tf.json"
    out.write_text(out.read_text().replace('"byoc-agents"', '"edited"'))
    assert not synth_mod.is_fresh(project)
    out.unlink()
    assert not synth_mod.is_fresh(project)


def test_stack_input_change_needs_no_synth_but_backend_change_does(project):
    (project.root / "byoc.toml").write_text('container_image = "nginx:1.27"\ndesired_count = 5\n')
    assert synth_mod.is_fresh(open_project(project.root, None))
    (project.root / "byoc.toml").write_text('container_image = "nginx:1.27"\n[backend]\nbucket = "b-state"\n'
                                            'region = "us-east-1"\n')
    assert not synth_mod.is_fresh(open_project(project.root, None))


def test_byoc_synth_after_a_miss_synthesizes_again(project):
    (project.stack_dir / "cdk.tf.json").unlink()
    result = CliRunner().invoke(app, ["synth", "-C", str(project.root)])
    assert result.exit_code == 0, result.output
    assert "Synthesized cdktf.out/stacks/byoc/cdk.tf.json" in result.output
    assert synth_mod.is_fresh(project)
    again = CliRunner().invoke(app, ["synth", "-C", str(project.root)])
    assert "up to date" in again.output
