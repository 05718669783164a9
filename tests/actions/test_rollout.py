"""The outcome of a deploy: tasks that run with PINECONE_API_KEY and pass the load balancer's
health checks — or a failure that says why, at the moment it happens, in ECS's own words.

On the session's shared deployment (``deployed_stack``: deploy -> secret put -> lockdown ->
lockdown again -> status, through the CLI, real terraform, the emulator's task model), then, in
this order, one behaviour each: a task that crashes once on the way is a warning; a key the
application rejects is rolled back by ECS's circuit breaker to the previous revision and key, and
status and doctor say so; `secret rollback` pins the previous key; a value put by hand without the
JSON key leaves the pinned service healthy and status warns, and deploying it as status says is
rolled back by ECS; lockdown's undo and proof; status and logs. Each test leaves the service
healthy. The application's rejection of a key is the emulator's app switch (it runs no code);
everything else is modelled (ECS's circuit breaker, Secrets Manager's versions, the policies).
"""

from __future__ import annotations

import json
import re
import shlex
import time

import pytest
from botocore.exceptions import ClientError

from cli.core.policy import SecretPolicy
from byoc_process import interrupted
from conftest import IMAGE

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


def current_version(stack) -> str:
    stages = stack.client("secretsmanager").describe_secret(SecretId=stack.outputs["byoc_secret_arn"])[
        "VersionIdsToStages"]
    return next(v for v, labels in stages.items() if "AWSCURRENT" in labels)


def until_completed(stack, deployment_id: str, seconds: float = 60) -> None:
    ecs, out = stack.client("ecs"), stack.outputs
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        svc = ecs.describe_services(cluster=out["ecs_cluster_name"], services=[out["ecs_service_name"]])["services"][0]
        if [(d["id"], d["rolloutState"]) for d in svc["deployments"]] == [(deployment_id, "COMPLETED")]:
            return
        time.sleep(0.3)
    raise AssertionError(f"deployment {deployment_id} did not complete: {svc['deployments']}")


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


def test_secret_put_announces_its_apply_with_the_plan_summary_and_pins_the_version(deployed_stack):
    put = deployed_stack.steps["secret_put"]
    version = put.output.split("(version ", 1)[1].split(")", 1)[0]
    assert f"Terraform: plan and apply (the task definition reads key version {version}) ..." in put.output
    assert "Plan: 1 to add, 2 to change, 1 to destroy." in put.output, put.output
    assert "  replace: aws_ecs_task_definition.app" in put.output and "  update: aws_ecs_service.app" in put.output
    # The first revision read AWSCURRENT; the one now running reads that version, by id.
    (running,) = json.loads(deployed_stack.steps["status"].output)["revisions"]["running"]
    assert running["key_version"] == version


def test_lockdown_proves_that_new_tasks_start_under_the_locked_policy(deployed_stack):
    lockdown = deployed_stack.steps["lockdown"]
    assert lockdown.exit_code == 0, lockdown.output
    assert "New tasks are starting (proving they can read under the new policy)" in lockdown.output
    assert "Service: 1 of 1 tasks running, 1 healthy targets." in lockdown.output
    # The emulator evaluates the policies (a task denied the read would have stopped): a proof.
    assert "Proven: new tasks started and read the secret under the new policy." in lockdown.output


def test_status_json_reports_the_services_running_tasks_and_healthy_targets(deployed_stack):
    info = json.loads(deployed_stack.steps["status"].output)
    assert set(info["service"]) == {"desired", "running", "rollout_state", "healthy_targets", "last_stopped_reason",
                                    "deployment_id", "rollout_state_reason", "failed_tasks", "task_definition"}
    assert info["service"]["desired"] == info["service"]["running"] == info["service"]["healthy_targets"] == 1
    assert info["service"]["rollout_state"] == "COMPLETED"
    (running,) = info["revisions"]["running"]
    assert running["key_version"] == info["secret"]["current_version"] and not info["revisions"]["rolled_back"]
    assert info["secret"]["undeployed_current_version"] is None


# --- the rollout's verdicts, and the key pinned (issue 23) ---------------------------------------

def put_with_app(stack, behaviour: str, value: str):
    """``byoc secret put <value>`` while the emulator's app switch plays ``behaviour``."""
    stack.emulator.set_faults(app=behaviour)
    try:
        return stack.invoke("secret", "put", input=value + "\n")
    finally:
        stack.emulator.set_faults(app=None)


