"""The CLI's two-phase flow end to end: real terraform, a moto server on 127.0.0.1.

The flow is the session's shared deployment (``deployed_stack`` in conftest.py), run once in
the order a user runs it: deploy -> secret put (stdin) -> lockdown -> lockdown again -> status;
each test asserts one behaviour of one step. ``byoc destroy`` is proven on the remote-state
deployment of tests/test_environments_backend.py and by the demo.
"""

from __future__ import annotations

import json

import pytest

from cli.policy import SecretPolicy

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]


@pytest.fixture(scope="module")
def flow_run(deployed_stack) -> dict:
    """The flow's recorded steps, and the secret policy as AWS holds it after lockdown."""
    steps = dict(deployed_stack.steps, sentinel=deployed_stack.sentinel, project=deployed_stack.project)
    steps["policy"] = SecretPolicy.parse(steps["policy_after_lockdown"])
    return steps


def outputs(steps) -> dict:
    return {k: v["value"] for k, v in steps["state_after_lockdown"]["outputs"].items()}


def test_deploy_applies_and_prints_outputs_and_next_step(flow_run):
    result = flow_run["deploy"]
    assert result.exit_code == 0, result.output
    created = sum(len(r["instances"]) for r in flow_run["state_after_lockdown"]["resources"] if r["mode"] == "managed")
    assert f"Plan: {created} to add" in result.output
    assert f"[{created}/{created}] done" in result.output
    assert "byoc_secret_arn = arn:aws:secretsmanager:" in result.output
    assert "byoc secret put" in result.output


def test_secret_put_reads_stdin_and_never_echoes_the_value(flow_run):
    result = flow_run["secret_put"]
    assert result.exit_code == 0, result.output
    assert "Stored PINECONE_API_KEY" in result.output
    assert flow_run["sentinel"] not in result.output


def test_lockdown_names_task_and_execution_roles_in_the_policy(flow_run):
    result = flow_run["lockdown"]
    assert result.exit_code == 0, result.output
    out = outputs(flow_run)
    assert sorted(flow_run["policy"].readers) == sorted([out["ecs_task_role_arn"], out["ecs_execution_role_arn"]])
    assert flow_run["policy"].endpoints == [out["secretsmanager_vpce_id"]]
    assert f"may read PINECONE_API_KEY: {out['ecs_task_role_arn']}" in result.output
    assert "only through VPC endpoint" in result.output
    # moto has no policy simulator: lockdown says AWS's verdict was not had, and does not invent one.
    assert "AWS's policy simulator: not checked by AWS's evaluator" in result.output


def test_locked_policy_is_exactly_the_two_denies_on_reads(flow_run):
    """The document AWS holds, compared with what it must say, statement by statement (not read
    back through byoc's own policy reader: what such a document means is tests/test_policy.py's
    part, from the IAM User Guide's rules)."""
    out = outputs(flow_run)
    statements = json.loads(flow_run["policy_after_lockdown"])["Statement"]
    by_sid = {s["Sid"]: s for s in statements}
    assert set(by_sid) == {"DenyReadOutsideVpcEndpoint", "DenyReadToUnlistedPrincipals"}
    for s in statements:
        assert s["Effect"] == "Deny" and s["Principal"] in ("*", {"AWS": "*"})
        assert s["Action"] in ("secretsmanager:GetSecretValue", ["secretsmanager:GetSecretValue"])
        assert s["Resource"] in (out["byoc_secret_arn"], [out["byoc_secret_arn"]])
    assert by_sid["DenyReadOutsideVpcEndpoint"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": out["secretsmanager_vpce_id"]}}
    (operator, pairs), = by_sid["DenyReadToUnlistedPrincipals"]["Condition"].items()
    assert operator == "ArnNotEquals" and list(pairs) == ["aws:PrincipalArn"]
    assert sorted(pairs["aws:PrincipalArn"]) == sorted([out["ecs_task_role_arn"], out["ecs_execution_role_arn"]])


def test_lockdown_again_changes_nothing(flow_run):
    result = flow_run["lockdown_again"]
    assert result.exit_code == 0, result.output
    assert "No changes: the secret is already locked down" in result.output
    assert "Apply" not in result.output and "Synth: up to date" in result.output


def test_status_json_shows_value_set_and_locked(flow_run):
    result = flow_run["status"]
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["secret"]["has_value"] is True
    assert info["lockdown"]["locked"] is True
    assert outputs(flow_run)["ecs_execution_role_arn"] in info["lockdown"]["readers"]


def test_secret_value_is_in_no_process_arguments_during_the_run(flow_run):
    watch = flow_run["argv_watch"]
    assert watch.hits == []
    assert "terraform" in watch.seen  # the watcher did see the child processes it guards against


def test_secret_value_is_nowhere_in_the_project(flow_run):
    assert flow_run["sentinel"] not in flow_run["files"]
    assert flow_run["sentinel"] not in flow_run["state_after_deploy"]
