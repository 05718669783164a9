"""``byoc secret put`` / ``byoc secret rollback``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from cli.actions.rollout import RollOptions
from cli.actions.secret import check_secret_value, put_secret, read_piped_value, rollback_secret
from cli.commands.app import secret_app
from cli.commands.options import (DEFAULT_WAIT, AsJson, EndpointUrl, EnvName, NoRestart, NoWait, ProjectDir,
                                  ProviderMirror, WaitTimeout, open_session)


@secret_app.command("put")
def secret_put(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
               provider_mirror: ProviderMirror = None, no_restart: NoRestart = False, no_wait: NoWait = False,
               wait_timeout: WaitTimeout = DEFAULT_WAIT, as_json: AsJson = False) -> None:
    """Store the Pinecone API key as {"PINECONE_API_KEY": "..."} and roll the service onto it.

    The value is read from stdin when piped (byoc secret put < key.txt) or from a hidden prompt,
    never from the command line, and is never printed. ECS reads a secret only when a task
    starts, so a new deployment follows (starting the service if phase one left it at zero
    tasks), and byoc waits for its tasks. Works before and after lockdown. --json prints the
    new version's id.
    """
    s = open_session(project_dir, "secret", endpoint_url, provider_mirror, env=env, as_json=as_json)
    if sys.stdin is not None and not sys.stdin.isatty():
        value = read_piped_value(sys.stdin)
        s.deployed_inputs()
    else:
        s.deployed_inputs()  # before asking for a value when there is nothing to store it in
        value = check_secret_value(typer.prompt("Pinecone API key", hide_input=True, default="", show_default=False,
                                                err=True))
    version = put_secret(s, value, RollOptions(restart=not no_restart, wait=not no_wait, timeout=wait_timeout))
    if as_json:
        typer.echo(json.dumps({"secret": {"version_id": version}}, indent=2))


@secret_app.command("rollback")
def secret_rollback(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
                    provider_mirror: ProviderMirror = None, no_restart: NoRestart = False, no_wait: NoWait = False,
                    wait_timeout: WaitTimeout = DEFAULT_WAIT, as_json: AsJson = False) -> None:
    """Make the previous value current again (AWSPREVIOUS -> AWSCURRENT) and roll the service onto it.

    The way back from a bad key: no value is read or typed. Fails when there is no previous version.
    --json prints the id of the version now current.
    """
    s = open_session(project_dir, "secret", endpoint_url, provider_mirror, env=env, as_json=as_json)
    version = rollback_secret(s, RollOptions(restart=not no_restart, wait=not no_wait, timeout=wait_timeout))
    if as_json:
        typer.echo(json.dumps({"secret": {"version_id": version}}, indent=2))
