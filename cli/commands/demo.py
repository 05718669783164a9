"""``byoc demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.commands.app import app
from cli.commands.options import ProviderMirror, global_option, mirror_from


@app.command()
def demo(project_dir: Annotated[Optional[Path], typer.Option(
             "--project-dir", "-C", metavar="DIR",
             help="Keep the demo project here instead of a temporary folder.")] = None,
         provider_mirror: ProviderMirror = None) -> None:
    """Run the whole two-phase flow against the embedded emulator, no AWS account needed.

    synth -> deploy -> secret put (a generated dummy key) -> lockdown -> who may read (the
    policies judged by an independent evaluator) -> the seed's own failure (the reader list
    narrowed to the task role by hand: new tasks are denied, doctor names it, lockdown repairs it)
    -> verify (a further plan shows no changes) -> status -> destroy. The emulator evaluates
    policies (its evaluator is installed with npm on first use). Exits 0 only if every step verified.
    """
    from cli.actions.demo import run_demo  # loads the emulator

    project_dir = global_option("project_dir", project_dir)
    run_demo(Path(project_dir).resolve() if project_dir else None, mirror_from(provider_mirror))
