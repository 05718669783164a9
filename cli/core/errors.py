"""The CLI's one exception type: caught at the command boundary, printed as one line."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


class ByocError(Exception):
    """A failure the user can act on. ``exit_code`` 2 = bad input or usage, 1 = runtime failure."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        #: Longer text behind the one-line message (e.g. terraform's full error output).
        self.detail = ""


class InputError(ByocError):
    """Bad input: exit code 2, and nothing has been changed on disk or in AWS."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=2)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, ``kill``), raised in the main thread the way Python raises
    ``KeyboardInterrupt`` for SIGINT, so every place that stops gracefully on Ctrl-C does so on
    SIGTERM too. Installed by ``cli.main`` for the length of one command."""


class Interrupted(ByocError):
    """Ctrl-C or SIGTERM: terraform, if it ran, was stopped gracefully; exit code 128 + the
    signal's number like a shell (130 for SIGINT, 143 for SIGTERM).

    "Nothing was left half-done" is said only when nothing was: an action that has changed
    something by the time it is stopped says what (``done``) and the one command that finishes
    it (``finish``), through ``half_done``."""

    def __init__(self, command: str | None = None, terminated: bool = False, *, done: str | None = None,
                 finish: str | None = None) -> None:
        self.command, self.terminated, self.done, self.finish = command, terminated, done, finish
        what = "terminated (SIGTERM)" if terminated else "interrupted"
        stopped = what if command is None else (f"{what} during terraform {command}; terraform stopped gracefully "
                                                "(state saved, lock released)")
        if done is not None:
            message = f"{stopped}. Done before that: {done}. To finish: {finish}"
        elif command is None:
            message = f"{what}; nothing was left half-done. Run the command again."
        else:
            message = f"{stopped}. Run the command again to finish."
        super().__init__(message, exit_code=143 if terminated else 130)


@contextmanager
def half_done(done: str, finish: str) -> Iterator[None]:
    """Inside: a Ctrl-C or SIGTERM, in terraform or not, says ``done`` (what this command has
    changed by then) and ``finish`` (the one command that completes it). The innermost says."""
    try:
        yield
    except Interrupted as exc:
        if exc.done is not None:
            raise
        raise Interrupted(exc.command, exc.terminated, done=done, finish=finish) from None
    except KeyboardInterrupt as exc:
        raise Interrupted(terminated=isinstance(exc, Terminated), done=done, finish=finish) from None
