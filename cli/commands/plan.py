"""``byoc plan``: what ``byoc deploy`` would change, without changing it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.actions.plan import plan as plan_stack
from cli.commands.app import ByocCommand, app
from cli.commands.options import AsJson, EndpointUrl, EnvName, ProjectDir, ProviderMirror, input_options, open_session
from cli.core.config import resolve

#: ``--detailed-exitcode``'s "succeeded, changes pending", as terraform's.
CHANGES_PENDING = 2


@app.command(cls=ByocCommand)
@input_options
def plan(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
         provider_mirror: ProviderMirror = None,
         detailed_exitcode: Annotated[bool, typer.Option(
             "--detailed-exitcode", help="Exit 0 when nothing would change, 2 when changes are pending, 1 on an "
                                         "error (terraform plan's -detailed-exitcode).")] = False,
         as_json: AsJson = False, **inputs: Any) -> None:
    """Preview a deploy: synth if needed, terraform init, plan; print the plan's summary as
    `byoc deploy` shows it before asking, and change nothing (no apply, no saved inputs).

    Takes the inputs `byoc deploy` takes, from the same places (byoc.toml, BYOC_<NAME>, flags; a
    lockdown's reader list kept). --json prints the summary and the resource addresses by action.
    """
    s = open_session(project_dir, "plan", endpoint_url, provider_mirror, env, as_json=as_json)
    explicit: set[str] = set()
    values = resolve(s.project, inputs, explicit)
    summary = plan_stack(s, values, start_tasks_set="start_tasks" in explicit)
    if as_json:
        typer.echo(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
    if detailed_exitcode and not summary.empty:
        raise typer.Exit(CHANGES_PENDING)
