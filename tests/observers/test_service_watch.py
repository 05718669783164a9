"""The rollout watch and the service reads (cli/observers/service.py, revisions.py) against a
moto server on 127.0.0.1 whose ECS task model runs the tasks (gap 4): verdicts from ECS's own
fields, a deployment ECS does not list yet, ListTasks read to its last page, throttled reads
backed off. One service built with boto3 per test (tests/ecs_service.py), no terraform: the
cheapest real proof of each; the commands' own runs are in tests/actions/test_rollout.py.
"""

from __future__ import annotations

import json
import time

import pytest

from cli.core.aws import AwsTarget
from cli.observers.revisions import read_revisions
from cli.observers.service import RolloutFailed, active_service, service_state, stopped_tasks, wait_for_rollout
from ecs_service import KEY, ecs_service_on

pytestmark = pytest.mark.emulator


@pytest.fixture
def ecs_service(aws_env_module, monkeypatch, request):
    monkeypatch.setenv("BYOC_EMULATOR_TASK_SECONDS", "0.1")
    with ecs_service_on(aws_env_module, request.node.name) as service:
        yield service


class Screen:
    """What the watch says, and how long it was told to sleep (sleeps are short: the model is fast)."""

    def __init__(self, on_sleep=None):
        self.lines: list[str] = []
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def say(self, line: str) -> None:
        self.lines.append(line)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.on_sleep:
            self.on_sleep(len(self.sleeps))
        time.sleep(0.1)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def watch(ecs_service, screen: Screen, **kwargs):
    target = AwsTarget("us-east-1", ecs_service.env["AWS_ENDPOINT_URL"])
    return wait_for_rollout(target, ecs_service.cluster, "app", say=screen.say, sleep=screen.sleep, timeout=60,
                            **kwargs)


def healthy_service(ecs_service) -> str:
    """The service running one healthy task of a revision pinned to a good key; that key's version."""
    good = ecs_service.put(json.dumps({KEY: "good"}))
    ecs_service.create()
    ecs_service.deploy(ecs_service.revision(good))
    ecs_service.until(lambda: [d["rolloutState"] for d in ecs_service.describe()["deployments"]] == ["COMPLETED"]
                      and ecs_service.health() == ["healthy"])
    return good


def test_a_deployment_update_service_returned_is_waited_for_until_ecs_lists_it(ecs_service, emulator_module):
    """Eventual consistency: the first DescribeServices reads after UpdateService do not list the
    new deployment; the watch says so and waits, instead of calling it replaced."""
    healthy_service(ecs_service)
    screen = Screen()
    emulator_module.set_faults(deployment_visibility="delayed")
    try:
        new = ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app",
                                             forceNewDeployment=True)["service"]["deployments"][0]["id"]
        state = watch(ecs_service, screen, deployment_id=new)
    finally:
        emulator_module.set_faults(deployment_visibility=None)
    assert f"ECS does not list deployment {new} yet (its API is eventually consistent); waiting up to 60s" in screen.text
    assert state.deployment_id == new and state.running == state.desired == state.healthy_targets == 1
    assert "replaced" not in screen.text


def test_a_task_that_crashed_once_before_the_rollout_completed_is_a_warning_not_a_failure(ecs_service, emulator_module):
    good = healthy_service(ecs_service)
    screen = Screen()
    emulator_module.set_faults(app="exits-once")
    try:
        revision = ecs_service.revision(good)
        ecs_service.deploy(revision)
        state = watch(ecs_service, screen, task_definition=revision)
    finally:
        emulator_module.set_faults(app=None)
    # Done as the watch defines it: COMPLETED, or every desired task running with a healthy target
    # (ECS sets COMPLETED a moment after that steady state; which of the two is seen first is timing).
    assert state.rollout_state in ("COMPLETED", "IN_PROGRESS"), state
    assert state.desired == 1 and state.running >= 1 and state.healthy_targets >= 1, state
    (warning,) = [line for line in screen.lines if line.startswith("Warning:")]
    assert "1 task(s) of deployment" in warning and "stopped before the rollout completed" in warning
    assert "Essential container in task exited -> the application exited: read its logs" in warning


