"""The emulator's gap table (cli/emulator/gaps.py) held against the modules that fill the gaps.

Every gap is declared by exactly the modules its row names, and each of those modules' docstrings
names it; every module of the table exists, and no other module of the package patches moto;
every change made to moto names a gap its module declares, in the layer it belongs to; the
server installs every module of the table. Only the last test starts a server.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import cli.emulator
from cli.emulator import ecs_tasks, gaps, patching, running, server

NAMES = gaps.module_names()
MODULES = {name: importlib.import_module(f"cli.emulator.{name}") for name in NAMES}
LAYERS = ("patch_responses", "patch_models")


def test_the_gaps_are_numbered_one_to_n_once_each():
    assert [gap.number for gap in gaps.TABLE] == list(range(1, len(gaps.TABLE) + 1))
    for gap in gaps.TABLE:
        assert gap.service and gap.moto_lacks and gap.emulator_does and gap.modules, gap


@pytest.mark.parametrize("gap", gaps.TABLE, ids=lambda gap: f"gap{gap.number}")
def test_a_gap_is_declared_by_exactly_the_modules_its_row_names(gap):
    declaring = [name for name, module in MODULES.items() if gap.number in module.GAPS]
    assert sorted(declaring) == sorted(gap.modules)


@pytest.mark.parametrize("name", NAMES)
def test_a_module_of_the_table_declares_its_gaps_names_them_and_its_sources(name):
    module = MODULES[name]
    assert isinstance(module.GAPS, tuple) and module.GAPS, name
    assert all(any(n == gap.number for gap in gaps.TABLE) for n in module.GAPS), name  # no gap outside the table
    doc = module.__doc__ or ""
    for n in module.GAPS:
        assert re.search(rf"\b[Gg]ap {n}\b", doc), f"{name}'s docstring does not name gap {n}"
    assert "AWS documentation followed" in doc and "docs.aws.amazon.com" in doc, name
    assert callable(module.install)
    assert any(hasattr(module, layer) for layer in LAYERS), name


def test_no_module_outside_the_table_patches_moto():
    for info in pkgutil.iter_modules(cli.emulator.__path__):
        if info.name in NAMES:
            continue
        module = importlib.import_module(f"cli.emulator.{info.name}")
        for name in ("GAPS", "install", *LAYERS):
            assert not hasattr(module, name), f"cli.emulator.{info.name} has {name} but is not in the gap table"


# --- what installing does to moto: imports moto and patches it in this process, as an emulator does ---

@pytest.fixture(scope="module")
def changes() -> list[patching.Change]:
    server.install_gaps()
    return list(patching.CHANGES)


@pytest.mark.emulator
def test_every_change_to_moto_names_a_gap_its_module_declares(changes):
    assert changes
    for change in changes:
        name = change.module.removeprefix("cli.emulator.")
        assert name in MODULES, change
        assert change.gap in MODULES[name].GAPS, change


@pytest.mark.emulator
@pytest.mark.parametrize("name", NAMES)
def test_every_gap_a_module_declares_is_filled_by_a_change_of_its_own(changes, name):
    filled = {change.gap for change in changes if change.module == f"cli.emulator.{name}"}
    assert filled == set(MODULES[name].GAPS)


@pytest.mark.emulator
def test_each_change_is_made_in_its_layer(changes):
    """Response layer: moto's responses.py or a route answered before moto; model layer: moto's
    models (or a switch moto's backends read)."""
    for change in changes:
        assert change.layer in LAYERS, change
        if change.layer == "patch_responses":
            assert ".responses." in change.what or change.what.startswith("route "), change
        else:
            assert ".models." in change.what or change.what.startswith("environment "), change


@pytest.mark.emulator
def test_installing_again_changes_nothing(changes):
    server.install_gaps()
    assert patching.CHANGES == changes


@pytest.mark.emulator
def test_a_change_outside_an_install_is_refused():
    class Owner:
        attribute = "moto's"

    with pytest.raises(RuntimeError, match="only in a module's install"):
        patching.replace(Owner, "attribute", gap=1)("byoc's")
    assert Owner.attribute == "moto's"


@pytest.mark.emulator
def test_the_server_installs_every_module_of_the_table_and_resets_their_state(monkeypatch):
    installed = []
    for name, module in MODULES.items():
        def install(name=name, original=module.install):
            installed.append(name)
            original()
        monkeypatch.setattr(module, "install", install)
    MODULES["applicationautoscaling"].TAGS["arn:left-over"] = {"k": "v"}
    ecs_tasks.set_faults({"image": "missing"})
    with running():
        assert installed == NAMES
        assert MODULES["applicationautoscaling"].TAGS == {} and ecs_tasks.faults() == {}
