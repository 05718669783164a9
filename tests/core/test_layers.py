"""The CLI's layers, held to their arrows by reading the imports (``ast``), so the layout cannot
drift: commands -> actions -> observers -> core, nothing imports upward, no command imports
another, no cycle, the emulator is loaded only by ``byoc emulator`` and ``byoc demo``, observers
never write to AWS or run terraform, and the stack's code never imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYERS = {"core": 1, "observers": 2, "actions": 3, "commands": 4}
#: The commands layer's shared parts (the app and its error boundary, the option types): every
#: command imports them; they are not commands.
COMMAND_INFRASTRUCTURE = {"cli.commands", "cli.commands.app", "cli.commands.options"}
#: Who may load the emulator (moto is heavy, and only these need an AWS of their own).
EMULATOR_USERS = {"cli.commands.emulator", "cli.actions.demo"}
#: boto3 operations that change AWS, by the prefix of their Python method name.
WRITES = ("put_", "create_", "update_", "delete_", "start_", "stop_", "register_", "deregister_", "tag_",
          "untag_", "modify_", "attach_", "detach_", "associate_", "disassociate_", "restore_", "rotate_",
          "run_task", "enable_", "disable_", "schedule_", "cancel_", "replace_", "revoke_", "authorize_")
#: Terraform runs and state writes (cli/core/session.py, cli/core/terraform.py).
TERRAFORM = ("prepare", "plan", "apply", "apply_now", "init", "stream", "save_inputs", "run")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((REPO / "cli").rglob("*.py"))}


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every byoc module ``path`` imports, at the top or inside a function (a lazy import is an
    arrow too): ``from a.b import c`` counts as ``a.b.c`` when that is a module, else ``a.b``."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(block.test) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:  # annotations only: no import at run time
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
    return {name for name in found if name.split(".")[0] in ("cli", "stacks", "constructs_lib")}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "cli" else None


def test_every_cli_module_lives_in_a_layer_or_is_the_entry_point():
    loose = [m for m in MODULES if m not in ("cli", "cli.main") and _layer(m) not in (*LAYERS, "emulator")]
    assert loose == [], f"modules outside the layers: {loose}"


@pytest.mark.parametrize("module", [m for m in MODULES if _layer(m) in LAYERS])
def test_no_module_imports_a_layer_above_its_own(module):
    mine = LAYERS[_layer(module)]
    upward = [m for m in GRAPH[module] if _layer(m) in LAYERS and LAYERS[_layer(m)] > mine]
    assert upward == [], f"{module} (layer {_layer(module)}) imports upward: {upward}"


def test_no_command_imports_another_command():
    commands = {m for m in MODULES if _layer(m) == "commands" and m not in COMMAND_INFRASTRUCTURE}
    wrong = {m: sorted(GRAPH[m] & commands) for m in commands if GRAPH[m] & commands}
    assert wrong == {}, wrong


def test_only_byoc_emulator_and_byoc_demo_load_the_emulator():
    users = {m for m in MODULES if _layer(m) != "emulator" and any(_layer(i) == "emulator" for i in GRAPH[m])}
    assert users <= EMULATOR_USERS, sorted(users - EMULATOR_USERS)


def test_the_emulator_uses_only_cores_parts_of_byoc():
    wrong = {m: sorted(i for i in GRAPH[m] if _layer(i) in ("commands", "actions", "observers"))
             for m in MODULES if _layer(m) == "emulator"}
    assert {m: i for m, i in wrong.items() if i} == {}


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH.get(module, ())):
            if target not in GRAPH:
                continue
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(target):] + [target]))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def _calls(path: Path) -> list[str]:
    return [node.func.attr for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)]


@pytest.mark.parametrize("module", [m for m in MODULES if _layer(m) == "observers"])
def test_observers_never_write_to_aws_nor_run_terraform(module):
    calls = _calls(MODULES[module])
    writes = sorted({c for c in calls if c.startswith(WRITES) or c in TERRAFORM})
    assert writes == [], f"{module} calls {writes}"
    assert not any(_layer(m) == "actions" for m in GRAPH[module])


def test_the_stack_never_imports_the_cli():
    for folder in ("stacks", "constructs_lib"):
        for path in sorted((REPO / folder).rglob("*.py")):
            cli = sorted(i for i in _imports(path) if i.split(".")[0] == "cli")
            assert cli == [], f"{path.relative_to(REPO)} imports {cli}"


def test_a_planted_upward_import_is_caught(tmp_path):
    """The reader itself: an observer that imports an action is seen as such."""
    planted = tmp_path / "planted.py"
    planted.write_text("def f():\n    from cli.actions.lockdown import lockdown\n")
    assert "cli.actions.lockdown" in _imports(planted)
