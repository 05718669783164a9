"""Fast synth: import only the AWS provider submodules the stack uses.

``import cdktf_cdktf_provider_aws.<anything>`` runs the package ``__init__.py``, which does three
things: loads the jsii assembly (``from ._jsii import *``), calls ``publication.publish()``, and
then eagerly imports all ~2,000 submodules (``from . import <name>`` x 2135, ~7.7 s here). Each
submodule is self-contained: it imports only ``.._jsii`` (which loads the assembly), jsii, cdktf and
constructs, never another provider submodule, and registers its own types with jsii on import.
So the eager imports add nothing a submodule we use needs.

``install()`` puts an unexecuted module object for the package into ``sys.modules`` (built from the
real import spec, so ``__path__``/``__spec__``/``__file__`` are the real ones). Importing a submodule
then runs that submodule normally, and its ``from .._jsii import *`` loads the assembly through the
package's own ``_jsii/__init__.py``, in the same order as the eager path (cdktf's assembly first,
then the provider's on the first provider import). Nothing else changes, and the test suite
checks that cdk.tf.json is byte-identical to the eager path. What the fast package lacks is the
package-level ``__all__`` and ``_private`` that ``publish()`` leaves behind; nothing here uses them
(``from cdktf_cdktf_provider_aws import *`` would import nothing).

Traps, and why the fast path stays safe:
* It is only valid for the exact ``__init__.py`` files read above. Both are pinned by sha256 (the
  hashes in the 20.1.0 wheel's RECORD), with the version and the assembly file; anything else
  falls back to the normal import with a one-line notice.
* jsii must turn every object that Node hands back into a Python class. If Node ever returned an
  object whose type lives in a submodule we did not import, jsii asks ``_try_import_type_module``,
  which imports the module named in ``jsii._reference_map._submodule_fqn_map``. This package does
  not ship that map, so ``install()`` fills it (jsii submodule ``fooBar`` <-> Python ``foo_bar``, for
  all 2135 submodules of 20.1.0) and the type is loaded on demand instead of failing. A jsii
  runtime without that hook is a fallback too.
* ``BYOC_EAGER_IMPORT=1`` forces the normal import (the benchmark and the identity test use it).

The Node side (``node_hook()``, ``lazy_provider.js``): jsii's kernel then spends 1.6-5 s in
``require("@cdktf/provider-aws")``, whose index.js loads all 2135 JS submodules. While jsii starts
its Node process we add ``--require lazy_provider.js`` to NODE_OPTIONS, which gives the kernel the
same exports object with each submodule loaded on first access (see that file for why that is
exact). It runs only with the Python fast path (not with ``BYOC_EAGER_IMPORT=1``, nor after a
fallback, which already printed its notice), and checks the provider's index.js itself; if that is
not the expected file it loads it normally and prints ``byoc: fast synth (node) unavailable (...)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import json
import os
import pkgutil
import sys
from importlib import metadata

PACKAGE = "cdktf_cdktf_provider_aws"
DISTRIBUTION = "cdktf-cdktf-provider-aws"
EXPECTED_VERSION = "20.1.0"
JSII_ASSEMBLY = "@cdktf/provider-aws"
ASSEMBLY_FILE = f"provider-aws@{EXPECTED_VERSION}.jsii.tgz"
#: sha256 of the files whose behaviour the fast path reproduces (from the 20.1.0 wheel's RECORD).
EXPECTED_SHA256 = {
    "__init__.py": "b572adc0d5678ee04026e6947059edbfd0011fa7e5da99ab61428e0c401d7414",
    "_jsii/__init__.py": "18ae637341d4326aa0d2d67f2a17b3b4f7d7b0fa0e41844dcd586230b9614970",
}
EAGER_ENV = "BYOC_EAGER_IMPORT"
#: The Node hook, its expectations (read by the hook from NODE_SPEC_ENV) and its debug switch.
NODE_HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lazy_provider.js")
NODE_SPEC_ENV = "BYOC_LAZY_PROVIDER"
NODE_DEBUG_ENV = "BYOC_LAZY_PROVIDER_DEBUG"
#: sha256 of lib/index.js inside provider-aws@20.1.0.jsii.tgz.
NODE_INDEX_SHA256 = "23f7368584d5d11a9407b161d62968e96d902b8e8affbf185987af42505e8314"

#: None until install() ran; then True (fast path) or False (normal import).
_state: bool | None = None


def _notice(reason: str) -> None:
    print(f"byoc: fast synth unavailable ({reason}); using the normal import", file=sys.stderr)


def _layout_problem(spec) -> str | None:
    """Why the installed package is not the one the fast path was written for, or None."""
    if spec is None or not spec.submodule_search_locations or not spec.origin:
        return f"{PACKAGE} is not an installed package"
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = None
    if version != EXPECTED_VERSION:
        return f"{DISTRIBUTION} {version}, expected {EXPECTED_VERSION}"
    root = os.path.dirname(spec.origin)
    for rel, expected in EXPECTED_SHA256.items():
        try:
            with open(os.path.join(root, rel), "rb") as f:
                actual = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            return f"{PACKAGE}/{rel} is missing"
        if actual != expected:
            return f"{PACKAGE}/{rel} is not the one of {EXPECTED_VERSION}"
    if not os.path.isfile(os.path.join(root, "_jsii", ASSEMBLY_FILE)):
        return f"{PACKAGE}/_jsii/{ASSEMBLY_FILE} is missing"
    return None


def _register_lazy_types(root: str) -> str | None:
    """Let jsii import a not-yet-imported submodule when Node returns one of its types."""
    try:
        from jsii import _reference_map as refmap
    except ImportError as exc:
        return f"jsii: {exc}"
    fqn_map = getattr(refmap, "_submodule_fqn_map", None)
    if not isinstance(fqn_map, dict) or not callable(getattr(refmap, "_try_import_type_module", None)):
        return "this jsii runtime cannot load types on demand"
    for name in os.listdir(root):
        if name.startswith("_") or not os.path.isfile(os.path.join(root, name, "__init__.py")):
            continue
        head, *rest = name.split("_")
        camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
        fqn_map.setdefault(f"{JSII_ASSEMBLY}.{camel}", f"{PACKAGE}.{name}")
    return None


def _submodule_getattr(name: str):
    # The real package has every submodule as an attribute; import one on first access instead.
    if name.startswith("_"):
        raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}")
    try:
        return importlib.import_module(f"{PACKAGE}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{PACKAGE}.{name}":
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None
        raise


def install() -> bool:
    """Install the fast path before anything imports the provider bindings.

    Returns True when the fast path is active. Idempotent; prints the fallback notice at most once.
    """
    global _state
    if _state is not None:
        return _state
    _state = False
    if os.environ.get(EAGER_ENV) == "1":
        return False
    if PACKAGE in sys.modules:  # already imported (eagerly): nothing left to save
        return getattr(sys.modules[PACKAGE], "__byoc_fast__", False)
    spec = importlib.util.find_spec(PACKAGE)  # finds, does not execute, a top-level package
    problem = _layout_problem(spec) or _register_lazy_types(os.path.dirname(spec.origin))
    if problem:
        _notice(problem)
        return False
    module = importlib.util.module_from_spec(spec)  # real __spec__, __file__, __loader__, __path__
    module.__getattr__ = _submodule_getattr  # PEP 562
    module.__byoc_fast__ = True
    # Same as the package's first line: `__path__ = extend_path(__path__, __name__)`.
    module.__path__ = pkgutil.extend_path(list(spec.submodule_search_locations), PACKAGE)
    sys.modules[PACKAGE] = module
    _state = True
    return True



#: jsii prints a large "Node <N> is end-of-life" banner on every run when Node is past its support
#: date (Node 20 here). Users cannot act on it inside byoc, so it is silenced for the EOL majors.
#: (The ..._DEPRECATED_NODE_VERSION variant does not apply.)
EOL_ENV = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
EOL_NODE_MAJORS = ("14", "16", "18", "20")


@contextlib.contextmanager
def silence_node_eol():
    """Around the first jsii import: start jsii's Node process without the end-of-life banner.

    Node reads the variable when it starts, so it is set only until then and restored on exit:
    nothing else in this process, and no later subprocess, sees a changed environment.
    """
    saved = os.environ.get(EOL_ENV)
    majors = {v for v in (saved or "").split(",") if v} | set(EOL_NODE_MAJORS)
    os.environ[EOL_ENV] = ",".join(sorted(majors))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(EOL_ENV, None)
        else:
            os.environ[EOL_ENV] = saved


def _node_notice(reason: str) -> None:
    print(f"byoc: fast synth (node) unavailable ({reason}); loading the provider normally", file=sys.stderr)


@contextlib.contextmanager
def node_hook():
    """Around the first jsii import: let jsii's Node process load the provider's exports lazily.

    jsii copies ``os.environ`` when it starts Node (on the first assembly load, i.e. ``import
    cdktf``), so the variables only need to be set until then; they are restored on exit, so no
    later subprocess of this process sees them. Yields True when the hook was handed to Node.
    """
    if not _state:  # eager on purpose, or the Python side fell back (and said so)
        yield False
        return
    if any(name.endswith("._jsii") for name in sys.modules):
        _node_notice("jsii's Node process is already running")
        yield False
        return
    if not os.path.isfile(NODE_HOOK):  # e.g. an install without the package data
        _node_notice(f"{os.path.basename(NODE_HOOK)} is missing")
        yield False
        return
    saved = {key: os.environ.get(key) for key in ("NODE_OPTIONS", NODE_SPEC_ENV)}
    # NODE_OPTIONS is split on spaces unless quoted; inside quotes, \ escapes. Append, never clobber.
    quoted = '"' + NODE_HOOK.replace("\\", "\\\\").replace('"', '\\"') + '"'
    os.environ["NODE_OPTIONS"] = " ".join(filter(None, [saved["NODE_OPTIONS"], f"--require {quoted}"]))
    os.environ[NODE_SPEC_ENV] = json.dumps(
        {"name": JSII_ASSEMBLY, "version": EXPECTED_VERSION, "sha256": NODE_INDEX_SHA256})
    try:
        yield True
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    # Importing a jsii package's ``_jsii`` loads its assembly, which starts Node. If a jsii version
    # ever started it later, Node would miss the hook: say so rather than be silently slow.
    if not any(name.endswith("._jsii") for name in sys.modules):
        _node_notice("jsii did not start Node while the hook was set")
