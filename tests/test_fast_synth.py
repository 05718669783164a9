"""The fast synth path (stacks/fast_imports.py) against plain cdktf's eager import.

Every run is a fresh subprocess (the provider package is imported once per process). The costly
ones start together in one fixture: a fast synth, an eager synth (``BYOC_EAGER_IMPORT=1``) and a
fallback run that imports the real package eagerly (no synth); together ~15-25 s of wall time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stacks import STACK_NAME

REPO = Path(__file__).resolve().parents[1]
PKG = "cdktf_cdktf_provider_aws"
NOTICE = re.compile(r"^byoc: fast synth unavailable \(.+\); using the normal import$")

# Runs `python -m stacks.app --outdir DIR` as __main__, then reports what the process loaded.
SYNTH = """
import json, runpy, sys
sys.argv = ["stacks.app", "--outdir", sys.argv[1]]
runpy.run_module("stacks.app", run_name="__main__", alter_sys=True)
from jsii import _reference_map as refmap
from stacks import fast_imports
pkg = sys.modules[fast_imports.PACKAGE]
report = {"fast": getattr(pkg, "__byoc_fast__", False),
          "submodules": sorted(m for m in sys.modules
                               if m.startswith(fast_imports.PACKAGE + ".") and not m.endswith("._private"))}
if report["fast"]:
    # The safety net: a type of a submodule nobody imported is loaded when jsii meets it.
    report["on_demand"] = (refmap._try_import_type_module("@cdktf/provider-aws.s3Bucket.S3Bucket")
                           and "@cdktf/provider-aws.s3Bucket.S3Bucket" in refmap._types)
else:
    # Every type of the (fully imported) package lives in the module the fast path's map names.
    fast_imports._register_lazy_types(pkg.__path__[0])
    types = {fqn: k.__module__ for reg in (refmap._types, refmap._data_types, refmap._enums, refmap._interfaces)
             for fqn, k in reg.items() if fqn.startswith("@cdktf/provider-aws.")}
    report["types"] = len(types)
    report["mismapped"] = sorted(fqn for fqn, mod in types.items()
                                 if refmap._submodule_fqn_map.get(".".join(fqn.split(".")[:2])) != mod)
print(json.dumps(report))
"""

# The fallback on the real package: the version check is made to fail, then the package is imported.
FALLBACK = """
import json, sys
from stacks import fast_imports
fast_imports.EXPECTED_VERSION = "0.0.0-not-installed"
active = fast_imports.install()
import cdktf_cdktf_provider_aws.vpc
pkg = sys.modules["cdktf_cdktf_provider_aws"]
print(json.dumps({"active": active, "real": hasattr(pkg, "_private") and not hasattr(pkg, "__byoc_fast__"),
                  "submodules": sum(m.startswith("cdktf_cdktf_provider_aws.") for m in sys.modules)}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           # Let stacks/__init__ do the silencing, so the banner check means something.
           if k not in ("BYOC_EAGER_IMPORT", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION")}
    return {**env, **extra}


def _start(code: str, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return {"report": json.loads(out.splitlines()[-1]), "stdout": out, "stderr": err}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("fast_synth")
    for name in ("fast", "eager"):
        (out / name).mkdir()  # cdktf creates cdktf.out, not its parents
    procs = {"fast": _start(SYNTH, str(out / "fast" / "cdktf.out")),
             "eager": _start(SYNTH, str(out / "eager" / "cdktf.out"), BYOC_EAGER_IMPORT="1"),
             "fallback": _start(FALLBACK)}
    results = {name: _finish(proc) for name, proc in procs.items()}
    for name in ("fast", "eager"):
        results[name]["json"] = (out / name / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_bytes()
    return results


def test_fast_synth_is_byte_identical_to_eager(runs):
    assert runs["fast"]["report"]["fast"] is True
    assert runs["eager"]["report"]["fast"] is False
    assert runs["fast"]["json"] == runs["eager"]["json"]
    assert b'"resource"' in runs["fast"]["json"]  # a real stack, not two empty files


def test_fast_path_skips_the_eager_imports(runs):
    fast, eager = runs["fast"]["report"]["submodules"], runs["eager"]["report"]["submodules"]
    assert f"{PKG}.vpc" in fast and f"{PKG}._jsii" in fast
    assert len(fast) < 50, fast  # the ~35 the stack uses, plus _jsii
    assert len(eager) > 1000


def test_types_of_unimported_submodules_load_on_demand(runs):
    assert runs["fast"]["report"]["on_demand"] is True
    # The camelCase <-> snake_case map is right for every type of the package.
    assert runs["eager"]["report"]["types"] > 10000
    assert runs["eager"]["report"]["mismapped"] == []


def test_no_fallback_notice_and_no_jsii_banner(runs):
    assert "fast synth unavailable" not in runs["fast"]["stderr"]
    for run in runs.values():
        assert "end-of-life" not in (run["stdout"] + run["stderr"]).lower()


def test_unexpected_version_falls_back_to_the_real_package(runs):
    fallback = runs["fallback"]
    notices = [line for line in fallback["stderr"].splitlines() if line.startswith("byoc:")]
    assert len(notices) == 1 and NOTICE.match(notices[0]), fallback["stderr"]
    assert "0.0.0-not-installed" in notices[0]
    assert fallback["report"]["active"] is False and fallback["report"]["real"] is True
    assert fallback["report"]["submodules"] > 1000


def test_unexpected_layout_falls_back_to_the_normal_import(tmp_path):
    """A package at the same import name whose __init__.py is not the pinned one: cheap, no jsii."""
    fake = tmp_path / PKG
    fake.mkdir()
    (fake / "__init__.py").write_text("WHO = 'fake'\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from stacks import fast_imports\n"
            "print(fast_imports.install(), fast_imports.install())\n"
            f"import {PKG}; print({PKG}.WHO)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False", "fake"]  # the package's own __init__ ran
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and NOTICE.match(lines[0]) and "__init__.py" in lines[0], proc.stderr


def test_eager_env_var_disables_the_fast_path():
    code = "from stacks import fast_imports; import sys; print(fast_imports.install(), 'cdktf_cdktf_provider_aws' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(BYOC_EAGER_IMPORT="1"),
                          capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stdout.split(), proc.stderr) == (0, ["False", "False"], "")
