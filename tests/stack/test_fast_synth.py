"""The fast synth path (stacks/fast_imports.py) against plain cdktf's eager import.

Every run is a fresh subprocess (the provider package is imported once per process). The costly
ones start together in one fixture: a fast synth (with the Node hook, stacks/lazy_provider.js), an
eager synth (``BYOC_EAGER_IMPORT=1``), a fast synth whose Node hook falls back, and a fallback run
that imports the real package eagerly (no synth); together ~20-30 s of wall time. The Node hook's
exports object is checked against Node's own evaluation on a small package of the same shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from stacks import STACK_NAME

REPO = Path(__file__).resolve().parents[2]
PKG = "cdktf_cdktf_provider_aws"
NOTICE = re.compile(r"^byoc: fast synth unavailable \(.+\); using the normal import$")
NODE_NOTICE = re.compile(r"^byoc: fast synth \(node\) unavailable \(.+\); loading the provider normally$")
HOOK = REPO / "stacks" / "lazy_provider.js"
ACTIVE = re.compile(r"^byoc-debug: lazy provider exports active \(@cdktf/provider-aws 20\.1\.0, (\d+) submodules\)$", re.M)
LOADED = re.compile(r"^byoc-debug: lazy provider loaded (\d+) of (\d+) submodules$", re.M)

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

# The same synth, but the Node hook expects another index.js: it must load the provider normally.
NODE_FALLBACK = 'from stacks import fast_imports; fast_imports.NODE_INDEX_SHA256 = "0" * 64\n' + SYNTH

# The fallback on the real package, run with another version's metadata (a dist-info folder of
# cdktf-cdktf-provider-aws 19.0.0) first on PYTHONPATH: the version check fails, then the package
# is imported.
SHADOW_VERSION = "19.0.0"
FALLBACK = """
import json, sys
from stacks import fast_imports
active = fast_imports.install()
with fast_imports.silence_node_eol(), fast_imports.node_hook():  # as stacks/app.py does; after a fallback
    # the hook must leave Node alone
    import cdktf_cdktf_provider_aws.vpc
