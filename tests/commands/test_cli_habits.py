"""What users of terraform, the CDK CLI and gh expect of a CLI, proven on the installed ``byoc``
run in a fresh process with no terminal (stdin from /dev/null; stdout and stderr read apart):
a version, ``-h``, global options before the command, typed flags, shell completion, a refusal
instead of a question nobody can answer, results on stdout and the rest on stderr, errors as
JSON with ``--json``, errors that name where a bad value came from, and the programs byoc needs
named before any work. (Under a terminal: tests/commands/test_cli_terminal.py; against a
deployment: tests/e2e/test_cli_machine_readable.py.)

No AWS is needed: every case stops before an AWS call, or reads only local files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from byoc_run import byoc, clean_env, make_looks_deployed, no_aws_env
from stacks.inputs import INPUTS, PANELS

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0"


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _one_line(run) -> str:
    lines = run.lines()
    assert len(lines) == 1 and "Traceback" not in run.stderr, run.stderr
    return lines[0]


@pytest.fixture
def project(tmp_path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    return folder


@pytest.fixture
def synthesized(synthesized_project, tmp_path) -> Path:
    """A copy of the session's synthesized project (its synth is fresh: no Node.js run needed)."""
    dest = tmp_path / "synthesized"
    shutil.copytree(synthesized_project, dest)
    return dest


@pytest.fixture
def looks_deployed(project) -> Path:
    return make_looks_deployed(project)


_no_aws_env = no_aws_env


def _fake_credentials() -> dict[str, str]:
    return clean_env(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")


# --- version, help, global options ------------------------------------------------------------

def test_version_flag_prints_the_installed_version():
    run = byoc("--version")
    assert (run.code, run.stdout, run.stderr) == (0, f"byoc {metadata.version('byoc')}\n", "")


def test_version_json_reports_byoc_terraform_node_cdktf_and_the_provider():
    run = byoc("version", "--json")
    assert run.code == 0, run.stderr
    found = json.loads(run.stdout)
    terraform = json.loads(subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True,
                                          env={**os.environ, "CHECKPOINT_DISABLE": "1"}).stdout)["terraform_version"]
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip().lstrip("v")
    assert found["byoc"] == metadata.version("byoc")
    assert found["terraform"] == terraform and found["node"] == node
    assert found["cdktf"] == metadata.version("cdktf")
    assert found["providers"] == {"registry.terraform.io/hashicorp/aws": "5.100.0"}
    assert found["bindings"] == {"cdktf-cdktf-provider-aws": metadata.version("cdktf-cdktf-provider-aws")}


@pytest.mark.parametrize("words", [[], ["deploy"], ["secret", "put"], ["plan"], ["output"]])
def test_dash_h_is_the_same_help_as_dash_dash_help(words):
    short, long = byoc(*words, "-h"), byoc(*words, "--help")
    assert short.code == long.code == 0, short.stderr
    assert short.stdout == long.stdout and "Usage: byoc" in short.stdout


def test_project_dir_and_env_before_the_command_are_the_commands_own(project, looks_deployed, tmp_path):
    missing = tmp_path / "missing"
    run = byoc("-C", str(missing), "status")
    assert run.code == 2 and f"--project-dir: {missing} is not a folder" in _one_line(run)

    (project / "byoc.toml").write_text('[env.dev]\napp_name = "byoc-dev"\n')
    run = byoc("-C", str(project), "-e", "nope", "status")
    assert run.code == 2 and "--env: no environment 'nope' in byoc.toml; known: dev" in _one_line(run)

    # The command's own option wins over the global one.
    run = byoc("-C", str(missing), "output", "-C", str(project), "--env", "dev")
    assert run.code == 1 and f"no deployment found in {project}" in _one_line(run)


# --- typed flags ------------------------------------------------------------------------------

