"""``byoc evaluator install`` / ``byoc evaluator status``: the independent policy evaluator."""

from __future__ import annotations

import typer

from cli.commands.app import evaluator_app
from cli.core.session import say


@evaluator_app.command("install")
def evaluator_install() -> None:
    """Install the independent policy evaluator (@cloud-copilot/iam-simulate, AGPL-3.0-or-later)
    with npm from byoc's pinned lockfile into the user's cache, once.

    The embedded emulator judges every policy with it, and `byoc doctor` / `byoc lockdown` ask it
    about the secret's, key's and endpoint's policies as read from AWS. It is never part of byoc's
    own package. On a machine without registry access, prepare a folder on a connected one (see
    `byoc evaluator status`) and point BYOC_EVALUATOR_DIR at it.
    """
    from cli.core.evaluator import EVALUATOR, ensure

    folder = ensure(say=say)
    typer.echo(f"{EVALUATOR}: installed in {folder}")


@evaluator_app.command("status")
def evaluator_status() -> None:
    """Say whether the evaluator is installed, where, and how to install it offline."""
    from cli.core.evaluator import EVALUATOR, locate, prepare_commands

    folder = locate()
    if folder is None:
        typer.echo(f"{EVALUATOR}: not installed. `byoc evaluator install` installs it with npm (registry access). "
                   f"Offline: on a connected machine run\n{prepare_commands()}\nthen set BYOC_EVALUATOR_DIR to that "
                   "folder here.")
        raise typer.Exit(1)
    typer.echo(f"{EVALUATOR}: installed in {folder}")
