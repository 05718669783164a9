"""``byoc logs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands.app import app
from cli.commands.options import EndpointUrl, EnvName, ProjectDir, open_session
from cli.core.session import say
from cli.observers.logs import json_line, parse_since, show_logs, text_line


@app.command()
def logs(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
         since: Annotated[str, typer.Option("--since", metavar="DURATION",
                                            help="How far back to start: 30s, 10m, 2h, 1d.")] = "10m",
         as_json: Annotated[bool, typer.Option(
             "--json", help='One JSON object per line (JSON Lines): {"timestamp", "stream", "message", '
                            '"event_id"}.')] = False) -> None:
    """Print the service's log lines (its awslogs group), oldest first; --follow for new ones."""
    seconds = parse_since(since)
    d = open_session(project_dir, "logs", endpoint_url, env=env, as_json=as_json).deployed()
    # Ctrl-C (130) and SIGTERM (143) end --follow through the app's error boundary, as the README says.
    show_logs(d.target, d.outputs, since_seconds=seconds, follow=follow, say=typer.echo,
              render=json_line if as_json else text_line, note=say)
