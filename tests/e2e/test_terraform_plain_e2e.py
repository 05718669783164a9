"""The seed README's Deploy steps 1-5 with PLAIN terraform in cdktf.out/stacks/byoc, against a
moto server on 127.0.0.1 — then re-synth, deletion of cdktf.out, and destroy.

One deployment per module (the ``deployed`` fixture runs steps 1-5); the tests below assert on it
in file order, which is the order they must run in: pytest keeps definition order, the step
numbers in the names say it too, and ``test_step9_destroy_removes_everything`` is last. Nothing
here reaches beyond 127.0.0.1 (AWS_ENDPOINT_URL for provider and boto3; CHECKPOINT_DISABLE for
terraform's version check).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from stacks import STACK_NAME, STATE_FILE
from tfrun import aws, terraform

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]

REPO = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"
APP = "byoc-agents"
#: The seed's Configure section names pinecone_environment: passed with -var on every step here.
PINECONE_ENVIRONMENT = "us-east-1-aws"


@dataclass
class Deployment:
    project: Path
    env: dict[str, str]
    sentinel: str
    outputs: dict[str, object] = field(default_factory=dict)
    first_plan_exit: int | None = None
    policy_before_lockdown: dict | None = None
    lockdown_changes: list[tuple[str, list[str]]] = field(default_factory=list)
    terraform_output: list[str] = field(default_factory=list)

    @property
    def stack_dir(self) -> Path:
        return self.project / "cdktf.out" / "stacks" / STACK_NAME

    @property
    def state_file(self) -> Path:
        return self.project / STATE_FILE

    @property
    def lockdown_vars(self) -> list[str]:
        return ["-var", f"container_image={IMAGE}", "-var", f"pinecone_environment={PINECONE_ENVIRONMENT}",
                "-var", f"app_reader_principal_arns={json.dumps([self.outputs['ecs_task_role_arn']])}"]

    def tf(self, *args: str, ok: tuple[int, ...] = (0,), timeout: int = 900) -> subprocess.CompletedProcess:
        proc = terraform(self.stack_dir, self.env, *args, ok=None, timeout=timeout)
        self.terraform_output.append(proc.stdout + proc.stderr)
        assert proc.returncode in ok, f"terraform {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        return proc

    def aws(self, service: str):
        return aws(self.env, service)

    def secret_policy(self) -> dict:
        arn = self.outputs["byoc_secret_arn"]
        return json.loads(self.aws("secretsmanager").get_resource_policy(SecretId=arn)["ResourcePolicy"])

    def resynth(self) -> None:
        proc = subprocess.run([sys.executable, "-m", "stacks.app", "--outdir", str(self.project / "cdktf.out")],
                              cwd=REPO, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]


def statements(policy: dict) -> list[dict]:
    found = policy["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def deployed(project_copy_module, aws_env_module) -> Deployment:
    """Deploy steps 1-5 of the seed README, run as a user would, with plain terraform."""
    d = Deployment(project=project_copy_module, env=aws_env_module, sentinel=f"pcsk_{secrets.token_hex(24)}")

    # 1. Init
    d.tf("init", "-input=false", "-no-color")
    # 2. Plan (changes pending -> exit code 2 with -detailed-exitcode)
    d.first_plan_exit = d.tf("plan", "-input=false", "-no-color", "-detailed-exitcode",
                             "-var", f"container_image={IMAGE}", "-var", "app_reader_principal_arns=[]",
                             "-var", f"pinecone_environment={PINECONE_ENVIRONMENT}",
                             ok=(2,)).returncode
    # 3. Apply
    d.tf("apply", "-input=false", "-no-color", "-auto-approve", "-var", f"container_image={IMAGE}",
         "-var", f"pinecone_environment={PINECONE_ENVIRONMENT}")
    d.outputs = {k: v["value"] for k, v in json.loads(d.tf("output", "-json").stdout).items()}
    # 4. Inject the secret value out of band
    secret_arn = d.tf("output", "-raw", "byoc_secret_arn").stdout
    assert secret_arn == d.outputs["byoc_secret_arn"]
    d.aws("secretsmanager").put_secret_value(SecretId=secret_arn,
                                             SecretString=json.dumps({"PINECONE_API_KEY": d.sentinel}))
    d.policy_before_lockdown = d.secret_policy()
    # 5. Lock the secret down to the task role (the seed's command; container_image is required
    #    too, the seed's example leaves it to the interactive prompt). Planned to a file first so
    #    the test can see what the lock-down changes.
    d.tf("plan", "-input=false", "-no-color", "-out=lockdown.tfplan", *d.lockdown_vars)
    plan = json.loads(d.tf("show", "-json", "lockdown.tfplan").stdout)
    d.lockdown_changes = [(c["address"], c["change"]["actions"]) for c in plan.get("resource_changes", [])
                          if c["mode"] == "managed" and c["change"]["actions"] != ["no-op"]]
    d.tf("apply", "-input=false", "-no-color", "lockdown.tfplan")
    (d.stack_dir / "lockdown.tfplan").unlink()
    return d


# --------------------------------------------------------------------------- steps 1-5

def test_step1_first_plan_has_changes_and_state_goes_beside_the_project(deployed):
    assert deployed.first_plan_exit == 2
    assert deployed.state_file.is_file()
    assert not (deployed.stack_dir / "terraform.tfstate").exists()
    out = deployed.project / "cdktf.out"
    assert [p for p in out.rglob("*.tfstate*") if ".terraform" not in p.relative_to(out).parts] == []
    # .terraform/terraform.tfstate is terraform's backend settings, not state: it points outside.
    backend = json.loads((deployed.stack_dir / ".terraform" / "terraform.tfstate").read_text())
    assert "resources" not in backend
    assert (deployed.stack_dir / backend["backend"]["config"]["path"]).resolve() == deployed.state_file.resolve()


def test_step3_outputs_name_the_documented_resources(deployed):
    outputs = deployed.outputs
    assert outputs["byoc_secret_arn"].startswith(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{APP}/")
    # The seed's lock-down example ARN, exactly.
    assert outputs["ecs_task_role_arn"] == f"arn:aws:iam::123456789012:role/{APP}-task-role"
    assert outputs["ecs_execution_role_arn"] == f"arn:aws:iam::123456789012:role/{APP}-execution-role"
    assert outputs["secretsmanager_vpce_id"].startswith("vpce-")
    assert len(outputs["private_subnet_ids"]) == 2
    assert outputs["alb_dns_name"]


def test_step3_pinecone_environment_reaches_the_container_as_a_plain_environment_variable(deployed):
    ecs = deployed.aws("ecs")
    service = ecs.describe_services(cluster=deployed.outputs["ecs_cluster_name"],
                                    services=[deployed.outputs["ecs_service_name"]])["services"][0]
    (container,) = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"][
        "containerDefinitions"]
    assert container["environment"] == [{"name": "PINECONE_ENVIRONMENT", "value": PINECONE_ENVIRONMENT}]
    assert [s["name"] for s in container["secrets"]] == ["PINECONE_API_KEY"]  # the key stays a secret


def test_step3_optional_pinecone_trust_role_is_not_created_by_default(deployed):
    addresses = deployed.tf("state", "list").stdout.split()
    assert "aws_vpc.main[0]" in addresses and "aws_ecs_service.app" in addresses
    assert not [a for a in addresses if a.startswith("aws_iam_role.pinecone_byoc")]
    assert not [a for a in addresses if a.startswith("aws_vpc_endpoint.pinecone")]


def test_step3_task_definition_in_aws_reads_the_json_key_with_the_execution_role(deployed):
    ecs = deployed.aws("ecs")
    task_definition = ecs.describe_task_definition(taskDefinition=APP)["taskDefinition"]
    (container,) = task_definition["containerDefinitions"]
    assert container["secrets"] == [{"name": "PINECONE_API_KEY",
                                     "valueFrom": f"{deployed.outputs['byoc_secret_arn']}:PINECONE_API_KEY::"}]
    assert task_definition["executionRoleArn"] == deployed.outputs["ecs_execution_role_arn"]
    assert task_definition["taskRoleArn"] == deployed.outputs["ecs_task_role_arn"]


def test_step3_execution_role_lists_both_attached_policies(deployed):
    # The fix doc's verification: aws iam list-attached-role-policies --role-name <exec role>
    iam = deployed.aws("iam")
    names = {p["PolicyName"] for p in
             iam.list_attached_role_policies(RoleName=f"{APP}-execution-role")["AttachedPolicies"]}
    assert names == {"AmazonECSTaskExecutionRolePolicy", f"{APP}-secret-read"}
    task_names = {p["PolicyName"] for p in
                  iam.list_attached_role_policies(RoleName=f"{APP}-task-role")["AttachedPolicies"]}
    assert task_names == {f"{APP}-secret-read"}


def test_step4_before_lockdown_the_policy_only_demands_the_vpc_endpoint(deployed):
    (statement,) = statements(deployed.policy_before_lockdown)
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"StringNotEquals": {"aws:SourceVpce": deployed.outputs["secretsmanager_vpce_id"]}}


def test_step5_lockdown_changes_only_the_secret_policy(deployed):
    assert deployed.lockdown_changes == [("aws_secretsmanager_secret_policy.pinecone_policy", ["update"])]


def test_step5_policy_names_task_and_execution_roles_and_keeps_the_vpce_deny(deployed):
    policy = deployed.secret_policy()
    by_condition = {next(iter(s["Condition"])): s for s in statements(policy)}
    assert set(by_condition) == {"StringNotEquals", "ArnNotEquals"}
    for statement in by_condition.values():
        assert statement["Effect"] == "Deny"
        assert as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
        assert as_list(statement["Resource"]) == [deployed.outputs["byoc_secret_arn"]]
    principals = set(as_list(by_condition["ArnNotEquals"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]))
    assert principals == {deployed.outputs["ecs_task_role_arn"], deployed.outputs["ecs_execution_role_arn"]}
    assert by_condition["StringNotEquals"]["Condition"] == {
        "StringNotEquals": {"aws:SourceVpce": deployed.outputs["secretsmanager_vpce_id"]}}


def test_step6_a_further_plan_shows_no_changes(deployed):
    proc = deployed.tf("plan", "-input=false", "-no-color", "-detailed-exitcode", *deployed.lockdown_vars,
                       ok=(0, 2))
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_step7_the_secret_value_is_nowhere_in_state_or_cdktf_out(deployed):
    # The value is really in the secret (so not finding it below means something). AWS's API
    # refuses the read from here (the secret policy denies reads from outside the endpoint, and
    # the emulator evaluates it), so it is read from the emulator's own store, in this process.
    from botocore.exceptions import ClientError
    from moto.secretsmanager.models import secretsmanager_backends

    with pytest.raises(ClientError, match="AccessDeniedException"):
        deployed.aws("secretsmanager").get_secret_value(SecretId=deployed.outputs["byoc_secret_arn"])
    arn = deployed.outputs["byoc_secret_arn"]
    (stored,) = [s for s in secretsmanager_backends[arn.split(":")[4]][arn.split(":")[3]].secrets.values()
                 if s.arn == arn]
    current = next(v for v in stored.versions.values() if "AWSCURRENT" in v["version_stages"])
    assert json.loads(current["secret_string"]) == {"PINECONE_API_KEY": deployed.sentinel}
    needle = deployed.sentinel.encode()
    scanned = []
    for root, _dirs, files in os.walk(deployed.project):  # the project: state, backup, cdktf.out
        for name in files:
            path = Path(root, name)
            if path.is_symlink():  # .terraform/providers links into the read-only mirror
                continue
            scanned.append(path)
            assert needle not in path.read_bytes(), f"the secret value leaked into {path}"
    assert deployed.state_file in scanned
    assert deployed.project / f"{STATE_FILE}.backup" in scanned
    assert deployed.stack_dir / "cdk.tf.json" in scanned
    assert not [out for out in deployed.terraform_output if deployed.sentinel in out]


def test_step8_resynthesized_project_still_plans_no_changes(deployed):
    before = (deployed.stack_dir / "cdk.tf.json").read_bytes()
    deployed.resynth()
    assert (deployed.stack_dir / "cdk.tf.json").read_bytes() == before
    if not (deployed.stack_dir / ".terraform").is_dir():
        deployed.tf("init", "-input=false", "-no-color")
    proc = deployed.tf("plan", "-input=false", "-no-color", "-detailed-exitcode", *deployed.lockdown_vars,
                       ok=(0, 2))
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_step8_after_deleting_cdktf_out_a_fresh_synth_and_init_plan_no_changes(deployed, tmp_path):
    """cdktf.out is disposable: the state lives beside the project, so a project whose cdktf.out
    (JSON, .terraform, lock file) is gone synthesizes and initializes again and plans no changes
    against the same state, which still describes the deployment."""
    out = deployed.project / "cdktf.out"
    backup = tmp_path / "cdktf.out"
    shutil.copytree(out, backup, symlinks=True)
    state_before = deployed.state_file.read_bytes()
    shutil.rmtree(out)
    try:
        assert not out.exists()
        deployed.resynth()
        assert not (deployed.stack_dir / ".terraform").exists()  # nothing left over from the first init
        deployed.tf("init", "-input=false", "-no-color")
        proc = deployed.tf("plan", "-input=false", "-no-color", "-detailed-exitcode", *deployed.lockdown_vars,
                           ok=(0, 2))
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert "No changes." in proc.stdout
        assert deployed.state_file.read_bytes() == state_before  # the plan read it, nothing rewrote it
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # step 9 destroys from the project as it was
        shutil.copytree(backup, out, symlinks=True)
        raise


def test_step9_destroy_removes_everything(deployed):
    vpc_id = deployed.outputs["vpc_id"]
    # The documented two steps: the load balancer's deletion protection is on by default, and AWS
    # (and the emulator) refuse to delete it until an apply has turned it off.
    unprotected = [*deployed.lockdown_vars, "-var", "alb_deletion_protection=false"]
    deployed.tf("apply", "-input=false", "-no-color", "-auto-approve", *unprotected)
    deployed.tf("destroy", "-input=false", "-no-color", "-auto-approve", *unprotected)
    assert deployed.tf("state", "list").stdout.strip() == ""
    ec2 = deployed.aws("ec2")
    try:
        vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidVpcID.NotFound"
        vpcs = []
    assert vpcs == []
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Project", "Values": [APP]}])["Vpcs"] == []
    assert deployed.aws("elbv2").describe_load_balancers()["LoadBalancers"] == []
    with pytest.raises(ClientError, match="NoSuchEntity"):
        deployed.aws("iam").get_role(RoleName=f"{APP}-task-role")
    # The secret is scheduled for deletion (recovery window), not force-deleted.
    secret = deployed.aws("secretsmanager").describe_secret(SecretId=deployed.outputs["byoc_secret_arn"])
    assert "DeletedDate" in secret
