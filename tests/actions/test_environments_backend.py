"""Several environments in one byoc.toml, and remote state in S3.

Config and layout are checked without AWS; the bucket bootstrap, environment isolation and the
local-to-S3 migration run against a moto server on 127.0.0.1 with real terraform.
"""

from __future__ import annotations

import json

import boto3
import pytest
from typer.testing import CliRunner

from cli.core.config import open_project, resolve
from cli.core.errors import InputError
from cli.main import app

IMAGE = "public.ecr.aws/nginx/nginx:1.27"
TWO_ENVS = f'''
container_image = "{IMAGE}"
desired_count = 1

[env.dev]
app_name = "byoc-dev"

[env.prod]
app_name = "byoc-prod"
desired_count = 3
'''
BACKEND = '''
[backend]
bucket = "byoc-state-test"
region = "us-east-1"
use_path_style = true
'''


def _client(service, endpoint):
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


# ---- config and layout -------------------------------------------------------------------------

def test_each_environment_has_its_own_stack_state_and_inputs(tmp_path):
    (tmp_path / "byoc.toml").write_text(TWO_ENVS)
    dev, prod = open_project(tmp_path, "dev"), open_project(tmp_path, "prod")
    assert (dev.stack_name, prod.stack_name) == ("byoc-dev", "byoc-prod")
    for attr in ("stack_dir", "state_file", "state_dir", "inputs_file"):
        assert getattr(dev, attr) != getattr(prod, attr), attr
    assert resolve(prod, {})["desired_count"] == 3 and resolve(dev, {})["desired_count"] == 1
    assert resolve(dev, {})["app_name"] == "byoc-dev"


def test_environment_is_required_when_the_config_defines_some(tmp_path):
    (tmp_path / "byoc.toml").write_text(TWO_ENVS)
    with pytest.raises(InputError, match="--env: .*defines environments dev, prod"):
        open_project(tmp_path, None)
    with pytest.raises(InputError, match="no environment 'staging'"):
        open_project(tmp_path, "staging")


@pytest.mark.parametrize("toml, field", [
    (BACKEND.replace("byoc-state-test", "Bad_Bucket"), "backend.bucket"),
    (BACKEND.replace('region = "us-east-1"', 'region = "nowhere"'), "backend.region"),
    (BACKEND + 'dynamodb_table = "locks"\n', "backend.dynamodb_table"),
    (TWO_ENVS + "\n[env.Prod_2]\napp_name = 'x'\n", "[env.Prod_2]"),
    (TWO_ENVS + "\n[env.qa]\nbackend_bucket = 'x'\n", "backend_bucket"),
])
def test_bad_backend_or_environment_settings_exit_2_naming_the_field(tmp_path, toml, field):
    (tmp_path / "byoc.toml").write_text(toml if toml.startswith(TWO_ENVS) else TWO_ENVS + toml)
    result = CliRunner().invoke(app, ["synth", "-C", str(tmp_path), "--env", "dev"])
    assert result.exit_code == 2, result.output
    assert field in result.output and len(result.output.strip().splitlines()) == 1


def test_backend_key_is_per_environment(tmp_path):
    (tmp_path / "byoc.toml").write_text(TWO_ENVS + BACKEND)
    assert open_project(tmp_path, "dev").backend.key == "byoc/dev/terraform.tfstate"
    assert open_project(tmp_path, "prod").backend.key == "byoc/prod/terraform.tfstate"


@pytest.fixture(scope="module")
def s3_env_synth(tmp_path_factory):
    """One synth of environment dev with the S3 backend (the backend is baked into the JSON)."""
    from cli.core.synth import ensure_synth

    root = tmp_path_factory.mktemp("s3synth")
    (root / "byoc.toml").write_text(TWO_ENVS + BACKEND)
    result = ensure_synth(open_project(root, "dev"))
    return root, json.loads((result.stack_dir / "cdk.tf.json").read_text())


