"""``byoc deploy``: phase one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from cli.actions.deploy import deploy as deploy_stack
from cli.actions.rollout import RollOptions
from cli.commands.app import ByocCommand, app
from cli.commands.options import (DEFAULT_WAIT, AsJson, AutoApprove, EndpointUrl, EnvName, NoWait, ProjectDir,
                                  ProviderMirror, WaitTimeout, input_options, open_session, require_answer)
from cli.core.config import resolve


@app.command(cls=ByocCommand)
@input_options
def deploy(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
           endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None, no_wait: NoWait = False,
           wait_timeout: WaitTimeout = DEFAULT_WAIT, as_json: AsJson = False, **inputs: Any) -> None:
    """Phase one: synth if needed, terraform init and plan, ask, apply with live progress, print
    outputs, then wait until the service's tasks run and pass health checks (or say why not).

    Inputs come from byoc.toml, then BYOC_<NAME> environment variables, then these flags
    (--container-image is required). They are kept in .byoc/inputs.tfvars.json for the later
    commands; a lockdown's reader list is kept across re-deploys unless you set it. While the
    secret has no value the service runs no tasks (start_tasks = false): `byoc secret put` starts them.
    `byoc plan` shows what this would change, without changing it.
    """
    s = open_session(project_dir, "deploy", endpoint_url, provider_mirror, env, as_json=as_json)
    explicit: set[str] = set()
    values = resolve(s.project, inputs, explicit)
    require_answer(auto_approve)
    outputs = deploy_stack(s, values, auto_approve=auto_approve,
                           options=RollOptions(wait=not no_wait, timeout=wait_timeout),
                           start_tasks_set="start_tasks" in explicit)
    if as_json:
        typer.echo(json.dumps({"outputs": dict(outputs)}, indent=2, sort_keys=True))
