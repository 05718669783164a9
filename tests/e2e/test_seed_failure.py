"""The seed's failure, end to end, with the policies evaluated as AWS evaluates them (no fault
switch): "unable to pull secrets … AccessDenied" caused by hand the three ways the fix doc and
seed 000 lead to, each met by the next deployment's tasks, named by ``byoc doctor`` (exit 1) and
repaired by ``byoc lockdown``, whose new tasks then start.

1. Seed 000 step 5 followed literally: the secret policy's reader list holds the task role only
   (``aws secretsmanager put-resource-policy``) — ECS fetches the secret with the execution role.
2. The execution role's read grant detached (``aws iam detach-role-policy``) — the fix doc's first
   root cause.
3. The key policy no longer delegates to the account (``aws kms put-key-policy``): the roles'
   kms:Decrypt grants have no effect, and Secrets Manager says "Access to KMS is not allowed".

On the session's shared deployment; each test leaves it healthy."""

from __future__ import annotations

import json
import time

import pytest
from tfrun import stopped_of

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]

ACCOUNT = "123456789012"


def next_deployment_fails(stack) -> str:
    """Start a new deployment the way any change does (``aws ecs update-service
    --force-new-deployment``) and return the stoppedReason of its first task."""
    ecs, out = stack.client("ecs"), stack.outputs
    service = ecs.update_service(cluster=out["ecs_cluster_name"], service=out["ecs_service_name"],
                                 forceNewDeployment=True)["service"]
    deployment = next(d["id"] for d in service["deployments"] if d["status"] == "PRIMARY")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks = stopped_of(ecs, out["ecs_cluster_name"], out["ecs_service_name"], deployment)
        if tasks:
            return tasks[0]["stoppedReason"]
        time.sleep(0.3)
    raise AssertionError(f"no task of deployment {deployment} stopped within 60 s")


def repaired_by_lockdown(stack) -> None:
    result = stack.invoke("lockdown", "-y")
    assert result.exit_code == 0, result.output
    assert "Proven: new tasks started and read the secret under the new policy." in result.output
    status = json.loads(stack.invoke("status", "--json").output)["service"]
    assert status["running"] == status["desired"] >= 1 and status["healthy_targets"] >= status["desired"], status


def test_seed_step_5_literally_a_reader_list_of_the_task_role_only_denies_every_task_start(deployed_stack):
    out, sm = deployed_stack.outputs, deployed_stack.client("secretsmanager")
    arn, task_role, execution_role = out["byoc_secret_arn"], out["ecs_task_role_arn"], out["ecs_execution_role_arn"]
    # What `terraform apply -var='app_reader_principal_arns=["<task role>"]'` would write without
    # byoc's guard: the stack's two Deny statements, the reader list holding the task role only.
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "secretsmanager:GetSecretValue", "Resource": arn}
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [
        {**deny, "Sid": "DenyReadOutsideVpcEndpoint",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": out["secretsmanager_vpce_id"]}}},
        {**deny, "Sid": "DenyReadToUnlistedPrincipals", "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [task_role]}}},
    ]}))

    reason = next_deployment_fails(deployed_stack)
    assert reason.startswith("ResourceInitializationError: unable to pull secrets or registry auth"), reason
    assert (f"AccessDeniedException: User: arn:aws:sts::{ACCOUNT}:assumed-role/byoc-agents-execution-role/" in reason
            and f"is not authorized to perform: secretsmanager:GetSecretValue on resource: {arn} with an explicit "
                "deny in a resource-based policy" in reason), reason

    code, failed, _ = deployed_stack.doctor()
    assert code == 1
    policy = failed["secret policy: roles read, only via the endpoint"]
    assert f"the execution role {execution_role} is not on the reader list" in policy["detail"]
    assert "the fix doc's first root cause" in policy["detail"] and "byoc lockdown" in policy["fix"]
    assert "AccessDeniedException" in failed["stopped tasks explained"]["detail"]

    repaired_by_lockdown(deployed_stack)


def test_a_detached_execution_role_read_grant_denies_every_task_start_until_lockdown_restores_it(deployed_stack):
    iam, out = deployed_stack.client("iam"), deployed_stack.outputs
    role = out["ecs_execution_role_arn"].rsplit("/", 1)[-1]
    iam.detach_role_policy(RoleName=role, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/byoc-agents-secret-read")

    reason = next_deployment_fails(deployed_stack)
    assert ("because no identity-based policy allows the secretsmanager:GetSecretValue action" in reason), reason

    code, failed, _ = deployed_stack.doctor()
    assert code == 1
    assert "no attached policy grants secretsmanager:GetSecretValue" in failed["execution role can read the secret"][
        "detail"]

    repaired_by_lockdown(deployed_stack)
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert "byoc-agents-secret-read" in attached


def test_a_key_policy_that_no_longer_delegates_to_the_account_denies_the_decrypt_until_lockdown_restores_it(
        deployed_stack):
    kms, out = deployed_stack.client("kms"), deployed_stack.outputs
    key = out["kms_key_arn"]
    # Only the operator may use the key now: the roles' kms:Decrypt grants (IAM) have no effect.
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "OperatorOnly", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/moto"},
         "Action": "kms:*", "Resource": "*"}]}))

    reason = next_deployment_fails(deployed_stack)
    assert reason.endswith("AccessDeniedException: Access to KMS is not allowed"), reason

    code, failed, _ = deployed_stack.doctor()
    assert code == 1
    assert "does not let the account (IAM) use the key" in failed["KMS key enabled and delegated to IAM"]["detail"]

    repaired_by_lockdown(deployed_stack)
