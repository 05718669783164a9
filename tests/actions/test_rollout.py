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
from botocore.exceptions import ClientError

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
    # The emulator evaluates the policies (a task denied the read would have stopped): a proof.
    assert "Proven: new tasks started and read the secret under the new policy." in lockdown.output


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
    deployed_stack.role(EXTRA_READER.rsplit("/", 1)[-1])
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
    sm, arn = deployed_stack.client("secretsmanager"), deployed_stack.outputs["byoc_secret_arn"]
    before = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    previous = next(v for v, stages in before.items() if "AWSPREVIOUS" in stages)
    result = deployed_stack.invoke("secret", "rollback")
    assert result.exit_code == 0, result.output
    assert "current again" in result.output and "they read the previous key" in result.output
    # The version that was AWSPREVIOUS (the good key) is AWSCURRENT now. Its value cannot be read
    # from here to compare: the secret policy denies reads from outside the endpoint, and the
    # emulator evaluates it as AWS would.
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[previous], stages
    assert f"Made version {previous} current again" in result.output
    with pytest.raises(ClientError) as denied:
        sm.get_secret_value(SecretId=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "with an explicit deny in a resource-based policy" in denied.value.response["Error"]["Message"]
    healthy(deployed_stack)
    # The previous test's extra reader goes again: the shared deployment is left as it was found.
    assert deployed_stack.invoke("lockdown", "--remove-principal", EXTRA_READER, "-y").exit_code == 0


def test_lockdown_restores_the_previous_readers_when_the_new_secret_policy_denies_a_reader(deployed_stack):
    """A role with a path (role/team/name), passed without it: aws:PrincipalArn carries the path,
    so the new policy's ArnNotEquals list never matches it and the evaluated secret policy denies
    the read it was meant to allow. No fault switch: the verdict is the evaluator's, on the
    documents AWS holds — and the lockdown is undone."""
    deployed_stack.role("byoc-team-reader", path="/team/")
    before = readers(deployed_stack)
    typed = "arn:aws:iam::123456789012:role/byoc-team-reader"  # the path left out
    result = deployed_stack.invoke("lockdown", "--principal", typed, "-y")
    assert result.exit_code == 1, result.output
    assert "Restoring the previous reader list" in result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert error.startswith("byoc: error: lockdown undone: the new secret policy denies"), error
    assert "byoc-team-reader GetSecretValue via vpce-" in error and "DenyReadToUnlistedPrincipals" in error
    assert "[@cloud-copilot/iam-simulate" in error
    assert readers(deployed_stack) == before
    saved = json.loads((deployed_stack.project / ".byoc" / "inputs.tfvars.json").read_text())
    assert sorted(saved["app_reader_principal_arns"]) == before
    healthy(deployed_stack)


def test_a_reader_without_a_grant_of_its_own_keeps_the_lockdown_and_names_what_to_grant(deployed_stack):
    """The reader's own identity policies allow nothing: the secret policy is not the cause, so
    the lockdown stays (undoing it would unlock the secret for nothing) and the error says so."""
    ungranted = deployed_stack.role("byoc-reader-without-grant", read_grant=False)
    result = deployed_stack.invoke("lockdown", "--principal", ungranted, "-y", "--no-verify-start")
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert error.startswith("byoc: error: locked down, but") and "The new reader list stays" in error, error
    assert "byoc-reader-without-grant GetSecretValue via vpce-" in error and "denied" in error
    assert "Restoring the previous reader list" not in result.output
    assert ungranted in readers(deployed_stack)
    result = deployed_stack.invoke("lockdown", "--remove-principal", ungranted, "-y")
    assert result.exit_code == 0, result.output
    healthy(deployed_stack)


def test_a_denial_by_the_roles_own_policies_keeps_the_new_reader_list_and_says_what_denies(deployed_stack):
    """A read denied by something other than the secret policy (here an explicit Deny added by
    hand to the execution role's identity policies): undoing the lockdown would unlock the secret
    for nothing, so the new list stays and the error names the statement that denies. Evaluated,
    not switched on."""
    iam = deployed_stack.client("iam")
    role = deployed_stack.outputs["ecs_execution_role_arn"].rsplit("/", 1)[-1]
    iam.put_role_policy(RoleName=role, PolicyName="hand-made-deny", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "secretsmanager:GetSecretValue",
                                                "Resource": "*"}]}))
    extra = deployed_stack.role("byoc-third")
    try:
        result = deployed_stack.invoke("lockdown", "--principal", extra, "-y")
        assert result.exit_code == 1, result.output
        (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
        assert error.startswith("byoc: error: locked down, but") and "The new reader list stays" in error, error
        assert "byoc-agents-execution-role GetSecretValue via vpce-" in error
        assert "denied (identity policy hand-made-deny" in error, error
        assert "Restoring the previous reader list" not in result.output
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="hand-made-deny")
    assert extra in readers(deployed_stack)
    result = deployed_stack.invoke("lockdown", "--remove-principal", extra, "-y")
    assert result.exit_code == 0, result.output
    assert "Proven: new tasks started and read the secret under the new policy." in result.output
    healthy(deployed_stack)


def test_logs_prints_the_lines_the_services_containers_wrote(deployed_stack):
    result = deployed_stack.invoke("logs", "--since", "1h")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "byoc emulator: container" in line]
    assert lines and all("secrets injected: PINECONE_API_KEY (values not shown)" in line for line in lines)
    stamps = [line.split()[0] for line in lines]
    assert stamps == sorted(stamps)  # newest last
    assert deployed_stack.sentinel not in result.output
