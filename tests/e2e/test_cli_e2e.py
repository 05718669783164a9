"""The CLI's two-phase flow end to end: real terraform, a moto server on 127.0.0.1.

The flow is the session's shared deployment (``deployed_stack`` in conftest.py), run once in
the order a user runs it: deploy -> secret put (stdin) -> lockdown -> lockdown again -> status;
each test asserts one behaviour of one step. ``byoc destroy`` is proven on the remote-state
deployment of tests/actions/test_environments_backend.py and by the demo.
"""

from __future__ import annotations

import json

import pytest

from cli.core.policy import SecretPolicy
from conftest import IMAGE

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
    # Both sources of verdicts answer against the emulator (IAM's simulator, gap 11, and the independent
    # evaluator), each line naming its source; lockdown says every path is as meant.
    from cli.observers.verdicts import SIMULATOR

    for role in ("ecs_task_role_arn", "ecs_execution_role_arn"):
        name = out[role].rsplit("/", 1)[-1]
        assert f"{name} identity policies allow GetSecretValue on the secret: allowed" in result.output
        assert f"{name} identity policies allow kms:Decrypt via Secrets Manager: allowed" in result.output
    assert f"[{SIMULATOR}]" in result.output and "[@cloud-copilot/iam-simulate" in result.output
    assert "Not evaluated" not in result.output
    assert "Policy verdicts: every reader may read through the endpoint and decrypt; other paths denied." \
        in result.output


def test_locked_policy_is_exactly_the_two_denies_on_reads(flow_run):
    """The document AWS holds, compared with what it must say, statement by statement (not read
    back through byoc's own policy reader: what such a document means is tests/core/test_policy.py's
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


def test_deploy_with_tf_log_debug_drains_megabytes_of_terraform_output_into_the_log(deployed_stack):
    """TF_LOG=DEBUG makes terraform write megabytes to stderr, far past a pipe's 64 KiB: byoc
    drains stderr while terraform runs, or terraform blocks holding the state lock."""
    log = deployed_stack.project / ".byoc" / "logs" / "deploy.log"
    before = log.stat().st_size if log.exists() else 0
    result = deployed_stack.invoke("deploy", "--container-image", IMAGE, "-y",
                                   env={"TF_LOG": "DEBUG"})
    assert result.exit_code == 0, result.output[-3000:]
    written = log.read_text()[before:]
    assert written.count("[DEBUG]") > 100 and len(written) > 10 * 65_536, len(written)  # ten pipe buffers
    assert deployed_stack.sentinel not in written


def test_lockdown_keeps_earlier_readers_until_removed_and_refuses_other_accounts(deployed_stack):
    extra = deployed_stack.role("byoc-e2e-reader")
    roles = [deployed_stack.outputs["ecs_task_role_arn"], deployed_stack.outputs["ecs_execution_role_arn"]]

    def readers() -> list[str] | None:
        arn = deployed_stack.outputs["byoc_secret_arn"]
        return SecretPolicy.parse(deployed_stack.client("secretsmanager").get_resource_policy(
            SecretId=arn)["ResourcePolicy"]).readers

    added = deployed_stack.invoke("lockdown", "--principal", extra, "-y", "--no-verify-start")
    assert added.exit_code == 0, added.output
    assert "Readers before: " + ", ".join(roles) in added.output
    assert "Readers after:  " + ", ".join([*roles, extra]) in added.output
    assert sorted(readers()) == sorted([*roles, extra])

    again = deployed_stack.invoke("lockdown", "-y", "--no-verify-start")  # no --principal: the reader stays
    assert again.exit_code == 0, again.output
    assert "No changes: the secret is already locked down" in again.output
    assert sorted(readers()) == sorted([*roles, extra])

    state = (deployed_stack.project / "terraform.byoc.tfstate").read_bytes()
    foreign = deployed_stack.invoke("lockdown", "--principal", "arn:aws:iam::999999999999:role/reader", "-y")
    assert foreign.exit_code == 2, foreign.output
    assert "is in account 999999999999" in foreign.output and "KMS key trusts only" in foreign.output
    assert (deployed_stack.project / "terraform.byoc.tfstate").read_bytes() == state

    removed = deployed_stack.invoke("lockdown", "--remove-principal", extra, "-y", "--no-verify-start")
    assert removed.exit_code == 0, removed.output
    assert "Readers after:  " + ", ".join(roles) in removed.output
    assert sorted(readers()) == sorted(roles)


#: The resources that gained a ``count`` with deploy-into-an-existing-VPC (issue 16), found by
#: comparing the JSON before and after: a deployment made earlier holds them without an index.
GAINED_COUNT = ["aws_default_security_group.default", "aws_route_table.private_0", "aws_route_table.private_1",
                "aws_route_table_association.private_0_subnet", "aws_route_table_association.private_1_subnet",
                "aws_subnet.private_0", "aws_subnet.private_1", "aws_vpc.main", "aws_vpc_endpoint.ecr_api",
                "aws_vpc_endpoint.ecr_dkr", "aws_vpc_endpoint.logs", "aws_vpc_endpoint.s3",
                "aws_vpc_endpoint.secretsmanager"]


def test_a_deployment_of_the_earlier_layout_upgrades_by_moves_only(deployed_stack, tmp_path):
    """The shared deployment's state as the earlier layout recorded it (the same objects, without
    the [0] that count gives), planned with today's JSON: terraform moves each to [0] by
    itself and changes, replaces or destroys nothing."""
    from tfrun import terraform

    state = deployed_stack.state()
    for resource in state["resources"]:
        if f"{resource['type']}.{resource['name']}" in GAINED_COUNT and resource["mode"] == "managed":
            assert [i.get("index_key") for i in resource["instances"]] == [0], resource["name"]
            for instance in resource["instances"]:
                del instance["index_key"]
            resource.pop("each", None)
    earlier = tmp_path / "earlier.tfstate"
    earlier.write_text(json.dumps(state))
    stack_dir = deployed_stack.project / "cdktf.out" / "stacks" / "byoc"
    plan = tmp_path / "upgrade.tfplan"
    terraform(stack_dir, deployed_stack.env, "plan", "-input=false", "-refresh=false", "-lock=false",
              f"-state={earlier}", "-var-file=../../../.byoc/inputs.tfvars.json", f"-out={plan}")
    changes = json.loads(terraform(stack_dir, deployed_stack.env, "show", "-json", str(plan)).stdout)["resource_changes"]
    assert [c["address"] for c in changes if c["change"]["actions"] != ["no-op"]] == []
    moves = {c["previous_address"]: c["address"] for c in changes if c.get("previous_address")}
    assert moves == {address: f"{address}[0]" for address in GAINED_COUNT}
