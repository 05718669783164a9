"""`byoc`'s entry point. The layers, each a folder of ``cli/``, with arrows one way:

- ``commands/`` — Typer only: parse, one call, render (``app.py`` holds the one error boundary);
- ``actions/`` — what changes terraform or AWS: deploy (and plan, its preview), secret, lockdown,
  destroy, backend, starting new tasks (rollout), the demo;
- ``observers/`` — read-only AWS and stack reads: the service and its rollout, the secret, the
  network, policy verdicts, stopped-task reasons, status, logs, doctor, cost;
- ``core/`` — project files, inputs, session, terraform and Node.js (toolchain), synth, progress,
  errors, the policy reader;
- ``emulator/`` — the embedded AWS emulator, loaded only by ``byoc emulator`` and ``byoc demo``.

``tests/core/test_layers.py`` holds the code to these arrows.
"""

from __future__ import annotations

from cli.commands import app


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
