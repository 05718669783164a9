"""What byoc shows while it works, all of it on stderr (stdout is for results): plan summaries
and the live apply/destroy display, built from terraform's ``-json`` UI stream
(https://developer.hashicorp.com/terraform/internals/machine-readable-ui), and a live line with
the elapsed time for the steps that run silently for seconds (synth, terraform init) — on a
terminal only, where a line can be rewritten; elsewhere (CI logs, pipes) nothing is added."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TextIO

#: Held while a line is written to stderr, so a live line and a message never interleave.
_LOCK = threading.Lock()
#: The stream a live line is being drawn on now (at most one at a time).
_live: list[TextIO] = []
_CLEAR = "\r\033[K"


def notice(text: str, out: TextIO | None = None) -> None:
    """One line of narration on stderr; a live line on the same terminal is cleared first (it is
    drawn again at its next tick, below the message)."""
    out = out or sys.stderr
    with _LOCK:
        if out in _live:
            out.write(_CLEAR)
        out.write(text + "\n")
        out.flush()


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def elapsed(label: str, out: TextIO | None = None, *, keep: bool = False, interval: float = 1.0,
            clock: Callable[[], float] = time.monotonic) -> Iterator[bool]:
    """While the block runs: ``<label> [3s]`` on a terminal, redrawn every ``interval`` seconds;
    at the end erased (the caller then says how it went) or, with ``keep``, left as the step's
    line with its final time. Not on a terminal: nothing. Yields whether the line is drawn."""
    out = out or sys.stderr
    if not _isatty(out) or _live:
        yield False
        return
    start, stop = clock(), threading.Event()

    def draw() -> None:
        with _LOCK:
            out.write(f"{_CLEAR}{label} [{clock() - start:.0f}s]")
            out.flush()

    def tick() -> None:
        while not stop.wait(interval):
            draw()

    _live.append(out)
    draw()
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield True
    finally:
        stop.set()
        ticker.join()
        with _LOCK:
            _live.remove(out)
            out.write(f"{_CLEAR}{label} [{clock() - start:.0f}s]\n" if keep else _CLEAR)
            out.flush()

_VERB = {"create": "creating", "update": "updating", "delete": "destroying", "replace": "replacing",
         "read": "reading"}
_DONE = {"create": "created", "update": "updated", "delete": "destroyed", "replace": "replaced",
         "read": "read"}


@dataclass
class PlanSummary:
    add: int = 0
    change: int = 0
    remove: int = 0
    changes: list[tuple[str, str]] = field(default_factory=list)  # (action, address)

    @property
    def total(self) -> int:
        return self.add + self.change + self.remove

    @property
    def empty(self) -> bool:
        return self.total == 0

    def lines(self) -> list[str]:
        """The summary; creates and deletes by resource type, updates and replaces one by one
        (those are the changes to read before saying yes), by address."""
        out = [f"Plan: {self.add} to add, {self.change} to change, {self.remove} to destroy."]
        for bulk in ("create", "delete"):
            kinds = Counter(_resource_type(addr) for action, addr in self.changes if action == bulk)
            if kinds:
                out.append(f"  {bulk}: " + ", ".join(f"{n}× {t}" if n > 1 else t for t, n in sorted(kinds.items())))
        out += [f"  {action}: {addr}" for action, addr in sorted(self.changes) if action not in ("create", "delete")]
        return out

    def as_dict(self) -> dict:
        """The summary for ``--json``: the counts, and the addresses by action."""
        by_action: dict[str, list[str]] = {}
        for action, addr in self.changes:
            by_action.setdefault(action, []).append(addr)
        return {"changes": not self.empty, "add": self.add, "change": self.change, "destroy": self.remove,
                "resources": by_action}

    def take(self, msg: dict) -> bool:
        """Read one UI message of a plan (or of the planning part of ``apply -auto-approve``);
        True once the plan's own change_summary has arrived, i.e. the plan is complete."""
        kind = msg.get("type")
        if kind == "planned_change":
            change = msg.get("change", {})
            if change.get("action") != "read":  # a data source read is not a change
                self.changes.append((change.get("action", "?"), change.get("resource", {}).get("addr", "?")))
        elif kind == "change_summary":
            c = msg.get("changes", {})
            if c.get("operation", "plan") == "plan":  # not the apply's closing summary
                self.add, self.change, self.remove = c.get("add", 0), c.get("change", 0), c.get("remove", 0)
                return True
        return False


def _resource_type(addr: str) -> str:
    """``aws_vpc_endpoint`` of ``aws_vpc_endpoint.pinecone["com.amazonaws..."]``."""
    return re.sub(r"\[.*\]$", "", addr).split(".")[-2]


def summarize_plan(messages: Iterable[dict]) -> PlanSummary:
    summary = PlanSummary()
    for msg in messages:
        summary.take(msg)
    return summary


class ApplyProgress:
    """Resources done / total and the one in flight.

    On a terminal: one line rewritten in place. Elsewhere (CI, logs, pipes): one line per
    finished resource, and a "still ..." line when terraform reports a slow one.
    """

    def __init__(self, total: int, out: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = max(total, 0)
        self.out = out or sys.stderr
        self.tty = _isatty(self.out)
        self.done = 0
        self.in_flight: dict[str, str] = {}
        self.errors: list[str] = []
        self._clock = clock
        self._start = clock()

    def _emit(self, text: str, final: bool = False) -> None:
        if self.tty:
            self.out.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def _status(self) -> str:
        current = next(iter(self.in_flight.items()), None)
        flight = f" — {_VERB.get(current[1], current[1])} {current[0]}" if current else ""
        more = f" (+{len(self.in_flight) - 1} more)" if len(self.in_flight) > 1 else ""
        return f"[{self.done}/{self.total}]{flight}{more}"

    def handle(self, msg: dict) -> None:
        kind = msg.get("type")
        hook = msg.get("hook", {})
        addr = hook.get("resource", {}).get("addr")
        action = hook.get("action", "")
        if action == "read":  # data sources re-read during apply are not part of the plan's count
            return
        if kind == "apply_start" and addr:
            self.in_flight[addr] = action
            if self.tty:
                self._emit(self._status())
        elif kind == "apply_progress" and addr:
            elapsed = hook.get("elapsed_seconds", 0)
            verb = _VERB.get(action, action)
            self._emit(f"[{self.done}/{self.total}] still {verb} {addr} ({elapsed}s)")
        elif kind == "apply_complete" and addr:
            self.in_flight.pop(addr, None)
            self.done += 1
            if self.tty:
                self._emit(self._status())
            else:
                self._emit(f"[{self.done}/{self.total}] {addr} {_DONE.get(action, action)}")
        elif kind == "apply_errored" and addr:
            self.in_flight.pop(addr, None)
            self.errors.append(addr)
            self._emit(f"[{self.done}/{self.total}] {addr} failed", final=True)

    def finish(self) -> None:
        elapsed = self._clock() - self._start
        self._emit(f"[{self.done}/{self.total}] done in {elapsed:.0f}s", final=True)
