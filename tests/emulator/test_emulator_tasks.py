"""The emulator's ECS task model (gap 4, cli/emulator/ecs_tasks.py), against a moto server on
127.0.0.1 with boto3: tasks start, or stop with AWS's own reason, the way ECS treats a
container's ``secrets``; running tasks become healthy targets and write a log line; the fault
switch. No terraform: one service built with boto3, the way the stack builds it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from cli.observers.stopped import explain_stopped, redact
from cli.emulator import FAULTS_PATH
from ecs_service import KEY, ecs_service_on

pytestmark = pytest.mark.emulator


@pytest.fixture
def ecs_service(aws_env_module, monkeypatch, request):
    """A Fargate service whose container reads KEY from a secret (no value yet), behind a target
    group; a cluster, secret and group of its own on the module's emulator (tests/ecs_service.py)."""
    monkeypatch.setenv("BYOC_EMULATOR_TASK_SECONDS", "0.1")
    with ecs_service_on(aws_env_module, request.node.name) as service:
        yield service


def test_a_task_without_a_current_secret_value_stops_with_awss_reason(ecs_service):
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert task["stopCode"] == "TaskFailedToStart"
    assert task["stoppedReason"] == (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
        "unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret "
        f"{ecs_service.secret_arn} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the "
        "specified secret value for staging label: AWSCURRENT")
    assert task["group"] == "service:app" and task["startedBy"] == ecs_service.describe()["deployments"][0]["id"]


def test_a_value_without_the_json_key_stops_the_task_naming_the_key(ecs_service):
    ecs_service.put(json.dumps({"api_key": "x"}))
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert task["stoppedReason"].endswith("retrieved secret from Secrets Manager did not contain json key "
                                          "PINECONE_API_KEY")


def test_a_value_that_is_not_json_stops_the_task_and_byoc_never_repeats_its_first_character(ecs_service):
    ecs_service.put("Zpcsk-not-json")
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert task["stoppedReason"].endswith("invalid character 'Z' looking for beginning of value")  # AWS's text
    shown = redact(task["stoppedReason"])
    assert "'Z'" not in shown and "not JSON" in explain_stopped(shown)


def test_with_a_json_value_tasks_run_become_healthy_targets_and_log_without_the_value(ecs_service):
    ecs_service.put(json.dumps({KEY: "pcsk-emulated-value"}))
    ecs_service.create(desired=2)
    ecs_service.until(lambda: ecs_service.health().count("healthy") == 2)
    service = ecs_service.describe()
    assert (service["runningCount"], service["pendingCount"]) == (2, 0)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert ecs_service.tasks("STOPPED") == []
    streams = ecs_service.logs.describe_log_streams(logGroupName=ecs_service.log_group)["logStreams"]
    assert len(streams) == 2 and all(s["logStreamName"].startswith("app/app/") for s in streams)
    events = [e["message"] for s in streams for e in ecs_service.logs.get_log_events(
        logGroupName=ecs_service.log_group, logStreamName=s["logStreamName"])["events"]]
    assert events and all(f"secrets injected: {KEY} (values not shown)" in e for e in events)
    assert not any("pcsk-emulated-value" in e for e in events)


