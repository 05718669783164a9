"""Where a command's inputs come from (``cli.core.config.resolve``): a flag over the environment
over byoc.toml, and a redeploy's reader list kept from the last deploy unless set. (Environments
and the backend: tests/actions/test_environments_backend.py; damaged files:
tests/core/test_robustness.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cli.core.config import Project, resolve

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"


@pytest.fixture
def project_dir(tmp_path, monkeypatch) -> Path:
    """An empty project folder, with no BYOC_* setting from the environment running the tests."""
    for key in [k for k in os.environ if k.startswith("BYOC_")]:
        monkeypatch.delenv(key)
    return tmp_path


def test_flag_overrides_config_file_and_environment(project_dir, monkeypatch):
    (project_dir / "byoc.toml").write_text(f'container_image = "{IMAGE}"\ndesired_count = 2\ntask_cpu = 512\n'
                                           "task_memory = 1024\n")
    monkeypatch.setenv("BYOC_DESIRED_COUNT", "3")
    values = resolve(Project(project_dir), {"desired_count": "4"})
    assert values["desired_count"] == 4 and values["task_cpu"] == 512 and values["container_image"] == IMAGE
    monkeypatch.delenv("BYOC_DESIRED_COUNT")
    assert resolve(Project(project_dir), {})["desired_count"] == 2


def test_redeploy_keeps_the_lockdown_reader_list_unless_set(project_dir):
    project = Project(project_dir)
    readers = ["arn:aws:iam::123456789012:role/byoc-agents-task-role"]
    project.save_inputs({"container_image": IMAGE, "aws_region": "us-east-1", "app_reader_principal_arns": readers})
    assert resolve(project, {"container_image": IMAGE})["app_reader_principal_arns"] == readers
    assert resolve(project, {"container_image": IMAGE, "app_reader_principal_arns": "[]"})[
        "app_reader_principal_arns"] == []
