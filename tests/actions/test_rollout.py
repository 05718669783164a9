"""The outcome of a deploy: tasks that run with PINECONE_API_KEY and pass the load balancer's
health checks — or a failure that says why, at the moment it happens.

On the session's shared deployment (``deployed_stack``: deploy -> secret put -> lockdown ->
lockdown again -> status, through the CLI, real terraform, the emulator's task model), then, in
this order, one behaviour each: a value without the JSON key fails the next rollout with AWS's
reason; rollback recovers; a policy that keeps new tasks from the secret is undone by lockdown;
status and logs report the service. Each test leaves the service healthy.
"""

from __future__ import annotations

import json

import pytest

from cli.core.policy import SecretPolicy

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]

EXTRA_READER = "arn:aws:iam::123456789012:role/byoc-extra-reader"


def healthy(stack) -> dict:
    """The service's status block, asserted healthy: every desired task running behind healthy targets."""
    result = stack.invoke("status", "--json")
    assert result.exit_code == 0, result.output
    service = json.loads(result.output)["service"]
    assert service["desired"] >= 1 and service["running"] == service["desired"], service
    assert service["healthy_targets"] >= service["desired"], service
    return service


def readers(stack) -> list[str]:
    policy = stack.client("secretsmanager").get_resource_policy(SecretId=stack.outputs["byoc_secret_arn"])
    return sorted(SecretPolicy.parse(policy["ResourcePolicy"]).readers or [])


def test_phase_one_starts_no_task_while_the_secret_has_no_value(deployed_stack):
    deploy = deployed_stack.steps["deploy"]
    assert deploy.exit_code == 0, deploy.output
    assert "Tasks start when the secret has a value: byoc secret put" in deploy.output
    service = deployed_stack.steps["service_after_deploy"]
    assert service["desiredCount"] == 0 and service["runningCount"] == 0
    assert service["stopped"] == []  # not one failing start (ResourceInitializationError) was burnt


def test_secret_put_starts_the_tasks_and_waits_until_they_run_behind_healthy_targets(deployed_stack):
    put = deployed_stack.steps["secret_put"]
    assert put.exit_code == 0, put.output
    assert "Starting the service's tasks (phase one left it at zero" in put.output
    assert "New tasks are starting (they read the new key)" in put.output
    assert "Service: 1 of 1 tasks running, 1 healthy targets." in put.output
    assert deployed_stack.sentinel not in put.output


def test_lockdown_proves_that_new_tasks_start_under_the_locked_policy(deployed_stack):
    lockdown = deployed_stack.steps["lockdown"]
    assert lockdown.exit_code == 0, lockdown.output
    assert "New tasks are starting (proving they can read under the new policy)" in lockdown.output
    assert "Service: 1 of 1 tasks running, 1 healthy targets." in lockdown.output


def test_status_json_reports_the_services_running_tasks_and_healthy_targets(deployed_stack):
    info = json.loads(deployed_stack.steps["status"].output)
    assert set(info["service"]) == {"desired", "running", "rollout_state", "healthy_targets", "last_stopped_reason"}
    assert info["service"]["desired"] == info["service"]["running"] == info["service"]["healthy_targets"] == 1
    assert isinstance(info["service"]["rollout_state"], str)


def test_value_without_the_json_key_fails_the_rollout_with_the_reason_and_exit_1(deployed_stack):
    sm = deployed_stack.client("secretsmanager")
    # Put by hand, as in the fix doc's second root cause: JSON, but not under PINECONE_API_KEY.
    sm.put_secret_value(SecretId=deployed_stack.outputs["byoc_secret_arn"],
                        SecretString=json.dumps({"api_key": "pcsk-under-the-wrong-name"}))
    # The next change that starts tasks meets it: here a lockdown with one more reader.
    result = deployed_stack.invoke("lockdown", "--principal", EXTRA_READER, "-y")
    assert result.exit_code == 1, result.output
    error = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert len(error) == 1, result.output
    assert "retrieved secret from Secrets Manager did not contain json key PINECONE_API_KEY" in error[0]
    assert "byoc secret rollback" in error[0]
    assert "pcsk-under-the-wrong-name" not in result.output
    # Not the policy's doing: the new reader list stays.
    assert EXTRA_READER in readers(deployed_stack)


def test_rollback_makes_the_previous_value_current_and_the_tasks_recover(deployed_stack):
    result = deployed_stack.invoke("secret", "rollback")
    assert result.exit_code == 0, result.output
    assert "current again" in result.output and "they read the previous key" in result.output
    sm = deployed_stack.client("secretsmanager")
    current = sm.get_secret_value(SecretId=deployed_stack.outputs["byoc_secret_arn"])["SecretString"]
    assert json.loads(current) == {"PINECONE_API_KEY": deployed_stack.sentinel}
    healthy(deployed_stack)


def test_lockdown_restores_the_previous_readers_when_new_tasks_cannot_read(deployed_stack):
    before = readers(deployed_stack)
    emulator = deployed_stack.emulator
    emulator.set_faults(secret_access="denied_by_new_policy")  # what AWS would do with a policy that shuts out the role
    try:
        result = deployed_stack.invoke("lockdown", "--principal", "arn:aws:iam::123456789012:role/byoc-second", "-y")
    finally:
        emulator.set_faults(secret_access=None)
    assert result.exit_code == 1, result.output
    assert "AccessDeniedException" in result.output and "Restoring the previous reader list" in result.output
    error = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert len(error) == 1 and error[0].startswith("byoc: error: lockdown undone"), result.output
    assert readers(deployed_stack) == before
    saved = json.loads((deployed_stack.project / ".byoc" / "inputs.tfvars.json").read_text())
    assert sorted(saved["app_reader_principal_arns"]) == before
    healthy(deployed_stack)


def test_logs_prints_the_lines_the_services_containers_wrote(deployed_stack):
    result = deployed_stack.invoke("logs", "--since", "1h")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "byoc emulator: container" in line]
    assert lines and all("secrets injected: PINECONE_API_KEY (values not shown)" in line for line in lines)
    stamps = [line.split()[0] for line in lines]
    assert stamps == sorted(stamps)  # newest last
    assert deployed_stack.sentinel not in result.output
