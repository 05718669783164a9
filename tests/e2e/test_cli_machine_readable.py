"""The CLI for scripts and CI, on the session's shared deployment (``deployed_stack``), with the
installed ``byoc`` in a fresh process and no terminal: ``byoc plan --detailed-exitcode`` (0 with
the deployed inputs, 2 with one changed, nothing applied either way), ``byoc output`` printing
exactly what ``terraform output`` prints, ``logs --json`` as JSON lines, and the result JSON of
deploy, lockdown and secret put on stdout alone.

Nothing here changes the deployment: the plans apply nothing, the deploy and lockdown re-apply
the inputs already deployed, and the secret put stores the value it already holds without
restarting tasks.
"""

from __future__ import annotations

import json

import pytest

from byoc_run import byoc, clean_env
from conftest import IMAGE
from tfrun import terraform

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]


def _env(stack) -> dict[str, str]:
    return clean_env(**stack.env)


def _run(stack, *words: str, stdin: str | None = None):
    """``byoc <command words> -C <project> <rest>`` against the shared deployment."""
    n = 2 if words[0] == "secret" else 1
    return byoc(*words[:n], "-C", str(stack.project), *words[n:], env=_env(stack), stdin=stdin)


def _unchanged(stack) -> tuple:
    state = stack.state()
    return state["serial"], state["lineage"], (stack.project / ".byoc" / "inputs.tfvars.json").read_text()


def test_plan_detailed_exitcode_is_0_with_the_deployed_inputs_and_2_with_one_changed_applying_nothing(deployed_stack):
    before = _unchanged(deployed_stack)
    same = _run(deployed_stack, "plan", "--container-image", IMAGE, "--detailed-exitcode")
    assert same.code == 0, same.stderr
    assert same.stdout == ("Plan: 0 to add, 0 to change, 0 to destroy.\n"
                           "No changes: the deployment already matches these inputs.\n")
    changed = _run(deployed_stack, "plan", "--container-image", IMAGE, "--log-retention-days", "60",
                   "--detailed-exitcode", "--json")
    assert changed.code == 2, changed.stderr
    summary = json.loads(changed.stdout)
    assert summary["changes"] is True and (summary["add"], summary["destroy"]) == (0, 0)
    assert "aws_cloudwatch_log_group.app" in summary["resources"]["update"]
    assert summary["change"] == len(summary["resources"]["update"])
    assert "Terraform: plan ..." in changed.stderr  # narration on stderr, the JSON alone on stdout
    assert _unchanged(deployed_stack) == before
    assert not (deployed_stack.project / ".byoc" / "byoc.tfplan").exists()


def test_output_prints_what_terraform_output_prints(deployed_stack):
    stack_dir = deployed_stack.project / "cdktf.out" / "stacks" / "byoc"

    def both(*args: str) -> tuple[str, str]:
        ours = _run(deployed_stack, "output", *args)
        assert ours.code == 0, ours.stderr
        theirs = terraform(stack_dir, deployed_stack.env, "output", "-no-color", *(
            "-" + a.lstrip("-") if a.startswith("--") else a for a in args)).stdout
        return ours.stdout, theirs

    for args in ([], ["byoc_secret_arn"], ["private_subnet_ids"], ["--raw", "byoc_secret_arn"], ["--json"],
                 ["--json", "private_subnet_ids"]):
        ours, theirs = both(*args)
        if "--json" in args:
            assert json.loads(ours) == json.loads(theirs), args
        else:
            assert ours == theirs, args
    missing = _run(deployed_stack, "output", "no_such_output")
    assert missing.code == 1 and "no output 'no_such_output'" in missing.stderr and missing.stdout == ""


def test_logs_json_is_one_json_object_per_line_of_the_same_events(deployed_stack):
    as_json = _run(deployed_stack, "logs", "--since", "1h", "--json")
    assert as_json.code == 0, as_json.stderr
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert events and all(set(e) == {"timestamp", "stream", "message", "event_id"} for e in events)
    text = _run(deployed_stack, "logs", "--since", "1h").stdout.splitlines()
    for event in events:  # the same events as the text lines (which later runs only add to)
        assert f"{event['timestamp']} {event['stream']} {event['message']}" in text


def test_deploy_json_prints_the_outputs_alone_on_stdout(deployed_stack):
    run = _run(deployed_stack, "deploy", "--container-image", IMAGE, "-y", "--no-wait", "--json")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout) == {"outputs": deployed_stack.outputs}
    assert "No changes: the deployment already matches these inputs." in run.stderr


def test_lockdown_json_reports_the_readers_it_verified(deployed_stack):
    run = _run(deployed_stack, "lockdown", "-y", "--no-verify-start", "--json")
    assert run.code == 0, run.stderr
    report = json.loads(run.stdout)["lockdown"]
    outputs = deployed_stack.outputs
    assert report["locked"] is True and report["problems"] == []
    assert {outputs["ecs_task_role_arn"], outputs["ecs_execution_role_arn"]} <= set(report["readers"])
    assert report["endpoints"] == [outputs["secretsmanager_vpce_id"]]


def test_secret_put_json_prints_the_id_of_the_version_now_current(deployed_stack):
    run = _run(deployed_stack, "secret", "put", "--no-restart", "--json", stdin=deployed_stack.sentinel + "\n")
    assert run.code == 0, run.stderr
    version = json.loads(run.stdout)["secret"]["version_id"]
    stages = deployed_stack.client("secretsmanager").describe_secret(
        SecretId=deployed_stack.outputs["byoc_secret_arn"])["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[version]
    assert deployed_stack.sentinel not in run.stdout + run.stderr