def test_a_rollout_with_one_early_crash_then_success_exits_0_with_a_warning(deployed_stack):
    """The application's container exits once (the emulator's app switch: the next task to
    start); ECS replaces it, the replacement is healthy, the circuit breaker's count resets and
    the rollout completes: a warning line, exit 0 — not the old "a new task stopped" failure."""
    result = put_with_app(deployed_stack, "exits-once", "pcsk-second-good-key")
    assert result.exit_code == 0, result.output
    (warning,) = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert "1 task(s) of the deployment of" in warning or "1 task(s) of deployment" in warning, warning
    assert "stopped before the rollout completed (ECS replaced them and the rollout went on)" in warning
    assert "Essential container in task exited -> the application exited" in warning
    assert "Service: 1 of 1 tasks running, 1 healthy targets." in result.output
    assert "pcsk-second-good-key" not in result.output
    healthy(deployed_stack)


def test_a_key_the_app_rejects_is_rolled_back_by_ecs_to_the_previous_key_and_status_and_doctor_say_so(deployed_stack):
    """The key's health checks fail (the emulator's app switch: keys stored after it are rejected),
    ECS's circuit breaker fails the deployment and rolls back to the previous revision — which
    pins the previous key, so the service is healthy again on it."""
    good = current_version(deployed_stack)
    result = put_with_app(deployed_stack, "rejects-new-keys", "pcsk-a-key-the-app-rejects")
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    # ECS's words for the failure: the deployment's reason, or — when its rollback completed
    # between two looks and the failed deployment is no longer listed — the service's event.
    assert re.search(r'ECS says "[^"]*tasks failed to start\."', error), error
    assert "Task failed ELB health checks" in error and "-> the load balancer health check failed" in error
    assert "ECS's circuit breaker rolled back to byoc-agents:" in error and "1 of 1 tasks running" in error
    bad = current_version(deployed_stack)
    assert bad != good

    status = json.loads(deployed_stack.invoke("status", "--json").output)
    revisions = status["revisions"]
    assert revisions["rolled_back"] and revisions["latest_key_version"] == bad
    assert [r["key_version"] for r in revisions["running"]] == [good]
    assert "circuit breaker" in revisions["ecs_says"] or "rolling back" in revisions["ecs_says"]
    human = deployed_stack.invoke("status").output
    assert f"LAST CHANGE FAILED AND WAS ROLLED BACK: ECS's circuit breaker took {revisions['latest_revision']} " \
           f"(key version {bad}) back; the service runs {revisions['primary_revision']}." in human, human
    assert f"WARNING: AWSCURRENT is version {bad}, the key ECS rolled back; the running tasks hold {good}. " \
           "`byoc secret rollback` makes that key current again" in human
    code, failed, _report = deployed_stack.doctor()
    assert code == 1 and "service running" in failed, failed
    assert "the last change failed and was rolled back" in failed["service running"]["detail"]
    assert f"runs {revisions['primary_revision']} (key version {good})" in failed["service running"]["detail"]
    assert "`byoc secret rollback`" in failed["service running"]["fix"]
    healthy(deployed_stack)


def test_secret_rollback_after_a_rolled_back_key_pins_the_previous_key_and_doctor_passes_again(deployed_stack):
    sm, arn = deployed_stack.client("secretsmanager"), deployed_stack.outputs["byoc_secret_arn"]
    previous = next(v for v, stages in sm.describe_secret(SecretId=arn)["VersionIdsToStages"].items()
                    if "AWSPREVIOUS" in stages)
    result = deployed_stack.invoke("secret", "rollback")
    assert result.exit_code == 0, result.output
    assert f"Made version {previous} current again" in result.output
    assert f"Terraform: plan and apply (the task definition reads key version {previous})" in result.output
    status = json.loads(deployed_stack.invoke("status", "--json").output)
    assert not status["revisions"]["rolled_back"] and status["secret"]["undeployed_current_version"] is None
    assert [r["key_version"] for r in status["revisions"]["running"]] == [previous]
    code, failed, _report = deployed_stack.doctor()
    assert code == 0, failed
    healthy(deployed_stack)


def test_a_value_put_by_hand_without_the_json_key_leaves_the_pinned_service_healthy_and_status_warns(deployed_stack):
    """The seed's way of rotating (put-secret-value, then a new deployment), with a value that has
    no PINECONE_API_KEY: the tasks read the version their revision pins, so the new deployment is
    healthy, and status says AWSCURRENT is not deployed, with the command that deploys it."""
    held = current_version(deployed_stack)
    sm = deployed_stack.client("secretsmanager")
    bad = sm.put_secret_value(SecretId=deployed_stack.outputs["byoc_secret_arn"],
                              SecretString=json.dumps({"api_key": "pcsk-under-the-wrong-name"}))["VersionId"]
    ecs, out = deployed_stack.client("ecs"), deployed_stack.outputs
    forced = ecs.update_service(cluster=out["ecs_cluster_name"], service=out["ecs_service_name"],
                                forceNewDeployment=True)["service"]["deployments"][0]["id"]
    until_completed(deployed_stack, forced)
    service = healthy(deployed_stack)
    assert service["deployment_id"] == forced
    human = deployed_stack.invoke("status").output
    assert f"WARNING: AWSCURRENT is version {bad}, which the running tasks do not hold (they hold {held}): it was " \
           f"stored but not deployed. Deploy it with `byoc deploy --container-image {IMAGE} --secret-version-id " \
           f"{bad}`" in human, human
    assert "pcsk-under-the-wrong-name" not in human


