"""Real terraform and boto3 against a test's moto server: the one way the tests run both.

``terraform`` runs in a stack folder with the test's environment (endpoint, credentials, CLI
config) plus the settings that keep it quiet and local (no prompts, no version check);
``aws`` is a boto3 client for the same emulator.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3

TERRAFORM_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}


def terraform(stack_dir: Path, env: dict[str, str], *args: str, ok: tuple[int, ...] | None = (0,),
              timeout: int = 900, stdin: str | None = None) -> subprocess.CompletedProcess:
    """Run ``terraform *args``; unless ``ok`` is None, fail the test on an exit code outside ``ok``."""
    proc = subprocess.run(["terraform", *args], cwd=stack_dir, env={**os.environ, **env, **TERRAFORM_ENV},
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    assert ok is None or proc.returncode in ok, \
        f"terraform {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def aws(env: dict[str, str], service: str):
    """A boto3 client for ``service`` at the emulator that ``env`` points to."""
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env.get("AWS_REGION", "us-east-1"),
                        aws_access_key_id=env.get("AWS_ACCESS_KEY_ID", "testing"),
                        aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY", "testing"),
                        aws_session_token=env.get("AWS_SESSION_TOKEN"))


def variables_only(stack_json: dict, folder: Path) -> Path:
    """A configuration holding exactly the stack's ``variable`` blocks (and its required Terraform
    version), initialized in ``folder``: no resources and no providers, so a plan there evaluates
    the stack's own validations with real terraform in well under a second."""
    doc = {"terraform": {"required_version": stack_json["terraform"]["required_version"]},
           "variable": stack_json["variable"]}
    (folder / "main.tf.json").write_text(json.dumps(doc, indent=2))
    terraform(folder, {}, "init", "-input=false", "-no-color", "-backend=false")
    return folder


def stopped_of(ecs, cluster: str, service: str, deployment: str) -> list[dict]:
    """The stopped tasks of one deployment: by service, every page (ListTasks takes startedBy only
    as its one filter, and pages), described 100 at a time."""
    arns = [a for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=service,
                                                                   desiredStatus="STOPPED") for a in page["taskArns"]]
    tasks = [t for i in range(0, len(arns), 100) for t in ecs.describe_tasks(cluster=cluster, tasks=arns[i:i + 100])["tasks"]]
    return [t for t in tasks if t["startedBy"] == deployment]