def test_a_failed_rollout_says_ecss_reason_the_tasks_that_failed_it_and_what_the_rollback_runs(
        ecs_service, emulator_module):
    healthy_service(ecs_service)
    screen = Screen()
    emulator_module.set_faults(app="rejects-new-keys")
    try:
        bad = ecs_service.put(json.dumps({KEY: "rejected by the app"}))
        revision = ecs_service.revision(bad)
        ecs_service.deploy(revision)
        with pytest.raises(RolloutFailed) as failed:
            watch(ecs_service, screen, task_definition=revision)
    finally:
        emulator_module.set_faults(app=None)
    message = str(failed.value)
    assert 'ECS says "ECS deployment circuit breaker: tasks failed to start." (3 failed task(s))' in message, message
    assert "3x Task failed ELB health checks in (target-group" in message
    assert "-> the load balancer health check failed" in message
    assert "ECS's circuit breaker rolled back to app-" in message and ":2 (deployment " in message
    assert "1 of 1 tasks running, 1 healthy targets" in message
    assert failed.value.reason.startswith("Task failed ELB health checks")
    # What status and doctor read afterwards: the newest revision rolled back, the older one runs.
    svc = active_service(ecs_service.ecs, ecs_service.cluster, "app")
    revisions = read_revisions(ecs_service.ecs, svc)
    assert revisions.rolled_back and revisions.primary.endswith(":2") and revisions.latest.endswith(":3")
    assert revisions.latest_key == bad and {r.key_version for r in revisions.running} != {bad}


def test_a_rollout_that_failed_and_was_rolled_back_between_two_looks_is_a_failure_not_a_replacement(
        ecs_service, emulator_module):
    """The watch looks, then not for three seconds, in which ECS fails the deployment and its
    rollback completes: the failed deployment is no longer listed and the rollback's reason says
    "completed". ECS's events still say what happened, so the watch says so too."""
    healthy_service(ecs_service)

    def look_away(n: int) -> None:
        if n == 1:
            time.sleep(3)

    screen = Screen(on_sleep=look_away)
    emulator_module.set_faults(app="rejects-new-keys")
    try:
        bad = ecs_service.put(json.dumps({KEY: "rejected by the app"}))
        deployment = ecs_service.ecs.update_service(
            cluster=ecs_service.cluster, service="app", taskDefinition=ecs_service.revision(bad),
        )["service"]["deployments"][0]["id"]
        with pytest.raises(RolloutFailed) as failed:
            watch(ecs_service, screen, deployment_id=deployment)
    finally:
        emulator_module.set_faults(app=None)
    message = str(failed.value)
    assert "was replaced" not in message, message
    assert f'ECS says "(service app) (deployment {deployment}) deployment failed: tasks failed to start."' in message
    assert "3x Task failed ELB health checks in (target-group" in message
    assert "ECS's circuit breaker rolled back to app-" in message and "1 of 1 tasks running" in message


def test_a_deployment_replaced_by_a_newer_one_before_it_completed_says_which(ecs_service, emulator_module):
    healthy_service(ecs_service)
    emulator_module.set_faults(health="failing")  # the watched deployment cannot complete ...
    newer = []

    def replace(n: int) -> None:  # ... until a second deployment replaces it
        if n == 1:
            emulator_module.set_faults(health=None)
            newer.append(ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app",
                                                        forceNewDeployment=True)["service"]["deployments"][0]["id"])

    screen = Screen(on_sleep=replace)
    try:
        first = ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app",
                                               forceNewDeployment=True)["service"]["deployments"][0]["id"]
        with pytest.raises(RolloutFailed) as replaced:
            watch(ecs_service, screen, deployment_id=first)
    finally:
        emulator_module.set_faults(health=None)
    assert f"deployment {first} was replaced before it completed, by deployment {newer[0]}" in str(replaced.value)


def test_the_newest_stopped_task_is_found_on_the_last_page_of_list_tasks(ecs_service, emulator_module):
    """A crash-looping hour puts 120 older stopped tasks before the newest one (ListTasks lists
    100 a page, in no documented order; the emulator lists the oldest first)."""
    healthy_service(ecs_service)
    ecs_service.ecs.update_service(cluster=ecs_service.cluster, service="app", forceNewDeployment=True)
    ecs_service.until(lambda: len(ecs_service.tasks("STOPPED")) == 1)  # the replaced task
    target = AwsTarget("us-east-1", ecs_service.env["AWS_ENDPOINT_URL"])
    emulator_module.set_faults(stopped_history="crash-loop")
    try:
        stopped = stopped_tasks(ecs_service.ecs, ecs_service.cluster, "app")
        state = service_state(target, ecs_service.cluster, "app")
    finally:
        emulator_module.set_faults(stopped_history=None)
    assert len(stopped) == 121
    assert stopped[0]["stoppedReason"].startswith("Scaling activity initiated by (deployment ")
    assert state.last_stopped_reason == stopped[0]["stoppedReason"]


def test_throttled_reads_back_off_and_the_watch_goes_on(ecs_service, emulator_module):
    healthy_service(ecs_service)
    screen = Screen()
    emulator_module.set_faults(throttling="burst")
    try:
        state = watch(ecs_service, screen)
    finally:
        emulator_module.set_faults(throttling=None)
    throttled = [line for line in screen.lines if line.startswith("ECS is throttling byoc's reads")]
    assert throttled and "ThrottlingException" in throttled[0]
    assert screen.sleeps[:2] == [1, 2]  # backing off: 1 s, then 2 s, ...
    assert state.running == state.desired == 1
