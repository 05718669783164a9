"""Build and synthesize the cdktf app: ``python -m stacks.app [--outdir DIR]``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stacks import STACK_NAME, STATE_FILE
from stacks.fast_imports import install as install_fast_imports


def synth(outdir: str | os.PathLike = "cdktf.out", state_file: str | os.PathLike | None = None) -> Path:
    """Synthesize the stack into ``outdir``; returns the stack folder (``outdir/stacks/byoc``).

    ``state_file`` defaults to ``terraform.byoc.tfstate`` beside ``outdir``; the backend gets the
    path relative to the stack folder, so the JSON holds no absolute path.
    """
    # Before cdktf or any construct imports the provider bindings: skip their ~2,000 eager imports.
    install_fast_imports()
    from cdktf import App

    from stacks.byoc_stack import ByocStack

    outdir = Path(outdir).resolve()
    stack_dir = outdir / "stacks" / STACK_NAME
    state = Path(state_file).resolve() if state_file else outdir.parent / STATE_FILE
    outdir.mkdir(parents=True, exist_ok=True)  # cdktf creates only the last folder
    app = App(outdir=str(outdir))
    ByocStack(app, STACK_NAME, state_path=os.path.relpath(state, stack_dir))
    app.synth()
    return stack_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default="cdktf.out")
    args = parser.parse_args()
    print(synth(args.outdir))


if __name__ == "__main__":
    main()