def test_synthesized_s3_backend_encrypts_and_locks_natively(s3_env_synth):
    root, doc = s3_env_synth
    s3 = doc["terraform"]["backend"]["s3"]
    assert s3["bucket"] == "byoc-state-test" and s3["key"] == "byoc/dev/terraform.tfstate"
    assert s3["encrypt"] is True and s3["use_lockfile"] is True and s3["use_path_style"] is True
    assert "local" not in doc["terraform"]["backend"]
    assert (root / "cdktf.out" / "stacks" / "byoc-dev" / "cdk.tf.json").exists()


def test_backend_change_is_a_synth_cache_miss(s3_env_synth):
    from cli.core.synth import is_fresh

    root, _doc = s3_env_synth
    assert is_fresh(open_project(root, "dev"))
    (root / "byoc.toml").write_text(TWO_ENVS + BACKEND.replace("byoc-state-test", "byoc-state-other"))
    try:
        assert not is_fresh(open_project(root, "dev"))
    finally:
        (root / "byoc.toml").write_text(TWO_ENVS + BACKEND)


# ---- against the emulator ----------------------------------------------------------------------

@pytest.mark.emulator
def test_bootstrap_creates_a_versioned_encrypted_private_bucket_and_is_repeatable(tmp_path, emulator):
    (tmp_path / "byoc.toml").write_text(f'container_image = "{IMAGE}"\n' + BACKEND)
    for _ in range(2):
        result = CliRunner().invoke(app, ["backend", "bootstrap", "-C", str(tmp_path), "-y"], env=emulator.env())
        assert result.exit_code == 0, result.output
    s3 = _client("s3", emulator.endpoint_url)
    assert s3.get_bucket_versioning(Bucket="byoc-state-test")["Status"] == "Enabled"
    rule = s3.get_bucket_encryption(Bucket="byoc-state-test")["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket="byoc-state-test")["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    policy = json.loads(s3.get_bucket_policy(Bucket="byoc-state-test")["Policy"])
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.emulator
@pytest.mark.parametrize("region, partition", [("us-gov-west-1", "aws-us-gov"), ("cn-north-1", "aws-cn")])
def test_bootstrap_names_the_bucket_in_the_partition_of_the_callers_identity(tmp_path, emulator, region, partition):
    """GovCloud and China are partitions of their own: an arn:aws:s3::: resource names nothing there.
    The partition is the caller's, from STS GetCallerIdentity (the emulator's STS answers it by region)."""
    (tmp_path / "byoc.toml").write_text(f'container_image = "{IMAGE}"\n' + BACKEND.replace("us-east-1", region))
    result = CliRunner().invoke(app, ["backend", "bootstrap", "-C", str(tmp_path), "-y"], env=emulator.env(region))
    assert result.exit_code == 0, result.output
    s3 = boto3.client("s3", region_name=region, endpoint_url=emulator.endpoint_url, aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    (statement,) = json.loads(s3.get_bucket_policy(Bucket="byoc-state-test")["Policy"])["Statement"]
    assert statement["Resource"] == [f"arn:{partition}:s3:::byoc-state-test", f"arn:{partition}:s3:::byoc-state-test/*"]


#: A moved state as S3 holds it: two managed resource instances (data sources are read again, not moved).
MOVED_STATE = {"version": 4, "resources": [
    {"mode": "managed", "type": "aws_vpc", "name": "main", "instances": [{"index_key": 0}]},
    {"mode": "managed", "type": "aws_kms_key", "name": "secrets", "instances": [{}]},
    {"mode": "data", "type": "aws_region", "name": "current", "instances": [{}]}]}


@pytest.fixture
def fresh_bucket(emulator):
    s3 = _client("s3", emulator.endpoint_url)
    s3.create_bucket(Bucket="byoc-state-propagating")
    s3.put_bucket_versioning(Bucket="byoc-state-propagating", VersioningConfiguration={"Status": "Enabled"})
    return s3


@pytest.mark.emulator
def test_migrate_reads_the_moved_state_again_within_s3s_bound_and_says_so(fresh_bucket):
    """Right after versioning is enabled, S3 may answer 404 NoSuchKey for a new object for up to 15
    minutes (S3 User Guide, "Enabling versioning on buckets"): the object appears only after the
    second wait here, and migrate's read-back waits for it, saying why, instead of calling the move
    failed."""
    from cli.actions.backend import remote_instances, wait_for_remote_state

    slept, said = [], []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 2:  # S3's propagation completes
            fresh_bucket.put_object(Bucket="byoc-state-propagating", Key="byoc/terraform.tfstate",
                                    Body=json.dumps(MOVED_STATE))

    found = wait_for_remote_state(lambda: remote_instances(fresh_bucket, "byoc-state-propagating",
                                                           "byoc/terraform.tfstate"),
                                  2, "s3://byoc-state-propagating/byoc/terraform.tfstate", sleep=sleep, say=said.append)
    assert found == 2 and slept == [5, 10] and len(said) == 2
    assert "shows 0 of 2 resource instances" in said[0] and "up to 15 minutes" in said[0]
    assert "404 NoSuchKey" in said[0] and "reading it again in 5s (5s of at most 900s)" in said[0]


@pytest.mark.emulator
def test_migrate_stops_after_s3s_documented_bound_and_not_before(fresh_bucket):
    from cli.actions.backend import remote_instances, wait_for_remote_state
    from cli.core.errors import ByocError

    slept: list[float] = []
    with pytest.raises(ByocError) as stopped:
        wait_for_remote_state(lambda: remote_instances(fresh_bucket, "byoc-state-propagating", "byoc/never"), 2,
                              "s3://byoc-state-propagating/byoc/never", sleep=slept.append, say=lambda _line: None)
    assert sum(slept) == 15 * 60
    assert "still shows 0 of 2 resource instances after 15 minutes" in str(stopped.value)


@pytest.fixture(scope="module")
def two_envs_deployed(synthesized_project, tmp_path_factory, emulator_module):
    """Deploy dev (local state) next to a prod whose state file is garbage: if dev ever read or
    wrote it, dev would fail or the bytes would change. Then migrate dev to S3."""
    root = tmp_path_factory.mktemp("envs") / "project"
    root.mkdir()
    (root / "byoc.toml").write_text(TWO_ENVS)
    prod_state = root / "terraform.byoc-prod.tfstate"
    prod_state.write_bytes(b"\x00not a terraform state\x00")
    (root / ".byoc" / "envs" / "prod").mkdir(parents=True)
    (root / ".byoc" / "envs" / "prod" / "inputs.tfvars.json").write_text('{"sentinel": "prod"}\n')
    before = {p: p.read_bytes() for p in (prod_state, root / ".byoc/envs/prod/inputs.tfvars.json")}
    env = emulator_module.env()
    runner = CliRunner()
    out = {"root": root, "env": env, "endpoint": emulator_module.endpoint_url}
    out["deploy"] = runner.invoke(app, ["deploy", "-C", str(root), "--env", "dev", "-y"], env=env)
    out["prod_untouched"] = all(p.read_bytes() == b for p, b in before.items())
    out["roles"] = [r["RoleName"] for r in _client("iam", emulator_module.endpoint_url).list_roles()["Roles"]]
    out["prod_files"] = sorted(rel for rel in (p.relative_to(root).as_posix() for p in root.rglob("*"))
                               if "prod" in rel)
    # Remote state: a bucket, the backend in the config, then the move.
    (root / "byoc.toml").write_text(TWO_ENVS + BACKEND)
    out["bootstrap"] = runner.invoke(app, ["backend", "bootstrap", "-C", str(root), "--env", "dev", "-y"], env=env)
    out["deploy_before_migrate"] = runner.invoke(app, ["deploy", "-C", str(root), "--env", "dev", "-y"], env=env)
    out["migrate"] = runner.invoke(app, ["backend", "migrate", "-C", str(root), "--env", "dev", "-y"], env=env)
    out["deploy_after_migrate"] = runner.invoke(app, ["deploy", "-C", str(root), "--env", "dev", "-y"], env=env)
    out["status"] = runner.invoke(app, ["status", "-C", str(root), "--env", "dev", "--json"], env=env)
    state = _client("s3", emulator_module.endpoint_url).get_object(Bucket="byoc-state-test", Key="byoc/dev/terraform.tfstate")
    out["state_after_migrate"] = json.loads(state["Body"].read())
    # The last step of a user's flow, here on the remote state: byoc destroy.
    out["destroy"] = runner.invoke(app, ["destroy", "-C", str(root), "--env", "dev", "-y", "--json"], env=env)
    return out


@pytest.mark.terraform
@pytest.mark.emulator
def test_deploying_dev_never_reads_or_writes_prod(two_envs_deployed):
    d = two_envs_deployed
    assert d["deploy"].exit_code == 0, d["deploy"].output
    assert d["prod_untouched"]
    assert d["prod_files"] == [".byoc/envs/prod", ".byoc/envs/prod/inputs.tfvars.json", "terraform.byoc-prod.tfstate"]
    roles = d["roles"]
    assert "byoc-dev-task-role" in roles and not any(r.startswith("byoc-prod") for r in roles)


@pytest.mark.terraform
@pytest.mark.emulator
def test_deploy_refuses_to_run_on_a_local_state_once_the_backend_is_s3(two_envs_deployed):
    result = two_envs_deployed["deploy_before_migrate"]
    assert result.exit_code == 1
    assert "run `byoc backend migrate` first" in result.output


@pytest.mark.terraform
@pytest.mark.emulator
def test_migration_moves_every_resource_and_the_next_plan_is_empty(two_envs_deployed):
    d = two_envs_deployed
    assert d["bootstrap"].exit_code == 0, d["bootstrap"].output
    assert d["migrate"].exit_code == 0, d["migrate"].output
    state = d["state_after_migrate"]
    local = json.loads((d["root"] / "terraform.byoc-dev.tfstate.migrated").read_text())
    assert [r["type"] + "." + r["name"] for r in state["resources"]] == \
        [r["type"] + "." + r["name"] for r in local["resources"]]
    assert not (d["root"] / "terraform.byoc-dev.tfstate").exists()
    after = d["deploy_after_migrate"]
    assert after.exit_code == 0, after.output
    assert "No changes: the deployment already matches these inputs." in after.output
    assert json.loads(d["status"].output)["outputs"]["ecs_task_role_arn"].endswith("role/byoc-dev-task-role")


@pytest.mark.terraform
@pytest.mark.emulator
def test_destroy_removes_everything_explains_the_secret_and_reports_what_it_destroyed(two_envs_deployed):
    d = two_envs_deployed
    result = d["destroy"]
    assert result.exit_code == 0, result.output
    assert "recovery window" in result.output
    # Deletion protection went off through ELBv2 before the plan: terraform had nothing to update
    # on the load balancer (its update would wait 30 s before looking again).
    assert "Before destroying: turning off the load balancer's deletion protection." in result.output
    assert "aws_lb.main" not in result.output[:result.output.index("Plan: 0 to add")], result.output
    # --json: the result, last (the narration before it goes to stderr).
    managed = sum(len(r["instances"]) for r in d["state_after_migrate"]["resources"] if r["mode"] == "managed")
    assert json.loads(result.output[result.output.rindex('{\n  "destroyed"'):]) == {
        "destroyed": {"resources": managed, "secret_recovery_window_days": 7}}
    obj = _client("s3", d["endpoint"]).get_object(Bucket="byoc-state-test", Key="byoc/dev/terraform.tfstate")
    assert json.loads(obj["Body"].read())["resources"] == []
    assert not (d["root"] / ".byoc" / "envs" / "dev" / "inputs.tfvars.json").exists()
