"""The ``byoc`` Typer app, its global options and its one error boundary.

Errors are handled here only (``ByocGroup``): a ``ByocError`` or a usage mistake is printed as
one line on stderr with exit code 2 (bad input) or 1 (runtime failure); with ``--json`` the same
error is also printed on stdout as ``{"error": ..., "exit": N}``; with ``--detailed-exitcode``
(``byoc plan``) every error exits 1, since 2 there means "changes pending", as in terraform.
Ctrl-C exits 130 and SIGTERM 143, terraform stopped gracefully first; anything else is a bug in
byoc, reported in one line with its traceback written to ``.byoc/logs/`` (``cli/core/crash.py``).
Never a traceback.

Help is plain text (no escape codes); a command's options are grouped by their help panel
(``ByocCommand``): the stack inputs by what they shape (``stacks.inputs.PANELS``).
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer 0.2x vendors its own click as typer._click; older typer uses click itself
    from typer._click.exceptions import UsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError
    from click.globals import get_current_context

from cli.core.crash import crash_report, terminate_like_ctrl_c
from cli.core.errors import ByocError, Interrupted, Terminated

#: The general options of a command come first in its help, under this title.
GENERAL = "Options"


def current_context():
    """The running command's click context (None outside a command)."""
    return get_current_context(silent=True)


def _flags(args) -> list[str]:
    """The words of the command line before a ``--``."""
    words = list(sys.argv[1:] if args is None else args)
    return words[:words.index("--")] if "--" in words else words


class ByocGroup(TyperGroup):
    """Click group whose failures are one line: usage errors exit 2, ByocError its own code,
    SIGINT 130 and SIGTERM 143, and anything else (a bug in byoc) 1 with the traceback in a file."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        words = _flags(args)
        with terminate_like_ctrl_c():
            try:
                return self._main(args, prog_name, complete_var, **extra)
            except Exception as exc:  # the last resort: nothing else may reach the user as a traceback
                _fail(f"byoc: internal error: {crash_report(exc)}", 1, words)

    def invoke(self, ctx):
        """Ctrl-C (or SIGTERM) outside terraform, as byoc's own exception: typer's handling of a
        ``KeyboardInterrupt`` differs between versions (``Abort``, or ``Exit(130)``)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted(terminated=isinstance(exc, Terminated)) from None

    def _main(self, args, prog_name, complete_var, **extra):
        words = _flags(args)
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
            if isinstance(result, int):  # non-standalone click returns typer.Exit's code
                sys.exit(result)
            return result
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            message = exc.format_message()
            if exc.ctx and exc.ctx.command_path.endswith("secret put") and "unexpected extra argument" in message:
                # Whatever was typed there may be the key itself: never repeat it.
                message = "the value is never taken from the command line; pipe it on stdin or type it at the prompt"
            _fail(f"byoc: error: {message}{where}", 2, words)
        except typer.Abort:
            _fail("byoc: aborted.", 1, words)
        except Interrupted as exc:
            _fail(f"byoc: {exc}", exc.exit_code, words)
        except ByocError as exc:
            _fail(f"byoc: error: {exc}", exc.exit_code, words)


def _error_code(code: int, words: list[str]) -> int:
    """With ``--detailed-exitcode`` an error exits 1 (2 there means "changes pending")."""
    return 1 if code == 2 and "--detailed-exitcode" in words else code


def _fail(line: str, code: int, words: list[str]) -> None:
    """The one line on stderr; with ``--json`` also ``{"error": ..., "exit": N}`` on stdout."""
    code = _error_code(code, words)
    typer.echo(line, err=True)
    if "--json" in words:
        message = line.split(": error: ", 1)[-1] if ": error: " in line else line.removeprefix("byoc: ")
        typer.echo(json.dumps({"error": message, "exit": code}))
    sys.exit(code)


class ByocCommand(TyperCommand):
    """A command whose help lists its options by panel: the general ones first, then one section
    per ``rich_help_panel`` in the order the options were declared. Plain text, as everywhere."""

    def format_options(self, ctx, formatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {GENERAL: []}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(getattr(param, "rich_help_panel", None) or GENERAL, []).append(record)
        for title, records in sections.items():
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"byoc {metadata.version('byoc')}")
        raise typer.Exit(0)


#: -h as --help; help as wide as the terminal up to 120 columns (click stops at 80 by default).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}

app = typer.Typer(
    cls=ByocGroup, no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
    rich_markup_mode=None, context_settings=CONTEXT,
    help="Prepare an AWS account for Pinecone BYOC: a private ECS/Fargate service that reads "
         "PINECONE_API_KEY from Secrets Manager through VPC endpoints, KMS-encrypted, least privilege.\n\n"
         "Typical flow: byoc plan -> byoc deploy -> byoc secret put -> byoc lockdown -> byoc status. "
         "Try it without an AWS account: byoc demo.")
secret_app = typer.Typer(cls=ByocGroup, no_args_is_help=True, context_settings=CONTEXT,
                         help="Manage the PINECONE_API_KEY secret's value.")
evaluator_app = typer.Typer(cls=ByocGroup, no_args_is_help=True, context_settings=CONTEXT,
                            help="The independent policy evaluator the emulator, doctor and lockdown judge policies "
                                 "with: install it, or see where it is.")
backend_app = typer.Typer(cls=ByocGroup, no_args_is_help=True, context_settings=CONTEXT,
                          help="Remote state in S3: create the bucket, move a local state into it.")


@app.callback()
def main(version: Annotated[bool, typer.Option(
             "--version", is_eager=True, callback=_version, help="Print byoc's version and exit.")] = False,
         project_dir: Annotated[Optional[Path], typer.Option(
             "--project-dir", "-C", metavar="DIR",
             help="Project folder, for any command (also taken after the command).")] = None,
         env: Annotated[Optional[str], typer.Option(
             "--env", "-e", metavar="NAME",
             help="Environment of byoc.toml, for any command (also taken after the command).")] = None) -> None:
    """The global options; each command reads them (``cli/commands/options.py``)."""