pkg = sys.modules["cdktf_cdktf_provider_aws"]
print(json.dumps({"active": active, "real": hasattr(pkg, "_private") and not hasattr(pkg, "__byoc_fast__"),
                  "submodules": sum(m.startswith("cdktf_cdktf_provider_aws.") for m in sys.modules)}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           # Let stacks.app do the silencing, so the banner check means something.
           if k not in ("BYOC_EAGER_IMPORT", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION")}
    return {**env, **extra}


def _start(code: str, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return {"report": json.loads(out.splitlines()[-1]), "stdout": out, "stderr": err}


def _shadow_metadata(folder: Path) -> Path:
    """A folder holding only the metadata of another cdktf-cdktf-provider-aws release: first on
    sys.path, it is the version importlib.metadata reports, as when two installs are on the path."""
    info = folder / f"cdktf_cdktf_provider_aws-{SHADOW_VERSION}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: cdktf-cdktf-provider-aws\nVersion: {SHADOW_VERSION}\n")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("fast_synth")
    synths = ("fast", "eager", "node_fallback")
    for name in synths:
        (out / name).mkdir()  # cdktf creates cdktf.out, not its parents
    debug = {"BYOC_LAZY_PROVIDER_DEBUG": "1"}  # the Node hook reports itself when it is active
    procs = {"fast": _start(SYNTH, str(out / "fast" / "cdktf.out"), **debug),
             "eager": _start(SYNTH, str(out / "eager" / "cdktf.out"), BYOC_EAGER_IMPORT="1", **debug),
             "node_fallback": _start(NODE_FALLBACK, str(out / "node_fallback" / "cdktf.out"), **debug),
             "fallback": _start(FALLBACK, PYTHONPATH=str(_shadow_metadata(out / "shadow")), **debug)}
    results = {name: _finish(proc) for name, proc in procs.items()}
    for name in synths:
        results[name]["json"] = (out / name / "cdktf.out" / "stacks" / STACK_NAME / "cdk.tf.json").read_bytes()
    return results


def test_fast_synth_is_byte_identical_to_eager(runs):
    assert runs["fast"]["report"]["fast"] is True
    assert runs["eager"]["report"]["fast"] is False
    assert runs["fast"]["json"] == runs["eager"]["json"]
    assert b'"resource"' in runs["fast"]["json"]  # a real stack, not two empty files


def test_fast_synth_used_the_node_hook_and_eager_did_not(runs):
    err = runs["fast"]["stderr"]
    assert [int(n) for n in ACTIVE.findall(err)] == [2135], err
    loaded, total = map(int, LOADED.search(err).groups())
    assert total == 2135 and 0 < loaded < 50, err  # Node ran only the ~35 submodules the stack uses
    for name in ("eager", "fallback"):  # BYOC_EAGER_IMPORT=1 and a Python fallback: plain Node
        assert "byoc-debug:" not in runs[name]["stderr"], runs[name]["stderr"]


def test_node_hook_fallback_loads_the_provider_normally(runs):
    run = runs["node_fallback"]
    assert run["report"]["fast"] is True  # the Python side still took the fast path
    assert run["json"] == runs["eager"]["json"]
    notices = [line for line in run["stderr"].splitlines() if line.startswith("byoc")]
    assert len(notices) == 1 and NODE_NOTICE.match(notices[0]), run["stderr"]
    assert "index.js is not the one of 20.1.0" in notices[0]


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
    assert "unavailable" not in runs["fast"]["stderr"]
    for run in runs.values():
        assert "end-of-life" not in (run["stdout"] + run["stderr"]).lower()


def test_unexpected_version_falls_back_to_the_real_package(runs):
    fallback = runs["fallback"]
    notices = [line for line in fallback["stderr"].splitlines() if line.startswith("byoc:")]
    assert len(notices) == 1 and NOTICE.match(notices[0]), fallback["stderr"]
    assert f"cdktf-cdktf-provider-aws {SHADOW_VERSION}, expected 20.1.0" in notices[0]
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


# --- The Node hook alone, on a tiny package shaped like the provider's generated lib/index.js. ---

INDEX = """\
"use strict";
/**
 * Copyright (c) HashiCorp, Inc.
 * SPDX-License-Identifier: MPL-2.0
 */
Object.defineProperty(exports, "__esModule", { value: true });
exports.gamma = exports.alpha = void 0;
exports.beta = void 0;
// generated by cdktf get
exports.alpha = require("./alpha");
exports.beta = require("./beta-mod");
exports.gamma = require("./gamma");
//# sourceMappingURL=data:application/json;base64,e30=
"""

# Describes the exports as jsii's kernel sees them, and which submodules ran when.
PROBE = """
const root = process.argv[2], path = require("path");
globalThis.ran = [];
const m = require(root);
const atLoad = [...globalThis.ran];
const beta = m.beta;
m.gamma = 42;  // the generated file's properties are writable
const keys = Object.keys(m);  // the enumerable ones, before any other is read
const values = Object.getOwnPropertyNames(m).map((k) => m[k]);  // read all, then describe
const props = Object.getOwnPropertyNames(m).map((k, i) => {
  const d = Object.getOwnPropertyDescriptor(m, k);
  return [k, d.writable, d.enumerable, d.configurable, d.value === values[i], values[i] && (values[i].name || values[i])];
});
console.log(JSON.stringify({atLoad, ran: globalThis.ran, keys, props,
  same: beta === require(path.join(root, "lib", "beta-mod")) && m.alpha === require(path.join(root, "lib", "alpha"))}));
"""


def _fake_provider(tmp_path: Path, index: str) -> tuple[Path, str]:
    root = tmp_path / "node_modules" / "@cdktf" / "provider-aws"
    (root / "lib").mkdir(parents=True)
    (root / "package.json").write_text(json.dumps({"name": "@cdktf/provider-aws", "version": "9.9.9",
                                                   "main": "lib/index.js"}))
    (root / "lib" / "index.js").write_text(index)
    for sub in ("alpha", "beta-mod", "gamma"):
        (root / "lib" / sub).mkdir()
        (root / "lib" / sub / "index.js").write_text(
            f"globalThis.ran.push({sub!r}); exports.name = {sub!r};\n")
    return root, hashlib.sha256(index.encode()).hexdigest()


def _probe(tmp_path: Path, root: Path, sha: str | None) -> tuple[dict, str]:
    probe = tmp_path / "probe.js"
    probe.write_text(PROBE)
    env = _env(BYOC_LAZY_PROVIDER_DEBUG="1")
    if sha:
        env["BYOC_LAZY_PROVIDER"] = json.dumps({"name": "@cdktf/provider-aws", "version": "9.9.9", "sha256": sha})
    proc = subprocess.run(["node", "--require", str(HOOK), str(probe), str(root)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


node = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")


@node
def test_node_hook_gives_the_same_exports_lazily(tmp_path):
    root, sha = _fake_provider(tmp_path, INDEX)
    plain, plain_err = _probe(tmp_path, root, None)  # no BYOC_LAZY_PROVIDER: the hook does nothing
    lazy, lazy_err = _probe(tmp_path, root, sha)
    assert plain_err == "" and plain["atLoad"] == ["alpha", "beta-mod", "gamma"]
    assert "lazy provider exports active (@cdktf/provider-aws 9.9.9, 3 submodules)" in lazy_err
    assert lazy["atLoad"] == [] and lazy["ran"] == ["beta-mod", "alpha"]  # gamma was only assigned
    # Same keys in the same order (`gamma = alpha = void 0` creates alpha first), same descriptors
    # (writable, enumerable, configurable data properties once read), same objects.
    assert lazy["keys"] == plain["keys"] == ["alpha", "gamma", "beta"]
    assert lazy["props"] == plain["props"]
    assert lazy["same"] is plain["same"] is True


@node
@pytest.mark.parametrize("case", ["other sha256", "unexpected line"])
def test_node_hook_falls_back_on_an_unexpected_index(tmp_path, case):
    index = INDEX if case == "other sha256" else INDEX.replace("// generated", "exports.extra = 1;\n// generated")
    root, sha = _fake_provider(tmp_path, index)
    result, err = _probe(tmp_path, root, "0" * 64 if case == "other sha256" else sha)
    assert result["atLoad"] == ["alpha", "beta-mod", "gamma"]  # loaded normally
    lines = err.splitlines()
    assert len(lines) == 1 and NODE_NOTICE.match(lines[0]), err


# Inside node_hook(), then after it: NODE_OPTIONS and BYOC_LAZY_PROVIDER as jsii's Node would see them.
# The real install() first (it never starts Node); no jsii import inside the block, so the hook
# also reports that Node never saw it.
NODE_HOOK_ENV = """
import json, os
from stacks import fast_imports
assert fast_imports.install()
with fast_imports.node_hook() as on:
    inside = {"on": on, "options": os.environ.get("NODE_OPTIONS"), "spec": os.environ.get("BYOC_LAZY_PROVIDER")}
after = {"options": os.environ.get("NODE_OPTIONS"), "spec": os.environ.get("BYOC_LAZY_PROVIDER")}
print(json.dumps({"inside": inside, "after": after}))
"""


def _node_hook_env(**env: str) -> dict:
    base = {k: v for k, v in _env(**env).items() if k in env or k not in ("NODE_OPTIONS", "BYOC_LAZY_PROVIDER")}
    proc = subprocess.run([sys.executable, "-c", NODE_HOOK_ENV], cwd=REPO, env=base,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and NODE_NOTICE.match(lines[0]) and "did not start Node" in lines[0], proc.stderr
    return json.loads(proc.stdout)


def test_node_hook_env_is_appended_to_existing_values_and_restored_after():
    # Options of the user's own, and a stale spec, are there before: the hook adds its --require
    # after the user's options, and both variables are what they were once the block is left.
    user_options, stale_spec = '--max-old-space-size=4096 --require "/opt/my hooks/trace.js"', '{"stale": true}'
    run = _node_hook_env(NODE_OPTIONS=user_options, BYOC_LAZY_PROVIDER=stale_spec)
    inside, after = run["inside"], run["after"]
    assert inside["on"] is True
    assert inside["options"] == f'{user_options} --require "{HOOK}"'
    assert json.loads(inside["spec"]) == {"name": "@cdktf/provider-aws", "version": "20.1.0",
                                          "sha256": "23f7368584d5d11a9407b161d62968e96d902b8e8affbf185987af42505e8314"}
    assert after == {"options": user_options, "spec": stale_spec}


def test_node_hook_env_is_set_alone_and_removed_after_when_there_was_none():
    run = _node_hook_env()
    assert run["inside"]["on"] is True and run["inside"]["options"] == f'--require "{HOOK}"'
    assert run["after"] == {"options": None, "spec": None}


def test_the_node_hook_ships_with_the_package():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "*.js" in package_data["stacks"] and HOOK.is_file()
