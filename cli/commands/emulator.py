"""``byoc emulator``."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.commands.app import app
from cli.core.errors import InputError, Terminated


@app.command()
def emulator(port: Annotated[int, typer.Option(metavar="PORT", help="Port on 127.0.0.1 (0 = a free one).")] = 0) -> None:
    """Run the embedded AWS emulator (moto, gaps filled) in the foreground until Ctrl-C.

    Point other shells at it: export AWS_ENDPOINT_URL=<printed URL> plus any fake credentials.
    """
    if port and not 1 <= port <= 65535:
        raise InputError(f"--port: {port} is not a port; give 1-65535, or 0 for a free one.")
    from cli.emulator import serve  # only this command and `byoc demo` load the emulator

    try:
        serve(port or None, say=typer.echo)
    except KeyboardInterrupt as exc:
        if isinstance(exc, Terminated):
            raise typer.Exit(143) from None
