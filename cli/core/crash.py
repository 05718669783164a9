"""The last resorts of the error boundary (``cli/main.py``): SIGTERM handled like Ctrl-C, and a
bug in byoc reported as one line with its traceback kept in a file.

Everything a user can act on is a ``ByocError`` with its own one-line message; what reaches
``crash_report`` is byoc's own fault (a ``KeyError``, a ``ValueError`` from a reader, ...), so the
line says so, names the exception and the place, and points at the file holding the traceback
(``.byoc/logs/crash-<time>.log`` in the project, else in the current folder). The traceback is
not printed: it is for the bug report, and a terminal full of it hides the one line that matters.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cli.core.errors import Terminated

_project: list[Path] = []
#: byoc's own packages: the innermost frame in one of them is where a bug is reported.
_PACKAGES = ("cli", "stacks", "constructs_lib")


def remember_project(root: Path) -> None:
    """The project folder of the running command: where a crash report goes."""
    _project[:] = [root]


@contextmanager
def terminate_like_ctrl_c() -> Iterator[None]:
    """For the length of one command, SIGTERM raises ``Terminated`` (a ``KeyboardInterrupt``) in
    the main thread, so terraform gets the same graceful stop as on Ctrl-C and byoc exits 143.
    The previous handler comes back afterwards (in-process callers such as tests keep theirs)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(_signum, _frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def crash_report(exc: BaseException) -> str:
    """One line for a bug in byoc: the exception, where it was raised, and the traceback's file."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if any(f"{os.sep}{package}{os.sep}" in f.filename for package in _PACKAGES)]
    where = ""
    if ours or frames:
        frame = (ours or frames)[-1]
        parts = Path(frame.filename).parts
        short = "/".join(parts[-2:]) if len(parts) >= 2 else frame.filename
        where = f" in {short}:{frame.lineno}"
    saved = _write(exc)
    kept = f"The traceback is in {saved}" if saved else "The traceback could not be written to a file"
    return (f"{type(exc).__name__}{where} — a bug in byoc, not in your setup. {kept}: please attach it to a "
            "bug report; `byoc status` shows what is deployed.")


def _write(exc: BaseException) -> str | None:
    text = "".join(traceback.format_exception(exc))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for base in (*_project, Path.cwd()):
        folder = base / ".byoc" / "logs"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}-{os.getpid()}.log"
            path.write_text(text)
        except OSError:
            continue
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)
    return None