def _help_entry(text: str, flag: str) -> str:
    """The option's entry in a help text: its first line up to the next option's."""
    match = re.search(rf"^  ({re.escape(flag)}\b.*?)(?=^  -|\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, flag
    return " ".join(match.group(1).split())


def test_deploy_help_types_every_input_shows_its_variable_and_groups_them_by_panel():
    text = byoc("deploy", "--help").stdout
    assert "<str>" not in text and "<int>" not in text and "<list" not in text
    for spec in INPUTS:
        entry = _help_entry(text, spec.flag)
        assert f"env var: BYOC_{spec.name.upper()}" in entry, entry
        if spec.tf_type == "bool":
            assert entry.startswith(f"{spec.flag} / --no-{spec.flag[2:]} "), entry
        elif spec.tf_type == "number":
            assert entry.startswith(f"{spec.flag} {'INTEGER' if spec.whole else 'NUMBER'} "), entry
        elif spec.tf_type.startswith(("list(", "map(")):
            assert "Repeatable, or comma-separated" in entry, entry
        elif spec.choices and len("|".join(spec.choices)) <= 40:
            assert entry.startswith(f"{spec.flag} [{'|'.join(spec.choices)}] "), entry
    titles = re.findall(r"^(\S[^:\n]*):$", text, re.MULTILINE)
    assert titles == ["Options", *(f"{panel} inputs" for panel in PANELS)], titles
    for panel, names in PANELS.items():
        section = text.split(f"\n{panel} inputs:\n", 1)[1].split("\n\n", 1)[0]
        assert [f for f in re.findall(r"^  (--[a-z0-9-]+)", section, re.MULTILINE)] == \
            ["--" + n.replace("_", "-") for n in names]


def test_a_fraction_for_a_whole_number_is_refused_by_the_flag_and_nothing_is_written(project):
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, "--desired-count", "2.5")
    assert run.code == 2 and "--desired-count" in _one_line(run) and "2.5" in _one_line(run)
    assert run.stdout == "" and list(project.iterdir()) == []


def test_a_bool_input_is_a_switch_and_takes_no_value(project):
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, "--alarms=true")
    assert run.code == 2 and "--alarms" in _one_line(run)
    assert list(project.iterdir()) == []


# --- no terminal ------------------------------------------------------------------------------

def test_deploy_without_a_terminal_or_auto_approve_is_refused_before_any_work(project):
    run = byoc("deploy", "-C", str(project), "--container-image", IMAGE, env=_fake_credentials())
    assert run.code == 2, run.stderr
    line = _one_line(run)
    assert line.startswith("byoc: error: --auto-approve:") and "no terminal to ask on" in line
    assert run.stdout == "" and list(project.iterdir()) == []  # no synth, no init, no saved inputs


@pytest.mark.parametrize("command", ["lockdown", "destroy"])
def test_lockdown_and_destroy_without_a_terminal_or_auto_approve_change_nothing(looks_deployed, command):
    before = _files(looks_deployed)
    run = byoc(command, "-C", str(looks_deployed), env=_fake_credentials())
    assert run.code == 2 and "--auto-approve" in _one_line(run)
    assert _files(looks_deployed) == before


# --- streams ----------------------------------------------------------------------------------

def test_a_warning_goes_to_stderr_and_stdout_holds_only_results(synthesized, tmp_path):
    run = byoc("plan", "-C", str(synthesized), "--container-image", IMAGE, "--nat-mode", "none",
               env=_no_aws_env(tmp_path))
    assert run.code == 1 and run.stdout == ""
    assert run.lines()[0].startswith("WARNING: nat_mode = none: the tasks have no internet access.")
    assert "no AWS credentials found" in run.lines()[-1]


def test_cost_prints_its_result_on_stdout_and_nothing_else(synthesized):
    run = byoc("cost", "-C", str(synthesized))
    assert run.code == 0 and run.stderr == ""
    assert run.stdout.startswith("Estimated fixed monthly cost, before traffic: $")
    as_json = byoc("cost", "-C", str(synthesized), "--json")
    assert json.loads(as_json.stdout)["total_monthly"] > 0 and as_json.stderr == ""


# --- errors: JSON, sources, precise ---------------------------------------------------------