def test_deploying_that_value_as_status_says_fails_with_awss_reason_and_ecs_returns_to_the_previous_key(deployed_stack):
    bad = current_version(deployed_stack)
    result = deployed_stack.invoke("deploy", "--container-image", IMAGE, "--secret-version-id", bad, "-y")
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert "retrieved secret from Secrets Manager did not contain json key PINECONE_API_KEY" in error, error
    assert "byoc secret rollback" in error and "ECS's circuit breaker rolled back to byoc-agents:" in error
    assert "pcsk-under-the-wrong-name" not in result.output
    healthy(deployed_stack)


def test_deploy_refuses_a_key_version_the_secret_does_not_hold_and_changes_nothing(deployed_stack):
    state = (deployed_stack.project / "terraform.byoc.tfstate").read_bytes()
    missing = "a1b2c3d4-0000-4000-8000-00000000beef"
    result = deployed_stack.invoke("deploy", "--container-image", IMAGE, "--secret-version-id", missing, "-y")
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert error.startswith(f"byoc: error: secret_version_id: the secret byoc-agents/PINECONE_API_KEY has no version "
                            f"{missing}")
    assert (deployed_stack.project / "terraform.byoc.tfstate").read_bytes() == state


def test_rollback_makes_the_previous_value_current_and_pins_it(deployed_stack):
    """After the tests above AWSCURRENT is the value put by hand (the deploy that pinned it was
    rolled back by ECS) and AWSPREVIOUS the key the tasks hold: rollback makes that one current
    again and pins it."""
    sm, arn = deployed_stack.client("secretsmanager"), deployed_stack.outputs["byoc_secret_arn"]
    before = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    previous = next(v for v, stages in before.items() if "AWSPREVIOUS" in stages)
    result = deployed_stack.invoke("secret", "rollback")
    assert result.exit_code == 0, result.output
    assert "current again" in result.output
    # The version that was AWSPREVIOUS (the good key) is AWSCURRENT now. Its value cannot be read
    # from here to compare: the secret policy denies reads from outside the endpoint, and the
    # emulator evaluates it as AWS would.
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[previous], stages
    assert f"Made version {previous} current again" in result.output
    assert f"Terraform: plan and apply (the task definition reads key version {previous})" in result.output
    with pytest.raises(ClientError) as denied:
        sm.get_secret_value(SecretId=arn)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "with an explicit deny in a resource-based policy" in denied.value.response["Error"]["Message"]
    status = json.loads(deployed_stack.invoke("status", "--json").output)
    assert status["secret"]["undeployed_current_version"] is None and not status["revisions"]["rolled_back"]
    assert [r["key_version"] for r in status["revisions"]["running"]] == [previous]
    healthy(deployed_stack)


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


def test_an_interrupted_lockdown_proof_is_said_honestly_and_proven_on_the_next_run(deployed_stack):
    """Ctrl-C while new tasks prove the new policy: not "nothing was left half-done" — the policy
    is applied, unproven, and the next `byoc lockdown`, though it changes nothing, proves it."""
    reader = deployed_stack.role("byoc-proof-reader")
    out, code = interrupted(deployed_stack, ["lockdown", "--principal", reader, "-y"],
                            r"New tasks are starting \(proving they can read")
    assert code == 130, out
    assert ("byoc: interrupted. Done before that: the new secret policy is applied, but new tasks had not yet "
            "proven that they can read under it. To finish: `byoc lockdown` (it proves an unproven change)") in out
    assert "nothing was left half-done" not in out
    assert reader in readers(deployed_stack)
    again = deployed_stack.invoke("lockdown", "-y")
    assert again.exit_code == 0, again.output
    assert "No changes: the secret is already locked down to these readers." in again.output
    assert "did not prove it (interrupted, timed out or --no-verify-start): proving it now." in again.output
    assert "Proven: new tasks started and read the secret under the new policy." in again.output
    third = deployed_stack.invoke("lockdown", "-y")  # proven: nothing left to prove
    assert third.exit_code == 0 and "New tasks are starting" not in third.output, third.output
    assert deployed_stack.invoke("lockdown", "--remove-principal", reader, "-y").exit_code == 0
    healthy(deployed_stack)


