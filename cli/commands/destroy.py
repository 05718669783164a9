"""``byoc destroy``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from cli.actions.destroy import destroy as destroy_stack
from cli.commands.app import app
from cli.commands.options import (AsJson, AutoApprove, EndpointUrl, EnvName, ProjectDir, ProviderMirror, open_session,
                                  require_answer)


@app.command()
def destroy(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
            force_delete_secret: Annotated[bool, typer.Option(
                "--force-delete-secret",
                help="Delete the secret at once instead of after its recovery window. Irreversible.")] = False,
            endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None, as_json: AsJson = False) -> None:
    """Destroy everything the last deploy created (asks first).

    The secret is scheduled for deletion with its recovery window (secret_recovery_window_days,
    7 by default) and can be restored until then, unless --force-delete-secret is given.
    """
    s = open_session(project_dir, "destroy", endpoint_url, provider_mirror, env, as_json=as_json)
    s.deployed_inputs()  # nothing deployed: say so, whether or not there is a terminal to ask on
    require_answer(auto_approve)
    result = destroy_stack(s, auto_approve=auto_approve, force_delete_secret=force_delete_secret)
    if as_json:
        typer.echo(json.dumps({"destroyed": asdict(result)}, indent=2, sort_keys=True))