def test_with_json_an_error_is_json_on_stdout_and_one_line_on_stderr(project):
    run = byoc("deploy", "-C", str(project), "-y", "--json", "--container-image", IMAGE,
               "--task-cpu", "1024", "--task-memory", "64")
    assert run.code == 2
    error = json.loads(run.stdout)
    assert error["exit"] == 2 and error["error"].startswith("--task-memory: task_memory 64 is not a Fargate size")
    assert _one_line(run) == f"byoc: error: {error['error']}"
    usage = byoc("cost", "--json", "--no-such-flag")
    assert usage.code == 2 and json.loads(usage.stdout)["exit"] == 2 and "--no-such-flag" in usage.stdout


def test_plan_with_detailed_exitcode_exits_1_on_bad_input_because_2_means_changes(project):
    run = byoc("plan", "-C", str(project), "--detailed-exitcode", "--container-image", IMAGE, "--nat-mode", "two")
    assert run.code == 1 and "--nat-mode" in _one_line(run)
    run = byoc("plan", "-C", str(project), "--detailed-exitcode", "--container-image", "not an image!")
    assert run.code == 1 and "--container-image: container_image must be an image reference" in _one_line(run)


def test_an_environment_variable_error_names_the_variable(project):
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, env=clean_env(BYOC_NAT_MODE="bogus"))
    assert run.code == 2
    assert _one_line(run) == "byoc: error: BYOC_NAT_MODE: nat_mode must be one of per_az, single, none."


def test_a_byoc_toml_error_names_the_key_and_its_file(project):
    (project / "byoc.toml").write_text('[env.dev]\nnat_mode = "two"\n')
    run = byoc("deploy", "-C", str(project), "--env", "dev", "-y", "--container-image", IMAGE)
    assert run.code == 2
    assert _one_line(run).startswith(f"byoc: error: byoc.toml key nat_mode in [env.dev] ({project / 'byoc.toml'}): "
                                     "nat_mode must be one of")


def test_a_fargate_memory_error_lists_the_sizes_of_the_chosen_cpu(project):
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, "--task-cpu", "1024",
               "--task-memory", "64")
    assert run.code == 2
    assert _one_line(run) == ("byoc: error: --task-memory: task_memory 64 is not a Fargate size for task_cpu 1024; "
                              "it takes 2048, 3072, 4096, 5120, 6144, 7168 or 8192 (MiB).")


def test_an_unknown_byoc_toml_key_names_the_closest_one_not_every_input(project):
    (project / "byoc.toml").write_text('nat_mod = "single"\n')
    line = _one_line(byoc("cost", "-C", str(project)))
    assert "unknown key 'nat_mod'; did you mean 'nat_mode'?" in line
    assert "pinecone_environment" not in line


def test_a_byoc_folder_that_is_a_file_is_named_as_such_not_as_no_deployment(looks_deployed):
    shutil.rmtree(looks_deployed / ".byoc")
    (looks_deployed / ".byoc").write_text("not a folder\n")
    for words in (["status"], ["deploy", "-y", "--container-image", IMAGE]):
        run = byoc(*words, "-C", str(looks_deployed), env=_fake_credentials())
        assert run.code == 1, run.stderr
        line = _one_line(run)
        assert ".byoc in " in line and "is a file, not a folder" in line and "no deployment" not in line


# --- what byoc runs, named before any work -------------------------------------------------

