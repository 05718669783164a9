"""A secret scheduled for deletion (``DeleteSecret`` with a recovery window) has no usable value:
Secrets Manager refuses every read of it, so no task could start. ``status``, ``deploy`` and
``doctor`` say so alike, each with the command that restores it, and ``deploy`` changes nothing.
On the session's shared deployment, which the test restores."""

from __future__ import annotations

import json

import pytest

from conftest import IMAGE

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]


def test_status_deploy_and_doctor_agree_that_a_secret_scheduled_for_deletion_has_no_value(deployed_stack):
    sm, arn = deployed_stack.client("secretsmanager"), deployed_stack.outputs["byoc_secret_arn"]
    restore = f"aws secretsmanager restore-secret --secret-id {arn}"
    state_before = (deployed_stack.project / "terraform.byoc.tfstate").read_bytes()
    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    try:
        status = deployed_stack.invoke("status", "--json")
        assert status.exit_code == 0, status.output
        secret = json.loads(status.output)["secret"]
        assert secret["has_value"] is False and secret["scheduled_for_deletion"], secret
        human = deployed_stack.invoke("status")
        assert "Secret value: NOT USABLE — the secret is scheduled for deletion" in human.output
        assert restore in human.output

        deploy = deployed_stack.invoke("deploy", "--container-image", IMAGE, "-y")
        assert deploy.exit_code == 1, deploy.output
        (error,) = [line for line in deploy.output.splitlines() if line.startswith("byoc: error:")]
        assert "nothing was changed: the secret is scheduled for deletion" in error and restore in error
        assert (deployed_stack.project / "terraform.byoc.tfstate").read_bytes() == state_before

        code, failed, _report = deployed_stack.doctor()
        assert code == 1
        check = failed["secret has a current value"]
        assert "scheduled for deletion" in check["detail"] and restore in check["fix"]
    finally:
        sm.restore_secret(SecretId=arn)
    assert json.loads(deployed_stack.invoke("status", "--json").output)["secret"]["has_value"] is True
