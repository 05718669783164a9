"""Lockdown's decisions, without AWS: the reader list it writes (earlier readers kept, one dropped
only when told, readers that could not work refused) and its retry while IAM propagates a new
role. (Lockdown run for real: tests/e2e/test_cli_e2e.py and tests/actions/test_rollout.py.)"""

from __future__ import annotations

import pytest

from cli.actions import lockdown
from cli.core.errors import ByocError, InputError

ROLES = ["arn:aws:iam::123456789012:role/byoc-agents-task-role", "arn:aws:iam::123456789012:role/byoc-agents-execution-role"]
EXTRA = "arn:aws:iam::123456789012:role/reporting"


# --------------------------------------------------------------------------- the reader list

def test_lockdown_keeps_earlier_readers_and_adds_new_ones():
    assert lockdown.reader_list([*ROLES, EXTRA], ROLES, [], [], False) == [*ROLES, EXTRA]
    other = "arn:aws:iam::123456789012:user/ops"
    assert lockdown.reader_list([*ROLES, EXTRA], ROLES, [other], [], False) == [*ROLES, EXTRA, other]


def test_lockdown_drops_a_reader_only_when_told():
    assert lockdown.reader_list([*ROLES, EXTRA], ROLES, [], [EXTRA], False) == ROLES
    assert lockdown.reader_list([*ROLES, EXTRA], ROLES, [], [], True) == ROLES


@pytest.mark.parametrize("principals, remove, message", [
    pytest.param(["arn:aws:iam::999999999999:role/x"], [], "is in account 999999999999", id="other-account"),
    pytest.param([], [ROLES[1]], "is one of the stack's own roles", id="remove-execution-role"),
    pytest.param([], ["arn:aws:iam::123456789012:role/never-added"], "is not a reader", id="remove-unknown"),
])
def test_lockdown_refuses_readers_that_could_not_work(principals, remove, message):
    with pytest.raises(InputError, match=message):
        lockdown.reader_list([*ROLES, EXTRA], ROLES, principals, remove, False)


def test_the_same_principal_added_and_removed_is_bad_input_not_kept():
    """`--principal X --remove-principal X` kept X (the additions came last); it is refused, exit 2,
    before anything is planned."""
    with pytest.raises(InputError, match=f"--principal and --remove-principal both name {EXTRA}") as refused:
        lockdown.reader_list(ROLES, ROLES, [EXTRA], [EXTRA], False)
    assert refused.value.exit_code == 2
    with pytest.raises(InputError):  # also when X was a reader already
        lockdown.reader_list([*ROLES, EXTRA], ROLES, [EXTRA], [EXTRA], False)


# --------------------------------------------------------------------------- the retry while IAM propagates

def test_lockdown_retries_while_aws_rejects_a_new_role_as_principal(capsys):
    calls, sleeps = [], []

    def attempt():
        calls.append(1)
        if len(calls) < 3:
            error = ByocError("terraform apply failed: putting Secrets Manager Secret policy")
            error.detail = "MalformedPolicyDocumentException: This resource policy contains an invalid principal"
            raise error

    lockdown.retry_on_propagation(attempt, sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == [5, 10]
    assert capsys.readouterr().err.count("IAM propagation") == 2  # narration: stderr


def test_lockdown_does_not_retry_other_failures():
    calls = []

    def attempt():
        calls.append(1)
        raise ByocError("terraform apply failed: AccessDenied")

    with pytest.raises(ByocError, match="AccessDenied"):
        lockdown.retry_on_propagation(attempt, sleep=lambda _s: None)
    assert len(calls) == 1


def test_lockdown_gives_up_after_the_last_retry():
    calls = []

    def attempt():
        calls.append(1)
        raise ByocError("terraform apply failed: Invalid principal in policy")

    with pytest.raises(ByocError):
        lockdown.retry_on_propagation(attempt, sleep=lambda _s: None)
    assert len(calls) == len(lockdown.RETRY_DELAYS) + 1
