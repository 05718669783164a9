"""``byoc synth``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands.app import app
from cli.commands.options import EnvName, ProjectDir, open_session
from cli.core.synth import ensure_synth


@app.command()
def synth(project_dir: ProjectDir = Path("."), env: EnvName = None,
          force: Annotated[bool, typer.Option("--force", help="Synthesize even when nothing changed.")] = False) -> None:
    """Synthesize the Terraform JSON into cdktf.out/stacks/byoc (skipped when nothing changed)."""
    s = open_session(project_dir, "synth", env=env)
    result = ensure_synth(s.project, force=force)
    where = result.stack_dir.relative_to(s.project.root)
    if result.cached:
        typer.echo(f"{where}/cdk.tf.json is up to date (nothing changed; --force to synthesize anyway).")
    else:
        typer.echo(f"Synthesized {where}/cdk.tf.json in {result.seconds:.1f}s.")
