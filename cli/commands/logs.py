"""``byoc logs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands.app import app
from cli.commands.options import EndpointUrl, EnvName, ProjectDir, open_session
from cli.observers.logs import parse_since, show_logs


@app.command()
def logs(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
         since: Annotated[str, typer.Option("--since", help="How far back to start: 30s, 10m, 2h, 1d.")] = "10m") -> None:
    """Print the service's log lines (its awslogs group), oldest first; --follow for new ones."""
    seconds = parse_since(since)
    d = open_session(project_dir, "logs", endpoint_url, env=env).deployed()
    # Ctrl-C (130) and SIGTERM (143) end --follow through the app's error boundary, as the README says.
    show_logs(d.target, d.outputs, since_seconds=seconds, follow=follow, say=typer.echo)
