"""``byoc version``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.commands.app import app
from cli.core.terraform import PROVIDER_ADDRESS, PROVIDER_VERSION
from cli.core.toolchain import versions


@app.command()
def version(as_json: Annotated[bool, typer.Option("--json", help="Print the versions as JSON.")] = False) -> None:
    """Print the versions of byoc and of what it runs: terraform, Node.js, cdktf and the AWS provider.

    A program that is not found is shown as such (null with --json); `byoc --version` prints
    byoc's alone.
    """
    found = versions({PROVIDER_ADDRESS: PROVIDER_VERSION})
    if as_json:
        typer.echo(json.dumps(found, indent=2, sort_keys=True))
        return
    missing = "not found"
    typer.echo(f"byoc {found['byoc']} (Python {found['python']})")
    typer.echo(f"terraform {found['terraform'] or missing}")
    typer.echo(f"Node.js {found['node'] or missing}")
    typer.echo(f"cdktf {found['cdktf'] or missing}")
    for address, pinned in found["providers"].items():
        typer.echo(f"provider {address} {pinned} (bindings: cdktf-cdktf-provider-aws "
                   f"{found['bindings']['cdktf-cdktf-provider-aws'] or missing})")