def _path_with(tmp_path: Path, **programs: str | None) -> str:
    """A PATH holding only ``programs``: name -> an existing program to link, or a script's text."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for name, what in programs.items():
        target = folder / name
        if what and what.startswith("#!"):
            target.write_text(what)
            target.chmod(0o755)
        elif what:
            target.symlink_to(what)
    return str(folder)


def test_synth_without_node_on_path_says_so_and_touches_nothing(synthesized, tmp_path):
    before = _files(synthesized / "cdktf.out")
    env = clean_env(PATH=_path_with(tmp_path, terraform=shutil.which("terraform")))
    run = byoc("synth", "-C", str(synthesized), "--force", env=env)
    assert run.code == 1
    assert _one_line(run) == ("byoc: error: Node.js is not on PATH, and synth needs it (cdktf runs the stack's "
                              "constructs on Node.js): install Node.js 18 or newer (https://nodejs.org/en/download) "
                              "and run the command again.")
    assert _files(synthesized / "cdktf.out") == before


def test_deploy_without_node_says_so_before_any_work(project, tmp_path):
    env = {**_fake_credentials(), "PATH": _path_with(tmp_path, terraform=shutil.which("terraform"))}
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, env=env)
    assert run.code == 1 and "Node.js is not on PATH" in _one_line(run)
    assert list(project.iterdir()) == []


def test_a_node_older_than_18_is_named_with_the_fix(synthesized, tmp_path):
    old_node = "#!/bin/sh\n[ \"$1\" = --version ] && echo v16.20.2 && exit 0\nexit 1\n"
    env = clean_env(PATH=_path_with(tmp_path, node=old_node))
    run = byoc("synth", "-C", str(synthesized), "--force", env=env)
    assert run.code == 1
    assert re.fullmatch(r"byoc: error: Node\.js 16\.20\.2 \(\S+/node\) is older than 18, the oldest cdktf's jsii runs "
                        r"on: install Node\.js 18 or newer \(https://nodejs\.org/en/download\) and run the command "
                        r"again\.", _one_line(run))


def test_a_terraform_older_than_1_10_is_named_before_any_work(project, tmp_path):
    old_terraform = ("#!/bin/sh\n[ \"$1\" = version ] && echo '{\"terraform_version\": \"1.9.8\", "
                     "\"platform\": \"linux_amd64\"}' && exit 0\nexit 1\n")
    env = {**_fake_credentials(), "PATH": _path_with(tmp_path, terraform=old_terraform, node=shutil.which("node"))}
    run = byoc("deploy", "-C", str(project), "-y", "--container-image", IMAGE, env=env)
    assert run.code == 1
    assert re.fullmatch(r"byoc: error: terraform 1\.9\.8 \(\S+/terraform\) is older than 1\.10, which byoc needs "
                        r"\(ephemeral variables, S3 state locking without DynamoDB\): install Terraform >= 1\.10 "
                        r"\(https://developer\.hashicorp\.com/terraform/install\) and run the command again\.",
                        _one_line(run))
    assert list(project.iterdir()) == []


# --- shell completion -------------------------------------------------------------------------

@pytest.mark.parametrize("shell, needs", [
    ("bash", ["complete -o default -F _byoc_completion byoc", "_BYOC_COMPLETE=complete_bash", "COMP_CWORD"]),
    ("zsh", ["#compdef byoc", "compdef _byoc_completion byoc", "_BYOC_COMPLETE=complete_zsh"]),
    ("fish", ["complete --command byoc", "_BYOC_COMPLETE=complete_fish", "(commandline -cp)"]),
])
def test_completion_script_holds_what_the_shell_needs(shell, needs):
    run = byoc("completion", shell)
    assert run.code == 0, run.stderr
    for text in needs:
        assert text in run.stdout, (text, run.stdout)


def _complete(shell: str, line: str) -> list[str]:
    """What the shell's completion function receives from byoc for the command line ``line``
    (the word being completed is its last, empty when it ends with a space)."""
    env = clean_env(_BYOC_COMPLETE=f"complete_{shell}")
    if shell == "bash":
        words = line.split()
        env.update(COMP_WORDS=line, COMP_CWORD=str(len(words) - (0 if line.endswith(" ") else 1)))
    else:
        env.update(_TYPER_COMPLETE_ARGS=line)
        if shell == "fish":
            env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    run = byoc(env=env)
    assert run.code == 0, run.stderr
    return run.stdout.split("\n")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_offers_the_values_of_an_enumerated_input(shell):
    nat_modes = _complete(shell, "byoc deploy --nat-mode ")
    for mode in ("per_az", "single", "none"):
        assert any(re.search(rf'(^|")({mode})("|$|\t|:)', entry) for entry in nat_modes), (mode, nat_modes)
    cpus = "\n".join(_complete(shell, "byoc plan --task-cpu 10"))
    assert "1024" in cpus and "2048" not in cpus


def test_completion_offers_commands_and_flags():
    assert "plan" in _complete("bash", "byoc pl")
    assert "--no-alarms" in _complete("bash", "byoc deploy --no-al")
