"""``ArgvWatcher``: every process's command line on this machine, read while a flow runs, to prove
that a secret never reaches any process's arguments (terraform, its provider plugin, node, ...)."""

from __future__ import annotations

import os
import threading


class ArgvWatcher(threading.Thread):
    """Reads /proc/<pid>/cmdline of every process every 20 ms and records any that holds the
    needle. (os.listdir and plain reads: half the CPU of a Path.glob scan, which matters when the
    watcher runs for minutes beside the deploy it watches.)"""

    def __init__(self, needle: str) -> None:
        super().__init__(daemon=True)
        self.needle = needle.encode()
        self.hits: list[str] = []
        self.seen: set[str] = set()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        raw = f.read()
                except OSError:
                    continue
                if raw:
                    self.seen.add(raw.split(b"\0", 1)[0].decode(errors="replace").rsplit("/", 1)[-1])
                if self.needle in raw:
                    self.hits.append(raw.replace(b"\0", b" ").decode(errors="replace"))
            self._stop_event.wait(0.02)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()
