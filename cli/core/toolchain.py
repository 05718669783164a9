"""The programs byoc runs besides Python: terraform, and Node.js (cdktf's constructs run on it,
through jsii). Each is found and its version checked before any work, so a missing or too old one
is one line with the fix (exit 1) — never a failure halfway, such as jsii's own
``AttributeError: '_NodeProcess' object has no attribute '_process'`` when there is no ``node``.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import shutil
import subprocess
from importlib import metadata
from typing import Any

from cli.core.errors import ByocError

#: Ephemeral variables (the seed's pinecone_api_key, never in state) and the S3 backend's own
#: locking (``use_lockfile``, no DynamoDB table) both arrived in Terraform 1.10.
TERRAFORM_MIN = (1, 10)
TERRAFORM_INSTALL = "https://developer.hashicorp.com/terraform/install"
#: jsii (cdktf's bridge to Node.js) requires Node.js 18 or newer since jsii 1.92 (its release notes).
NODE_MIN = (18, 0)
NODE_INSTALL = "https://nodejs.org/en/download"
#: jsii starts this instead of ``node`` from PATH when it is set (jsii's Python runtime).
JSII_NODE_ENV = "JSII_NODE"


def _numbers(version: str) -> tuple[int, ...]:
    """(1, 11, 4) of "1.11.4", "v20.20.2" or "1.12.0-beta1"."""
    return tuple(int(n) for n in re.findall(r"\d+", version.split("-")[0])[:3])


def _shown(minimum: tuple[int, ...]) -> str:
    return ".".join(map(str, minimum)) if minimum[1:] != (0,) else str(minimum[0])


@functools.lru_cache(maxsize=None)
def terraform_version(path: str) -> str | None:
    """The version ``terraform version -json`` reports (no update check: CHECKPOINT_DISABLE)."""
    try:
        proc = subprocess.run([path, "version", "-json"], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "CHECKPOINT_DISABLE": "1"})
        return str(json.loads(proc.stdout)["terraform_version"])
    except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
        return None


def terraform_binary() -> str:
    """terraform's path, once it is known to be 1.10 or newer."""
    path = shutil.which("terraform")
    if not path:
        raise ByocError(f"terraform is not on PATH: install Terraform >= {_shown(TERRAFORM_MIN)} "
                        f"({TERRAFORM_INSTALL}) and run the command again.")
    version = terraform_version(path)
    if version is None:
        raise ByocError(f"{path} did not say which Terraform it is (`terraform version -json` failed): install "
                        f"Terraform >= {_shown(TERRAFORM_MIN)} ({TERRAFORM_INSTALL}) and run the command again.")
    if _numbers(version) < TERRAFORM_MIN:
        raise ByocError(f"terraform {version} ({path}) is older than {_shown(TERRAFORM_MIN)}, which byoc needs "
                        "(ephemeral variables, S3 state locking without DynamoDB): install Terraform >= "
                        f"{_shown(TERRAFORM_MIN)} ({TERRAFORM_INSTALL}) and run the command again.")
    return path


def node_path() -> str | None:
    """The Node.js jsii will start: ``$JSII_NODE``, else ``node`` on PATH."""
    name = os.environ.get(JSII_NODE_ENV) or "node"
    return shutil.which(name)


@functools.lru_cache(maxsize=None)
def node_version(path: str) -> str | None:
    """"20.20.2" of ``node --version``."""
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    text = proc.stdout.strip()
    return text.lstrip("v") if proc.returncode == 0 and re.match(r"v?\d+\.\d+", text) else None


def require_node() -> str:
    """Node.js's path, once it is known to be new enough for cdktf (a synth starts it)."""
    path = node_path()
    fix = f"install Node.js {_shown(NODE_MIN)} or newer ({NODE_INSTALL}) and run the command again"
    if path is None:
        named = os.environ.get(JSII_NODE_ENV)
        where = f"${JSII_NODE_ENV} names {named}, which is not a program" if named else "Node.js is not on PATH"
        raise ByocError(f"{where}, and synth needs it (cdktf runs the stack's constructs on Node.js): {fix}.")
    version = node_version(path)
    if version is None:
        raise ByocError(f"{path} did not say which Node.js it is (`node --version` failed): {fix}.")
    if _numbers(version) < NODE_MIN:
        raise ByocError(f"Node.js {version} ({path}) is older than {_shown(NODE_MIN)}, the oldest cdktf's jsii runs "
                        f"on: {fix}.")
    return path


def versions(providers: dict[str, str]) -> dict[str, Any]:
    """What ``byoc version`` reports: byoc, the programs it runs (None: not found), and what
    renders the stack: cdktf, and ``providers`` (address -> version) with their bindings."""

    def package(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    terraform, node = shutil.which("terraform"), node_path()
    return {
        "byoc": package("byoc"),
        "python": platform.python_version(),
        "terraform": terraform_version(terraform) if terraform else None,
        "node": node_version(node) if node else None,
        "cdktf": package("cdktf"),
        "providers": dict(providers),
        "bindings": {"cdktf-cdktf-provider-aws": package("cdktf-cdktf-provider-aws")},
    }