def test_a_forced_new_deployment_replaces_the_running_tasks(ecs_service):
    ecs_service.put(json.dumps({KEY: "one"}))
    ecs_service.create()
    ecs_service.until(lambda: ecs_service.health() == ["healthy"])
    ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app", forceNewDeployment=True)
    new = ecs_service.describe()["deployments"][0]["id"]
    (old, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert old["stoppedReason"] == f"Scaling activity initiated by (deployment {new})"
    (running,) = ecs_service.tasks("RUNNING")
    assert running["startedBy"] == new and [d["id"] for d in ecs_service.describe()["deployments"]] == [new]


def test_the_circuit_breaker_fails_a_rollout_of_tasks_that_cannot_start(ecs_service):
    ecs_service.create()
    ecs_service.until(lambda: ecs_service.describe()["deployments"][0]["rolloutState"] == "FAILED")
    (deployment,) = ecs_service.describe()["deployments"]
    assert deployment["failedTasks"] >= 3 and "circuit breaker" in deployment["rolloutStateReason"]


def test_ecs_goes_on_between_reads_one_read_after_a_quiet_spell_finds_the_whole_circuit_breaker(ecs_service):
    """ECS does not wait for anyone to look: three failed starts (0.2 s each, 0.1 s of backoff
    between them) are over long before one second has passed, so the first read after a second
    finds the rollout FAILED. A model that moved on only at reads would show one failure."""
    ecs_service.create()  # no secret value: every task fails to start
    time.sleep(1.5)
    (deployment,) = ecs_service.describe()["deployments"]
    assert deployment["rolloutState"] == "FAILED" and deployment["failedTasks"] == 3, deployment
    assert len(ecs_service.tasks("STOPPED")) == 3


def _deny_all_but(readers: list[str], secret_arn: str, endpoint: str) -> str:
    """The stack's locked secret policy (constructs_lib/secrets.py) with these readers."""
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue",
            "Resource": secret_arn}
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {**deny, "Sid": "DenyReadOutsideVpcEndpoint", "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoint}}},
        {**deny, "Sid": "DenyReadToUnlistedPrincipals", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": readers}}}]})


def test_a_secret_policy_that_leaves_out_the_execution_role_stops_the_task_with_awss_access_denied(ecs_service):
    """The seed's step-5 trap: readers = the task role only. ECS fetches the secret with the
    execution role, so the evaluated policy denies the task start — no fault switch."""
    ecs_service.put(json.dumps({KEY: "v"}))
    task_role = "arn:aws:iam::123456789012:role/app-task-role"
    ecs_service.sm.put_resource_policy(SecretId=ecs_service.secret_arn,
                                       ResourcePolicy=_deny_all_but([task_role], ecs_service.secret_arn,
                                                                    ecs_service.endpoint))
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    role_name = ecs_service.role.rsplit("/", 1)[-1]
    assert (f"AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/{role_name}/{task['taskArn'].rsplit('/', 1)[-1]} "
            f"is not authorized to perform: secretsmanager:GetSecretValue on resource: {ecs_service.secret_arn} with an "
            "explicit deny in a resource-based policy") in task["stoppedReason"], task["stoppedReason"]


def test_the_same_policy_with_the_execution_role_listed_lets_the_task_start(ecs_service):
    """The control of the test above: only the reader list differs, and the task runs."""
    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.sm.put_resource_policy(SecretId=ecs_service.secret_arn,
                                       ResourcePolicy=_deny_all_but([ecs_service.role], ecs_service.secret_arn,
                                                                    ecs_service.endpoint))
    ecs_service.create()
    ecs_service.until(lambda: ecs_service.health() == ["healthy"])
    assert ecs_service.tasks("STOPPED") == []


def test_an_execution_role_without_a_read_grant_cannot_fetch_the_secret(ecs_service):
    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.iam.delete_role_policy(RoleName=ecs_service.role.rsplit("/", 1)[-1], PolicyName="read-secret")
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert ("because no identity-based policy allows the secretsmanager:GetSecretValue action"
            in task["stoppedReason"]), task["stoppedReason"]


def test_without_the_endpoint_nor_a_nat_the_task_cannot_reach_secrets_manager(ecs_service):
    """The fix doc's third root cause, and the seed failure's own words."""
    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.ec2.delete_vpc_endpoints(VpcEndpointIds=[ecs_service.endpoint])
    ecs_service.create()
    (task, *_) = ecs_service.until(lambda: ecs_service.tasks("STOPPED"))
    assert "There is a connection issue between the task and AWS Secrets Manager" in task["stoppedReason"]


def test_the_emulator_says_it_evaluates_policies(emulator_module):
    """A missing evaluator is a failure of the suite, never a skip."""
    info = emulator_module.info()
    assert info["policies"] == "evaluated" and "iam-simulate" in info["evaluator"], info


def test_the_operators_own_read_from_outside_the_endpoint_is_access_denied(ecs_service):
    """The caller's requests are judged too: the secret policy denies reads not through the
    endpoint, so the operator's GetSecretValue (from outside any VPC) is AccessDenied, as on AWS;
    DescribeSecret, which the policy does not restrict, still answers."""
    from botocore.exceptions import ClientError

    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.sm.put_resource_policy(SecretId=ecs_service.secret_arn,
                                       ResourcePolicy=_deny_all_but([ecs_service.role], ecs_service.secret_arn,
                                                                    ecs_service.endpoint))
    with pytest.raises(ClientError) as denied:
        ecs_service.sm.get_secret_value(SecretId=ecs_service.secret_arn)
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (f"User: arn:aws:iam::123456789012:user/moto is not authorized to perform: "
                                f"secretsmanager:GetSecretValue on resource: {ecs_service.secret_arn} with an explicit "
                                "deny in a resource-based policy")
    assert ecs_service.sm.describe_secret(SecretId=ecs_service.secret_arn)["ARN"] == ecs_service.secret_arn


def test_the_fault_switch_refuses_unknown_faults(emulator_module):
    emulator = emulator_module
    request = urllib.request.Request(emulator.endpoint_url + FAULTS_PATH, data=b'{"secret_access": "denied"}',
                                     method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    # Denials come from the evaluated policies: the old secret_access switch is gone.
    assert raised.value.code == 400 and "unknown fault 'secret_access'" in raised.value.read().decode()


# --- the key version, the circuit breaker, and ECS's read behaviour (issue 23) --------------------

def test_a_task_definition_pinned_to_a_version_reads_that_version_while_awscurrent_moves_on(ecs_service):
    """The version id in valueFrom is resolved as Secrets Manager's GetSecretValue does: that
    version, whatever AWSCURRENT is (here a value without the JSON key, put by hand)."""
    good = ecs_service.put(json.dumps({KEY: "good"}))
    ecs_service.put(json.dumps({"api_key": "no json key"}))
    ecs_service.create()
    ecs_service.until(lambda: ecs_service.tasks("STOPPED"))  # the unpinned first revision reads AWSCURRENT
    ecs_service.deploy(ecs_service.revision(good))
    ecs_service.until(lambda: ecs_service.health() == ["healthy"])
    (running,) = ecs_service.tasks("RUNNING")
    assert running["taskDefinitionArn"].endswith(":2")


def test_a_pinned_version_that_does_not_exist_stops_the_task_with_secrets_managers_words(ecs_service):
    ecs_service.put(json.dumps({KEY: "v"}))
    missing = "a1b2c3d4-0000-0000-0000-000000000000"
    ecs_service.create()
    ecs_service.deploy(ecs_service.revision(missing))
    found = ecs_service.until(lambda: [t for t in ecs_service.tasks("STOPPED") if t["taskDefinitionArn"].endswith(":2")])
    assert found[0]["stoppedReason"].endswith(
        f"ResourceNotFoundException: Secrets Manager can't find the specified secret value for VersionId: {missing}")


def test_a_task_that_crashes_once_and_is_replaced_by_a_healthy_one_leaves_the_rollout_completed(ecs_service, emulator_module):
    """DeploymentCircuitBreaker.resetOnHealthyTask (default true): the healthy replacement resets
    the failure count, and the rollout completes."""
    ecs_service.put(json.dumps({KEY: "v"}))
    emulator_module.set_faults(app="exits-once")
    try:
        ecs_service.create()
        ecs_service.until(lambda: ecs_service.describe()["deployments"][0]["rolloutState"] == "COMPLETED")
    finally:
        emulator_module.set_faults(app=None)
    (deployment,) = ecs_service.describe()["deployments"]
    assert deployment["failedTasks"] == 0
    (crashed,) = ecs_service.tasks("STOPPED")
    assert crashed["stoppedReason"] == "Essential container in task exited"
    assert emulator_module.set_faults() == {}  # "exits-once" turned itself off


def test_a_key_the_app_rejects_trips_the_breaker_and_ecs_rolls_back_to_the_last_completed_revision(
        ecs_service, emulator_module):
    old = ecs_service.put(json.dumps({KEY: "old"}))
    ecs_service.create()
    ecs_service.deploy(ecs_service.revision(old))
    completed = ecs_service.until(lambda: [d for d in ecs_service.describe()["deployments"]
                                           if d["rolloutState"] == "COMPLETED" and d["taskDefinition"].endswith(":2")])
    emulator_module.set_faults(app="rejects-new-keys")
    try:
        new = ecs_service.put(json.dumps({KEY: "new, rejected"}))
        failing = ecs_service.deploy(ecs_service.revision(new))
        deployments = ecs_service.until(lambda: [d for d in ecs_service.describe()["deployments"]
                                                 if d["id"] == failing and d["rolloutState"] == "FAILED"]
                                        and ecs_service.describe()["deployments"])
        primary = deployments[0]
        assert primary["rolloutStateReason"] == \
            f"ECS deployment circuit breaker: rolling back to deploymentId {completed[0]['id']}."
        assert primary["taskDefinition"].endswith(":2")
        ecs_service.until(lambda: ecs_service.describe()["deployments"][0]["rolloutState"] == "COMPLETED")
    finally:
        emulator_module.set_faults(app=None)
    (running,) = ecs_service.tasks("RUNNING")
    assert running["taskDefinitionArn"].endswith(":2")
    reasons = {t["stoppedReason"] for t in ecs_service.tasks("STOPPED")}
    assert any(r.startswith("Task failed ELB health checks") for r in reasons), reasons
    events = [e["message"] for e in ecs_service.describe()["events"]]
    assert f"(service app) rolling back to deployment {completed[0]['id']}." in events


def test_a_new_deployment_is_missing_from_the_next_describe_services_reads_when_delayed(
        ecs_service, emulator_module, monkeypatch):
    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.create()
    # Phases of 5 s from here: the new deployment cannot complete (and drop the old one from the
    # list) during the four reads, however slow the machine, as it cannot in ECS's seconds either.
    monkeypatch.setenv("BYOC_EMULATOR_TASK_SECONDS", "5")
    emulator_module.set_faults(deployment_visibility="delayed")
    try:
        started = ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app", forceNewDeployment=True)
        new = started["service"]["deployments"][0]["id"]  # UpdateService's own answer lists it
        seen = [[d["id"] for d in ecs_service.describe()["deployments"]] for _ in range(4)]
    finally:
        emulator_module.set_faults(deployment_visibility=None)
    assert [new in ids for ids in seen] == [False, False, False, True]
    assert seen[0] and all(ids[0] != new for ids in seen[:3])


def test_list_tasks_pages_a_crash_looping_hour_oldest_first_and_the_history_goes_with_the_switch(
        ecs_service, emulator_module):
    ecs_service.put(json.dumps({KEY: "v"}))
    ecs_service.create()
    ecs_service.until(lambda: ecs_service.health() == ["healthy"])
    ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app", forceNewDeployment=True)
    ecs_service.until(lambda: ecs_service.tasks("STOPPED"))  # the replaced task: the newest stopped one
    ecs, cluster = ecs_service.ecs, ecs_service.cluster
    emulator_module.set_faults(stopped_history="crash-loop")
    try:
        first = ecs.list_tasks(cluster=cluster, serviceName="app", desiredStatus="STOPPED")
        second = ecs.list_tasks(cluster=cluster, serviceName="app", desiredStatus="STOPPED",
                                nextToken=first["nextToken"])
        (oldest,) = ecs.describe_tasks(cluster=cluster, tasks=first["taskArns"][:1])["tasks"]
        (newest,) = ecs.describe_tasks(cluster=cluster, tasks=second["taskArns"][-1:])["tasks"]
    finally:
        emulator_module.set_faults(stopped_history=None)
    assert len(first["taskArns"]) == 100 and "nextToken" not in second
    assert len(first["taskArns"]) + len(second["taskArns"]) == 121
    assert oldest["stoppedReason"] == "Essential container in task exited"
    assert newest["stoppedReason"].startswith("Scaling activity initiated by (deployment ")
    assert len(ecs.list_tasks(cluster=cluster, serviceName="app", desiredStatus="STOPPED")["taskArns"]) == 1


def test_list_tasks_takes_started_by_only_alone_and_describe_tasks_at_most_100(ecs_service):
    from botocore.exceptions import ClientError

    ecs_service.create()
    deployment = ecs_service.describe()["deployments"][0]["id"]
    with pytest.raises(ClientError) as both:
        ecs_service.ecs.list_tasks(cluster=ecs_service.cluster, startedBy=deployment, desiredStatus="STOPPED")
    assert both.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "startedBy must be the only filter" in both.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as many:
        ecs_service.ecs.describe_tasks(cluster=ecs_service.cluster, tasks=[f"t{i}" for i in range(101)])
    assert many.value.response["Error"]["Code"] == "InvalidParameterException"


def test_a_throttling_burst_refuses_the_next_ecs_reads_then_answers(ecs_service, emulator_module):
    from botocore.config import Config
    from botocore.exceptions import ClientError

    ecs_service.create()
    import boto3

    env = ecs_service.env
    once = boto3.client("ecs", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))  # no retry of botocore's
    emulator_module.set_faults(throttling="burst")
    codes = []
    for _ in range(5):
        try:
            once.describe_services(cluster=ecs_service.cluster, services=["app"])
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes == ["ThrottlingException"] * 4 + ["ok"]
    assert "throttling" not in emulator_module.set_faults()
