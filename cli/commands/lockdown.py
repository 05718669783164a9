"""``byoc lockdown``: phase two."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.actions.lockdown import check_principals, lockdown as lock_down
from cli.actions.rollout import RollOptions
from cli.commands.app import app
from cli.commands.options import (DEFAULT_WAIT, AsJson, AutoApprove, EndpointUrl, EnvName, ProjectDir, ProviderMirror,
                                  WaitTimeout, open_session, require_answer)


@app.command()
def lockdown(project_dir: ProjectDir = Path("."), env: EnvName = None,
             principal: Annotated[Optional[list[str]], typer.Option(
                 "--principal", metavar="ARN",
                 help="Another IAM principal ARN that may read the secret (repeatable).")] = None,
             auto_approve: AutoApprove = False, endpoint_url: EndpointUrl = None,
             provider_mirror: ProviderMirror = None,
             remove_principal: Annotated[Optional[list[str]], typer.Option(
                 "--remove-principal", metavar="ARN",
                 help="Stop letting this earlier --principal read (repeatable).")] = None,
             reset: Annotated[bool, typer.Option(
                 "--reset", help="Drop every earlier --principal: only the stack's roles and this run's "
                                 "--principal read.")] = False,
             no_verify_start: Annotated[bool, typer.Option(
                 "--no-verify-start", help="Do not prove the change with new tasks (they read the secret at start).")]
             = False, wait_timeout: WaitTimeout = DEFAULT_WAIT, as_json: AsJson = False) -> None:
    """Phase two: allow only the task and execution roles (plus --principal) to read the secret.

    Re-applies the last deploy's inputs with app_reader_principal_arns set, reads the policy back
    from AWS and shows who may read and through which endpoint, then proves it: new tasks must
    start and read the secret under it. If they cannot, the previous reader list is restored and
    the command exits 1 with the reason. The execution role is always kept: ECS injects the
    secret with it. Earlier --principal readers are kept unless --remove-principal or --reset
    drops them (the list before and after is printed when it changes), so running it again
    changes nothing. A principal of another account is refused: the KMS key trusts only this one.
    """
    check_principals(list(principal or []))
    check_principals(list(remove_principal or []), "--remove-principal")
    s = open_session(project_dir, "lockdown", endpoint_url, provider_mirror, env, as_json=as_json)
    s.deployed_inputs()  # nothing deployed: say so, whether or not there is a terminal to ask on
    require_answer(auto_approve)
    report = lock_down(s, list(principal or []), auto_approve=auto_approve, verify_start=not no_verify_start,
                       options=RollOptions(timeout=wait_timeout), remove=list(remove_principal or []), reset=reset)
    if as_json:
        typer.echo(json.dumps({"lockdown": asdict(report)}, indent=2, sort_keys=True))
