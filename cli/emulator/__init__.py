"""The embedded AWS emulator: a moto server on 127.0.0.1 with the gaps this stack hits filled.

What moto lacks and how each gap is filled: the gap table, ``cli/emulator/gaps.py`` (the single
source). The package, laid out in moto's manner:

- this module: the API the rest of byoc uses (``running``, ``spawned``, ``serve``, ``Emulator``);
- ``server.py``: moto's WSGI app behind byoc's own routes (the fault switch
  ``/byoc-emulator/faults`` and the refusals), the serving thread, the reset;
- one module per AWS service the emulator patches (``iam``, ``accessanalyzer``,
  ``applicationautoscaling``, ``ecs``, ``ec2``, ``elbv2``, ``s3``, ``route53``,
  ``secretsmanager``, ``kms``; ``iam_simulator`` for IAM's policy simulator), each with its gaps,
  its response-layer and model-layer patches apart, and the AWS documentation it follows;
  ``ecs_tasks.py`` the ECS task model (gap 4); ``authorizer.py`` the policy evaluation (gap 11);
- ``patching.py``: how those modules change moto (once, each change naming its gap).

Importing this package does not import moto; starting an emulator does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from cli.emulator.server import FAULTS_PATH, HOST, INFO_PATH, free_port, serving

__all__ = ["EMULATOR_ENV", "FAULTS_PATH", "HOST", "Emulator", "free_port", "running", "serve", "spawned"]

#: Credentials the emulator accepts; obviously fake, never real keys.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class Emulator:
    endpoint_url: str

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment for terraform/boto3 to talk to this emulator."""
        return {**EMULATOR_ENV, "AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region}

    def info(self) -> dict:
        """Whether this emulator evaluates policies, and with what (``GET /byoc-emulator/info``)."""
        import urllib.request

        with urllib.request.urlopen(self.endpoint_url + INFO_PATH, timeout=30) as answer:
            return json.loads(answer.read())

    def set_faults(self, **faults: str | None) -> dict[str, str]:
        """Switch the task model's faults on or off (``image="missing"``, ``health=None``); see
        ``cli.emulator.ecs_tasks.FAULTS``. Returns the faults now on."""
        import urllib.request

        request = urllib.request.Request(self.endpoint_url + FAULTS_PATH, data=json.dumps(faults).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["faults"]


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


@contextmanager
def running(port: int | None = None, say: Callable[[str], None] = _to_stderr) -> Iterator[Emulator]:
    """Start a moto server on 127.0.0.1 (a free port unless given); stop it on exit. ``say``
    tells about the policy evaluator (its first install, or that policies are not evaluated)."""
    with serving(port or free_port(), say) as endpoint_url:
        yield Emulator(endpoint_url)


def serve(port: int | None, say: Callable[[str], None]) -> None:
    """Run the emulator in the foreground (``byoc emulator``) until Ctrl-C or SIGTERM.

    ``say`` prints a line. On Ctrl-C (KeyboardInterrupt) or SIGTERM (``cli.core.errors.Terminated``, a
    KeyboardInterrupt) it says "Emulator stopped." and re-raises, for the caller to map to an exit
    code.
    """
    with running(port, say) as emu:
        try:  # from the first line on: a Ctrl-C may come as soon as the user has read it
            say(f"Emulator listening on {emu.endpoint_url} (Ctrl-C to stop). In another shell:")
            say(f"  export AWS_ENDPOINT_URL={emu.endpoint_url} " +
                " ".join(f"{k}={v}" for k, v in EMULATOR_ENV.items() if k != "AWS_SESSION_TOKEN"))
            while True:  # short sleeps: a signal is acted on when the main thread next runs
                time.sleep(0.5)
        except KeyboardInterrupt:
            say("Emulator stopped.")
            raise


@contextmanager
def spawned(port: int | None = None, timeout: float = 60, env: dict[str, str] | None = None) -> Iterator[Emulator]:
    """The same emulator in a process of its own (``byoc emulator``), stopped on exit.

    moto keeps its state process-global, so an emulator that must outlive others started in this
    process (a deployment shared by several test modules) lives in its own process; its moto work
    then also runs beside this process rather than under its GIL.
    """
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "emulator", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
    assert proc.stdout is not None
    timer = threading.Timer(timeout, proc.kill)  # a server that never says it is up is stopped
    timer.start()
    said = []  # lines before "listening on": the policy evaluator's first install, or that it is missing
    while not said or "listening on" not in said[-1]:
        line = proc.stdout.readline()
        if not line:
            break
        said.append(line)
    timer.cancel()
    if not said or "listening on" not in said[-1]:
        proc.kill()
        rest = proc.communicate()[0]
        raise RuntimeError(f"the emulator did not start: {(''.join(said) + rest).strip()[-2000:]}")
    # Keep reading what it prints, so that a full pipe can never block it.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        yield Emulator(f"http://{HOST}:{port}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
