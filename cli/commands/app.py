"""The ``byoc`` Typer app and its one error boundary.

Errors are handled here only (``ByocGroup``): a ``ByocError`` or a usage mistake is printed as
one line on stderr with exit code 2 (bad input) or 1 (runtime failure); Ctrl-C exits 130 and
SIGTERM 143, terraform stopped gracefully first; anything else is a bug in byoc, reported in one
line with its traceback written to ``.byoc/logs/`` (``cli/core/crash.py``). Never a traceback.
"""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

try:  # typer 0.2x vendors its own click as typer._click; older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError

from cli.core.crash import crash_report, terminate_like_ctrl_c
from cli.core.errors import ByocError, Interrupted, Terminated


class ByocGroup(TyperGroup):
    """Click group whose failures are one line: usage errors exit 2, ByocError its own code,
    SIGINT 130 and SIGTERM 143, and anything else (a bug in byoc) 1 with the traceback in a file."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        with terminate_like_ctrl_c():
            try:
                return self._main(args, prog_name, complete_var, **extra)
            except Exception as exc:  # the last resort: nothing else may reach the user as a traceback
                typer.echo(f"byoc: internal error: {crash_report(exc)}", err=True)
                sys.exit(1)

    def invoke(self, ctx):
        """Ctrl-C (or SIGTERM) outside terraform, as byoc's own exception: typer's handling of a
        ``KeyboardInterrupt`` differs between versions (``Abort``, or ``Exit(130)``)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted(terminated=isinstance(exc, Terminated)) from None

    def _main(self, args, prog_name, complete_var, **extra):
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
            typer.echo(f"byoc: error: {message}{where}", err=True)
            sys.exit(2)
        except typer.Abort:
            typer.echo("byoc: aborted.", err=True)
            sys.exit(1)
        except Interrupted as exc:
            typer.echo(f"byoc: {exc}", err=True)
            sys.exit(exc.exit_code)
        except ByocError as exc:
            typer.echo(f"byoc: error: {exc}", err=True)
            sys.exit(exc.exit_code)


app = typer.Typer(
    cls=ByocGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Prepare an AWS account for Pinecone BYOC: a private ECS/Fargate service that reads "
         "PINECONE_API_KEY from Secrets Manager through VPC endpoints, KMS-encrypted, least privilege.\n\n"
         "Typical flow: byoc deploy -> byoc secret put -> byoc lockdown -> byoc status. "
         "Try it without an AWS account: byoc demo.")
secret_app = typer.Typer(cls=ByocGroup, no_args_is_help=True, help="Manage the PINECONE_API_KEY secret's value.")
evaluator_app = typer.Typer(cls=ByocGroup, no_args_is_help=True,
                            help="The independent policy evaluator the emulator, doctor and lockdown judge policies "
                                 "with: install it, or see where it is.")
backend_app = typer.Typer(cls=ByocGroup, no_args_is_help=True,
                          help="Remote state in S3: create the bucket, move a local state into it.")
