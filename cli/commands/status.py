"""``byoc status``."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.commands.app import app
from cli.commands.options import AsJson, EndpointUrl, EnvName, ProjectDir, open_session
from cli.observers.status import status as read_status


@app.command()
def status(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
           as_json: AsJson = False) -> None:
    """Show the outputs, whether the secret has a value (never the value), who may read it, and the
    service: running and desired tasks, the rollout, healthy targets, the last stopped reason."""
    result = read_status(open_session(project_dir, "status", endpoint_url, env=env, as_json=as_json))
    typer.echo(result.as_json() if as_json else "\n".join(result.human()))