def test_an_undone_lockdown_leaves_the_secret_no_less_locked_than_before_the_command(deployed_stack):
    """The saved list names a reader the policy never had (an earlier run saved its inputs and
    was stopped before its apply); an undo must restore what AWS had, not that list."""
    stale = deployed_stack.role("byoc-stale-reader")
    deployed_stack.role("byoc-team-reader", path="/team/")
    before = readers(deployed_stack)
    inputs = deployed_stack.project / ".byoc" / "inputs.tfvars.json"
    saved = json.loads(inputs.read_text())
    inputs.write_text(json.dumps({**saved, "app_reader_principal_arns": [*saved["app_reader_principal_arns"], stale]}))
    result = deployed_stack.invoke("lockdown", "--principal", "arn:aws:iam::123456789012:role/byoc-team-reader", "-y")
    assert result.exit_code == 1, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert error.startswith("byoc: error: lockdown undone: the new secret policy denies"), error
    assert readers(deployed_stack) == before and stale not in readers(deployed_stack)
    assert sorted(json.loads(inputs.read_text())["app_reader_principal_arns"]) == before
    healthy(deployed_stack)


def test_a_denial_by_an_unchanged_secret_policy_exits_1_with_nothing_to_undo(deployed_stack):
    """A reader list applied by a deploy (which does not judge readers) holds a role without its
    path: the next lockdown changes nothing, and the evaluated policy denies that reader — exit 1."""
    out = deployed_stack.outputs
    pathless = "arn:aws:iam::123456789012:role/byoc-team-reader"
    listed = ",".join([out["ecs_task_role_arn"], out["ecs_execution_role_arn"], pathless])
    deployed = deployed_stack.invoke("deploy", "--container-image", IMAGE, "--app-reader-principal-arns", listed, "-y")
    try:
        assert deployed.exit_code == 0, deployed.output
        result = deployed_stack.invoke("lockdown", "-y")
        assert result.exit_code == 1, result.output
        (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
        assert error.startswith("byoc: error: the secret policy (unchanged: this run applied nothing) denies"), error
        assert "byoc-team-reader GetSecretValue via vpce-" in error and "--remove-principal" in error
        assert "Restoring the previous reader list" not in result.output
    finally:  # the shared deployment goes back to its readers even when this test fails
        removed = deployed_stack.invoke("lockdown", "--remove-principal", pathless, "-y")
    assert removed.exit_code == 0, removed.output
    healthy(deployed_stack)


def test_secret_put_checks_what_terraform_needs_before_storing_the_value(deployed_stack):
    """byoc.toml's [pinecone] needs PINECONE_API_KEY for Terraform's Pinecone provider: without it
    the value is refused before it is stored (exit 2, "nothing changed"), not after."""
    sm, arn = deployed_stack.client("secretsmanager"), deployed_stack.outputs["byoc_secret_arn"]

    def versions():
        listed = sm.list_secret_version_ids(SecretId=arn, IncludeDeprecated=True)["Versions"]
        return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in listed}

    before = versions()
    toml = deployed_stack.project / "byoc.toml"
    original = toml.read_text()
    toml.write_text(original + "\n[pinecone]\nmanage_indexes = true\n")
    try:
        result = deployed_stack.invoke("secret", "put", input="pcsk-never-stored\n", env={"PINECONE_API_KEY": ""})
    finally:
        toml.write_text(original)
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
    assert error.startswith("byoc: error: PINECONE_API_KEY: not set"), error
    assert versions() == before


def test_a_secret_put_interrupted_after_storing_says_so_and_the_command_it_names_finishes_it(deployed_stack):
    out, code = interrupted(deployed_stack, ["secret", "put"], r"^Stored PINECONE_API_KEY", stdin="pcsk-stopped-key\n")
    assert code == 130, out
    version = out.split("Stored PINECONE_API_KEY in the secret (version ", 1)[1].split(")", 1)[0]
    assert f"Done before that: the new key was stored as version {version} (AWSCURRENT); the service does not read " \
           "it yet." in out, out
    finish = re.search(r"To finish: `([^`]+)`", out).group(1)
    assert finish == f"byoc deploy --container-image {IMAGE} --secret-version-id {version}"
    assert "nothing was left half-done" not in out and "pcsk-stopped-key" not in out
    result = deployed_stack.invoke(*shlex.split(finish)[1:], "-y")
    assert result.exit_code == 0, result.output
    status = json.loads(deployed_stack.invoke("status", "--json").output)
    assert [r["key_version"] for r in status["revisions"]["running"]] == [version]
    healthy(deployed_stack)


def test_logs_prints_the_lines_the_services_containers_wrote(deployed_stack):
    result = deployed_stack.invoke("logs", "--since", "1h")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "byoc emulator: container" in line]
    assert lines and all("secrets injected: PINECONE_API_KEY (values not shown)" in line for line in lines)
    stamps = [line.split()[0] for line in lines]
    assert stamps == sorted(stamps)  # newest last
    assert deployed_stack.sentinel not in result.output
