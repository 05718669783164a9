"""``byoc completion SHELL``: the shell completion script, as ``gh completion -s SHELL`` prints it.

The script is typer's own (``--install-completion`` installs the same one for the shell it
detects); this command names the shell instead of detecting it, for dotfiles and for shells
other than the current one.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer._completion_shared import get_completion_script

from cli.commands.app import app


SHELLS = ("bash", "zsh", "fish")


def _shell(raw: str) -> str:
    if raw not in SHELLS:
        raise typer.BadParameter(f"{raw!r} is not a shell byoc completes in; give bash, zsh or fish.")
    return raw


#: What the installed script sets to ask byoc for completions: typer's ``_<PROG>_COMPLETE``.
COMPLETE_VAR = "_BYOC_COMPLETE"


@app.command()
def completion(shell: Annotated[str, typer.Argument(
        metavar="SHELL", hidden=True, parser=_shell,
        autocompletion=lambda incomplete: [s for s in SHELLS if s.startswith(incomplete)])]) -> None:
    """Print the completion script for SHELL (bash, zsh or fish): commands, options, and the values
    of the inputs that take a fixed set (--nat-mode, --task-cpu, ...).

    \b
    bash: byoc completion bash > ~/.local/share/bash-completion/completions/byoc
    zsh:  byoc completion zsh > "${fpath[1]}/_byoc"
    fish: byoc completion fish > ~/.config/fish/completions/byoc.fish
    Or `byoc --install-completion` for the shell you are in.
    """
    typer.echo(get_completion_script(prog_name="byoc", complete_var=COMPLETE_VAR, shell=shell))
