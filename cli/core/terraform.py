"""Running the terraform binary: locating it and the AWS provider, init, and machine-readable
plan/apply with the JSON UI stream.

Everything here runs terraform in the stack folder (cdktf.out/stacks/byoc) exactly as a user
would by hand; byoc adds no wrapper state of its own.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from cli.core.errors import ByocError, Interrupted
from cli.core.toolchain import terraform_binary  # noqa: F401 - found and version-checked there, used here

PROVIDER_VERSION = "5.100.0"
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/aws"

#: Terraform's own implied local-mirror folders on Linux/macOS (terraform CLI config docs,
#: "Implied Local Mirror Directories"), then folders where offline machines commonly keep one.
_MIRROR_ROOTS = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
_MIRROR_SEARCH = ("/opt", "/usr/local/share", "/srv")
MIRROR_ENV = "BYOC_PROVIDER_MIRROR"


def _holds_provider(root: Path) -> bool:
    return (root / PROVIDER_ADDRESS / PROVIDER_VERSION).is_dir()


def find_provider_mirror() -> Path | None:
    """A filesystem mirror holding hashicorp/aws PROVIDER_VERSION, if this machine has one.

    Looks in ``$BYOC_PROVIDER_MIRROR``, Terraform's implied mirror folders, then (two levels
    deep) under /opt, /usr/local/share and /srv.
    """
    explicit = os.environ.get(MIRROR_ENV)
    if explicit:
        return Path(explicit)
    for root in _MIRROR_ROOTS:
        path = Path(root).expanduser()
        if _holds_provider(path):
            return path
    for base in map(Path, _MIRROR_SEARCH):
        if not base.is_dir():
            continue
        try:
            candidates = [base, *base.iterdir()]
            candidates += [g for c in candidates[1:] if c.is_dir() for g in c.iterdir()]
        except OSError:
            continue
        for path in candidates:
            if path.is_dir() and _holds_provider(path):
                return path
    return None


def check_mirror(path: Path) -> Path:
    if not _holds_provider(path):
        raise ByocError(f"the provider mirror {path} does not hold {PROVIDER_ADDRESS} {PROVIDER_VERSION}: "
                        "point --provider-mirror at the folder that contains registry.terraform.io/.",
                        exit_code=2)
    return path


@dataclass
class Terraform:
    """terraform in one stack folder, with an extra environment (credentials, endpoint)."""

    workdir: Path
    env: dict[str, str]
    log_path: Path | None = None

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
        return env

    def run(self, *args: str, check: bool = True, log_stdout: bool = True) -> subprocess.CompletedProcess[str]:
        """``log_stdout=False``: the log gets stderr only (a ``show -json`` of a whole plan is
        megabytes the log does not need)."""
        proc = subprocess.run([terraform_binary(), *args], cwd=self.workdir, env=self._env(),
                              capture_output=True, text=True)
        self._log(args, (proc.stdout if log_stdout else f"({len(proc.stdout)} bytes of output, not logged)\n")
                  + proc.stderr)
        if check and proc.returncode != 0:
            raise terraform_failure(args[0], proc.stdout + proc.stderr, self.log_path)
        return proc

    def _log(self, args: Iterable[str], text: str) -> None:
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"\n$ terraform {' '.join(args)}\n{text}")

    def init(self, mirror: Path | None, *, extra: Iterable[str] = (),
             on_notice: Callable[[str], None] = lambda _m: None) -> None:
        """``terraform init``; a mirror is used when given, or found when the registry is out of reach."""
        args = ["init", "-input=false", "-no-color", *extra]
        if mirror is not None:
            self._init_with(mirror, args)
            return
        proc = self.run(*args, check=False)
        if proc.returncode == 0:
            return
        output = proc.stdout + proc.stderr
        _refuse_unmirrored(output)
        if "could not connect to registry" in output or "Failed to query available provider packages" in output:
            found = find_provider_mirror()
            if found is not None:
                on_notice(f"The Terraform registry is out of reach; using the provider mirror at {found}.")
                self._init_with(found, args)
                return
            raise ByocError("terraform init could not download the AWS provider (the registry is out of reach): "
                            f"connect to the internet, or pass --provider-mirror DIR (or set {MIRROR_ENV}) "
                            f"to a filesystem mirror holding {PROVIDER_ADDRESS} {PROVIDER_VERSION}.")
        raise terraform_failure("init", output, self.log_path)

    def _init_with(self, mirror: Path, args: list[str]) -> None:
        proc = self.run(*args, f"-plugin-dir={mirror}", check=False)
        if proc.returncode != 0:
            _refuse_unmirrored(proc.stdout + proc.stderr, mirror)
            raise terraform_failure("init", proc.stdout + proc.stderr, self.log_path)

    def stream(self, *args: str, on_message: Callable[[dict], None] | None = None,
               on_notice: Callable[[str], None] = lambda _m: None) -> list[dict]:
        """Run a ``-json`` command; hand each UI message to ``on_message`` as it arrives and
        return them all.

        Both pipes are drained while terraform runs (stderr by a thread): a pipe that fills up
        (``TF_LOG=DEBUG`` writes megabytes to stderr, and byoc passes the user's environment
        on) would block terraform while it holds the state lock.

        Ctrl-C and SIGTERM: terraform runs in its own session, so the terminal's SIGINT reaches
        only byoc, which passes exactly one SIGINT on (for SIGTERM too: SIGINT is terraform's
        graceful stop). Terraform then finishes what is in flight, saves state and releases its
        lock (a second SIGINT would make it exit at once, possibly without saving, so further
        signals are not passed on). Then ``Interrupted`` is raised for the one-line message.
        """
        import json
        import threading

        from cli.core.errors import Terminated

        proc = subprocess.Popen([terraform_binary(), *args], cwd=self.workdir, env=self._env(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        messages: list[dict] = []
        raw: list[str] = []
        errors: list[str] = []

        def drain_stderr() -> None:
            # Signals go to the main thread, which passes them on to terraform: a Ctrl-C the kernel
            # delivered to this thread would wait for terraform's next line of output.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            errors.extend(proc.stderr)

        drain = threading.Thread(target=drain_stderr, daemon=True)
        drain.start()
        interrupted: KeyboardInterrupt | None = None

        def stop(signal_exc: KeyboardInterrupt) -> None:
            nonlocal interrupted
            if interrupted is None:
                interrupted = signal_exc
                proc.send_signal(signal.SIGINT)
                on_notice("Interrupted: terraform is stopping gracefully (finishing in-flight changes, "
                          "saving state, releasing the lock) ...")
            else:
                on_notice("Still waiting for terraform to save the state ...")

        assert proc.stdout is not None
        while True:
            try:
                for line in proc.stdout:
                    raw.append(line)
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        continue
                    messages.append(msg)
                    if on_message is not None and interrupted is None:
                        on_message(msg)
                break
            except KeyboardInterrupt as exc:
                stop(exc)
        while True:
            try:
                proc.wait()
                drain.join()
                break
            except KeyboardInterrupt as exc:
                stop(exc)
        stderr = "".join(errors)
        self._log(args, "".join(raw) + stderr)
        if interrupted is not None:
            raise Interrupted(args[0], terminated=isinstance(interrupted, Terminated))
        if proc.returncode != 0:
            raise terraform_failure(args[0], _diagnostics(raw) or stderr, self.log_path)
        return messages

    def outputs(self) -> dict[str, object]:
        import json

        proc = self.run("output", "-json")
        return {k: v.get("value") for k, v in json.loads(proc.stdout or "{}").items()}


def _diagnostics(lines: list[str]) -> str:
    import json

    out = []
    for line in lines:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("type") == "diagnostic" and msg.get("diagnostic", {}).get("severity") == "error":
            d = msg["diagnostic"]
            out.append(" ".join(f"{d.get('summary', '')}: {d.get('detail', '')}".strip(": ").split()))
    return "\n".join(out)


def _refuse_unmirrored(output: str, mirror: Path | None = None) -> None:
    """A provider other than the AWS one that init could not install (the Pinecone provider of
    byoc.toml's [pinecone]): say where it comes from and what to do, in one line."""
    for source in sorted(set(re.findall(r"registry\.terraform\.io/([a-z0-9-]+/[a-z0-9-]+)", output))):
        if source == PROVIDER_ADDRESS.split("/", 1)[1] or ("Failed to query" not in output and "not found" not in output
                                                            and "could not connect" not in output):
            continue
        where = f"the provider mirror {mirror} does not hold it" if mirror else "the registry is out of reach"
        raise ByocError(f"terraform init could not install the provider {source} ({where}): it is downloaded from "
                        "registry.terraform.io, so this needs registry access — or a mirror holding it as well "
                        "(`terraform providers mirror DIR` on a connected machine, then --provider-mirror DIR); "
                        "for pinecone-io/pinecone you can also set manage_indexes = false in byoc.toml's [pinecone].")


def terraform_failure(command: str, output: str, log_path: Path | None) -> ByocError:
    """One line: terraform's first error summary, and where the full log is."""
    where = f"; full log: {log_path}" if log_path else ""
    if "Error acquiring the state lock" in output:
        lock_id = re.search(r"ID:\s+([0-9a-f-]{36})", output)
        who = re.search(r"Who:\s+(\S+)", output)
        holder = f" (held by {who.group(1)})" if who else ""
        unlock = (f"; if that run died, `terraform force-unlock {lock_id.group(1)}` in the stack folder"
                  if lock_id else "")
        error = ByocError(f"terraform {command} failed: the state is locked by another byoc or terraform run"
                          f"{holder}: wait for it to finish and run the command again{unlock}{where}")
        error.detail = output
        return error
    summary = ""
    for line in output.splitlines():
        text = line.strip().strip("│╷╵").strip()
        if text.startswith("Error:"):
            summary = text[len("Error:"):].strip()
            break
    if not summary:
        summary = next((ln.strip() for ln in output.splitlines() if ln.strip()), "no output")
    error = ByocError(f"terraform {command} failed: {summary}{where}")
    error.detail = output  # the whole text, for callers that match on it (IAM propagation retry)
    return error
