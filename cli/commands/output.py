"""``byoc output``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.commands.app import app
from cli.commands.options import EndpointUrl, EnvName, ProjectDir, open_session
from cli.observers.outputs import read_outputs, render


@app.command()
def output(name: Annotated[Optional[str], typer.Argument(metavar="NAME", hidden=True)] = None,
           project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
           as_json: Annotated[bool, typer.Option("--json", help="As terraform output -json.")] = False,
           raw: Annotated[bool, typer.Option("--raw", help="NAME's value alone, unquoted, no newline (strings, "
                                                           "numbers, bools).")] = False) -> None:
    """Print the deployment's outputs, as `terraform output` does (read from the state; no terraform run).

    `byoc output` lists them; `byoc output NAME` prints one; --json prints terraform's JSON;
    --raw prints a value for a shell variable: "$(byoc output --raw byoc_secret_arn)".
    """
    text = render(read_outputs(open_session(project_dir, "output", endpoint_url, env=env)), name,
                  as_json=as_json, raw=raw)
    typer.echo(text, nl=not raw)
