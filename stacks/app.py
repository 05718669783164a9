"""Build and synthesize the cdktf app: ``python -m stacks.app [--outdir DIR]``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stacks import STACK_NAME
from stacks.backend import S3Backend
from stacks.pinecone import PineconeIndexes
from stacks.fast_imports import install as install_fast_imports
from stacks.fast_imports import node_hook, silence_node_eol


def synth(outdir: str | os.PathLike = "cdktf.out", state_file: str | os.PathLike | None = None,
          stack_name: str = STACK_NAME, backend: "S3Backend | None" = None,
          pinecone: "PineconeIndexes | None" = None) -> Path:
    """Synthesize the stack into ``outdir``; returns the stack folder (``outdir/stacks/<stack_name>``).

    ``state_file`` defaults to ``terraform.<stack_name>.tfstate`` beside ``outdir``; the local
    backend gets the path relative to the stack folder, so the JSON holds no absolute path.
    ``backend`` (S3) replaces the local state; ``pinecone`` adds the Pinecone provider and indexes.
    """
    # Before cdktf or any construct imports the provider bindings: skip their ~2,000 eager imports.
    install_fast_imports()
    # jsii starts Node on this first import: without the EOL banner, loading the provider lazily.
    with silence_node_eol(), node_hook():
        from cdktf import App

    from stacks.byoc_stack import ByocStack

    outdir = Path(outdir).resolve()
    stack_dir = outdir / "stacks" / stack_name
    state = Path(state_file).resolve() if state_file else outdir.parent / f"terraform.{stack_name}.tfstate"
    outdir.mkdir(parents=True, exist_ok=True)  # cdktf creates only the last folder
    app = App(outdir=str(outdir))
    ByocStack(app, stack_name, state_path=os.path.relpath(state, stack_dir), backend=backend, pinecone=pinecone)
    app.synth()
    return stack_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--outdir", default="cdktf.out")
    parser.add_argument("--stack", default=STACK_NAME, help="stack name (byoc, or byoc-<env>)")
    parser.add_argument("--backend-json", default=None, help="S3 backend settings (stacks.backend.S3Backend)")
    parser.add_argument("--pinecone-json", default=None, help="Pinecone indexes (stacks.pinecone.PineconeIndexes)")
    args = parser.parse_args()
    backend = S3Backend.from_json(args.backend_json) if args.backend_json else None
    pinecone = PineconeIndexes.from_json(args.pinecone_json) if args.pinecone_json else None
    print(synth(args.outdir, stack_name=args.stack, backend=backend, pinecone=pinecone))


if __name__ == "__main__":
    main()
