"""The README's console samples are real output. Each sample is a ``console`` block after a
``<!-- sample: NAME -->`` line; its ``$ ...`` lines are commands and the lines after each are
what it printed (stdout and stderr, in order). A ``…`` in a line stands for any text (times, IDs),
and a line holding only ``…`` for any number of lines, so a sample can leave lines out but
cannot show a line byoc does not print.

``cost`` and ``errors`` run their commands as written, in a fresh project; ``session`` compares
the shared deployment's own recorded run (deploy, secret put, lockdown) and a ``status`` of it;
``plan`` runs its command against that deployment (a plan: it changes nothing).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from byoc_run import BYOC, clean_env
from conftest import IMAGE as SHARED_IMAGE

README = Path(__file__).resolve().parents[2] / "README.md"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agents:1.4.2"


def samples() -> dict[str, list[tuple[str, list[str]]]]:
    """NAME -> [(command, output lines)] of each marked console block."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for name, block in re.findall(r"<!-- sample: ([a-z-]+) -->\n```console\n(.*?)\n```", README.read_text(), re.S):
        steps: list[tuple[str, list[str]]] = []
        for line in block.split("\n"):
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        found[name] = [(command, _trimmed(lines)) for command, lines in steps]
    return found


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _line_pattern(line: str) -> str:
    return "".join(".*?" if part == "…" else re.escape(part) for part in re.split("(…)", line))


def matches(sample: list[str], real: list[str]) -> bool:
    """Every sample line matches a real line, in order, with ``…`` as a wildcard; a line that is
    only ``…`` matches any run of real lines."""
    pattern = "".join("(?:[^\n]*\n)*?" if line.strip() == "…" else _line_pattern(line) + "\n" for line in sample)
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in real)) is not None


def _mismatch(name: str, command: str, sample: list[str], output: str) -> str | None:
    """None when the sample shows what the command printed; else what it printed."""
    real = _trimmed(output.replace("\r\n", "\n").split("\n"))
    if matches(sample, real):
        return None
    return f"README sample {name!r}, `{command}`, is not what it prints:\n" + "\n".join(real)


def _assert_matches(name: str, steps: list[tuple[str, list[str], str]]) -> None:
    """Every (command, sample, output) of a sample; all mismatches are reported at once."""
    wrong = [m for command, sample, output in steps if (m := _mismatch(name, command, sample, output))]
    assert not wrong, "\n\n".join(wrong)


def run_as_written(command: str, cwd: Path, env: dict[str, str]) -> str:
    """The command as the README shows it: ``VAR=value`` prefixes, the ``byoc`` installed here,
    ``< file`` as stdin; stdout and stderr together in the order they were written."""
    words = shlex.split(command)
    extra = {}
    while "=" in words[0] and not words[0].startswith("byoc"):
        key, value = words.pop(0).split("=", 1)
        extra[key] = value
    stdin = None
    if "<" in words:
        at = words.index("<")
        stdin, words = open(cwd / words[at + 1] if not words[at + 1].startswith("/") else words[at + 1]), words[:at]
    assert words[0] == "byoc", command
    try:
        proc = subprocess.run([BYOC, *words[1:]], cwd=cwd, env={**env, **extra}, stdin=stdin or subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    finally:
        if stdin:
            stdin.close()
    return proc.stdout


def test_the_readme_has_its_samples():
    assert set(samples()) == {"cost", "errors", "session", "plan"}


def test_matching_a_sample_leaves_out_lines_only_where_it_says_so():
    assert matches(["a …", "…", "z"], ["a 1", "b", "c", "z"]) and matches(["…", "z"], ["z"])
    assert not matches(["a", "z"], ["a", "b", "z"]) and not matches(["a …"], ["b 1"])


def test_cost_sample_is_what_byoc_cost_prints(synthesized_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(synthesized_project, project)
    _assert_matches("cost", [(command, sample, run_as_written(command, project, clean_env()))
                             for command, sample in samples()["cost"]])


def test_errors_sample_is_what_byoc_prints(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "byoc.toml").write_text(f'container_image = "{IMAGE}"\n')
    env = clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    _assert_matches("errors", [(command, sample, run_as_written(command, project, env))
                               for command, sample in samples()["errors"]])
    assert sorted(p.name for p in project.iterdir()) == ["byoc.toml"]  # errors change nothing


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_session_sample_is_the_shared_deployments_own_run(deployed_stack):
    recorded = {"deploy": deployed_stack.steps["deploy"].output, "secret put": deployed_stack.steps["secret_put"].output,
                "lockdown": deployed_stack.steps["lockdown"].output}
    steps = samples()["session"]
    # What conftest.py's deployed_stack ran, as a user types it; then a status of it, run now.
    assert [command for command, _ in steps] == [f"byoc deploy --container-image {SHARED_IMAGE} --auto-approve",
                                                 "byoc secret put < pinecone-key.txt", "byoc lockdown --auto-approve",
                                                 "byoc status"]
    env = clean_env(**deployed_stack.env)
    _assert_matches("session", [(command, sample, recorded.get(word) or run_as_written(command, deployed_stack.project, env))
                                for (command, sample), word in zip(steps, ("deploy", "secret put", "lockdown", "status"))])


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.xdist_group("deployed_stack")
def test_plan_sample_is_what_byoc_plan_prints_against_the_deployment(deployed_stack):
    env = clean_env(**deployed_stack.env)
    _assert_matches("plan", [(command, sample, run_as_written(command, deployed_stack.project, env))
                             for command, sample in samples()["plan"]])
