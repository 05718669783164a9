"""Synthesize only when something that shapes the JSON changed.

The stack's inputs are Terraform variables, so config values never change cdk.tf.json; what
does is the stack's code, the packages that render it, and the project layout. Their
fingerprint is kept in ``.byoc/synth.json`` with the hash of the JSON it produced; when both
still match, ``byoc synth``/``deploy``/``lockdown`` skip jsii and Node entirely.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import constructs_lib
import stacks
from cli.core.config import Project, Unreadable, read_json
from cli.core.errors import ByocError
from cli.core.progress import elapsed
from cli.core.toolchain import require_node

#: Distributions whose code renders the JSON; a version change is a re-synth.
RENDERING_PACKAGES = ("byoc", "cdktf", "cdktf-cdktf-provider-aws", "constructs", "jsii")
CACHE_FILE = "synth.json"


@dataclass(frozen=True)
class SynthResult:
    stack_dir: Path
    cached: bool
    seconds: float


def _package_dirs() -> list[Path]:
    return [Path(stacks.__file__).parent, Path(constructs_lib.__file__).parent]


def fingerprint(project: Project) -> str:
    digest = hashlib.sha256()
    digest.update(f"python {sys.version_info[:2]}\n".encode())
    for name in RENDERING_PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}=={version}\n".encode())
    for base in _package_dirs():
        for path in sorted(p for p in base.rglob("*") if p.suffix in (".py", ".js", ".json")):  # .js: the Node hook; .json: data tables
            digest.update(f"{base.name}/{path.relative_to(base).as_posix()}\n".encode())
            digest.update(path.read_bytes())
    # Baked into the JSON: the stack's name and folder (the local state path is relative to it)
    # and the backend and Pinecone-provider settings from byoc.toml.
    digest.update(f"layout {project.stack_dir.relative_to(project.root).as_posix()}\n".encode())
    digest.update(f"backend {project.backend.to_json() if project.backend else 'local'}\n".encode())
    digest.update(f"pinecone {project.pinecone.to_json() if project.pinecone else 'off'}\n".encode())
    return digest.hexdigest()


def _json_hash(stack_dir: Path) -> str | None:
    try:
        return hashlib.sha256((stack_dir / "cdk.tf.json").read_bytes()).hexdigest()
    except OSError:
        return None


def is_fresh(project: Project) -> bool:
    """True when ``.byoc/synth.json`` records the JSON now in the stack folder. The record is
    disposable: when it is damaged (not JSON, not UTF-8, a folder...) byoc says so on stderr
    and synthesizes again, which writes a good one."""
    path = project.state_dir / CACHE_FILE
    if not path.exists():
        return False
    if path.is_dir():  # it could not be rewritten
        raise ByocError(f"{path.relative_to(project.root)} is a folder, not byoc's synth record: remove it "
                        "(byoc rewrites it) and run the command again.")
    try:
        cache = read_json(path)
    except Unreadable:
        cache = None
    if not isinstance(cache, dict):
        print(f"byoc: {path.relative_to(project.root)} is damaged; synthesizing again (it is rewritten).",
              file=sys.stderr)
        return False
    return (cache.get("fingerprint") == fingerprint(project)
            and cache.get("json_sha256") is not None
            and cache.get("json_sha256") == _json_hash(project.stack_dir))


def _write_cache(project: Project) -> None:
    """Record that the JSON now in the stack folder is what the current inputs produce."""
    cache = {"fingerprint": fingerprint(project), "json_sha256": _json_hash(project.stack_dir)}
    project.state_dir.mkdir(parents=True, exist_ok=True)
    (project.state_dir / CACHE_FILE).write_text(json.dumps(cache, indent=2) + "\n")


def ensure_synth(project: Project, *, force: bool = False) -> SynthResult:
    """Synthesize ``project`` into cdktf.out unless a fresh synth is already there."""
    start = time.monotonic()
    if not force and is_fresh(project):
        return SynthResult(project.stack_dir, cached=True, seconds=time.monotonic() - start)
    require_node()  # before any work: jsii's own failure without Node.js is an AttributeError
    args = [sys.executable, "-m", "stacks.app", "--outdir", str(project.outdir), "--stack", project.stack_name]
    if project.backend is not None:
        args += ["--backend-json", project.backend.to_json()]
    if project.pinecone is not None:
        args += ["--pinecone-json", project.pinecone.to_json()]
    with elapsed("Synth: synthesizing the stack (cdktf on Node.js) ..."):
        proc = subprocess.run(args, cwd=project.root, capture_output=True, text=True)
    log = project.log_file("synth")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    for line in proc.stderr.splitlines():
        if line.startswith("byoc: "):  # the synth's own notices (e.g. a fast-path fallback)
            print(line, file=sys.stderr)
    if proc.returncode != 0:
        last = next((ln for ln in reversed(proc.stderr.splitlines()) if ln.strip()), "no output")
        raise ByocError(f"synth failed: {last.strip()}; full log: {log}")
    _write_cache(project)
    return SynthResult(project.stack_dir, cached=False, seconds=time.monotonic() - start)
