"""The gaps of moto that the embedded emulator fills: the table, one row per gap.

moto stands in for AWS in ``byoc demo``, ``byoc emulator`` and the tests. The gaps of moto 5.2
below matter for this stack; each is filled in the emulator, so the generated Terraform carries
no test-only settings. ``TABLE`` is the single source: each row says what moto lacks, what the
emulator does instead and which modules of this package fill it; each of those modules declares
the gap in its ``GAPS`` and opens with the AWS documentation it follows. The server installs every
module of the table (``modules()``), and tests/emulator/test_emulator_gaps.py holds the table, the modules
and the changes they make to moto to one another.

moto stores policies but enforces none; gap 11 fills that with an independent evaluator
(``authorizer.py``), so a test that expects a denial runs where the denial can fail to happen.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Gap:
    number: int
    service: str  #: the AWS service
    moto_lacks: str
    emulator_does: str
    modules: tuple[str, ...]  #: the modules of cli/emulator/ that fill it, the main one first


TABLE: tuple[Gap, ...] = (
    Gap(1, "IAM",
        "AWS-managed policies are not loaded by default, so attaching AmazonECSTaskExecutionRolePolicy fails with "
        "NoSuchEntity.",
        "Sets MOTO_IAM_LOAD_MANAGED_POLICIES (moto's own switch) before the IAM backend is created.",
        ("iam",)),
    Gap(2, "Application Auto Scaling",
        "No ListTagsForResource/TagResource/UntagResource (HTTP 500, and the provider retries "
        "aws_appautoscaling_target forever).",
        "Implements them with a per-ARN tag store (RegisterScalableTarget's Tags included).",
        ("applicationautoscaling",)),
    Gap(3, "ECS",
        "Services do not keep availabilityZoneRebalancing (nor, in 5.2.5, healthCheckGracePeriodSeconds, "
        "enableECSManagedTags and enableExecuteCommand), so every plan after apply shows a diff.",
        "Stores the values sent at create time and returns them (UpdateService already stores what it is sent).",
        ("ecs",)),
    Gap(4, "ECS",
        "moto runs no containers, so a service never has a task and a deployment's outcome cannot be seen; "
        "ListTasks ignores serviceName.",
        "A model of what ECS does with a service's tasks (cli/emulator/ecs_tasks.py): deployments, task starts that "
        "resolve the container's secrets as ECS does (the version a valueFrom names by id or stage, resolved as "
        "Secrets Manager's GetSecretValue does; stopping with AWS's own stoppedReason when there is no such version "
        "or the JSON key is missing), running tasks registered as healthy targets, a log line per started "
        "container, the circuit breaker (failed tasks counted, reset by a healthy task, FAILED at half the desired "
        "count, at least 3, at most 200, then a rollback to the last completed deployment). A task start is judged "
        "by the policies as the execution role (gap 11's authorizer): the private ECR image (it must exist), the "
        "secret read through the task VPC's endpoint, its decryption, the log stream. A fault and behaviour switch "
        "(Emulator.set_faults, POST /byoc-emulator/faults) makes task starts fail the ways AWS would for what it "
        "does not model: the image missing, health checks failing, the app exiting (always or once), the app "
        "rejecting keys stored after the switch; and shows ECS's documented read behaviour that moto never shows "
        "(cli/emulator/ecs_reads.py): a new deployment missing from the next DescribeServices reads (eventual "
        "consistency), a crash-looping hour of 120 stopped tasks (more than one ListTasks page), a throttling "
        "burst. ListTasks filters by serviceName, pages (100 a page, oldest first, nextToken) and takes startedBy "
        "only alone; DescribeTasks takes at most 100 tasks; DescribeTaskDefinition by family alone answers the latest "
        "ACTIVE revision (moto: the latest of any status).",
        ("ecs", "elbv2", "ec2")),
    Gap(5, "EC2",
        "(found here, 5.2.5) A security group rule that references another group loses its description, so every "
        "plan shows a diff.",
        "Reads the description from the group pair too.",
        ("ec2",)),
    Gap(6, "Elastic Load Balancing",
        "(found here, 5.2.5) DeleteLoadBalancer ignores the load balancer's deletion protection, so a destroy that "
        "would fail in AWS passes against moto.",
        "Refuses it with AWS's OperationNotPermitted, so the tests prove that every destroy path turns protection "
        "off first.",
        ("elbv2",)),
    Gap(7, "S3",
        "Bucket policies are evaluated without their conditions, so the state bucket's \"deny unless HTTPS\" "
        "statement denies every request.",
        "Leaves statements with a Condition out of moto's evaluation (it cannot evaluate them; the real S3 does).",
        ("s3",)),
    Gap(8, "Route 53",
        "(found here, 5.2.5) CreateHostedZone with a VPC makes a *public* zone unless HostedZoneConfig.PrivateZone "
        "is also sent; AWS makes it private (the VPC is what makes a zone private, and the AWS provider sends only "
        "the VPC). The next plan then tries to associate the VPC again and fails (PublicZoneVPCAssociation).",
        "A VPC in the request makes the zone private.",
        ("route53",)),
    Gap(9, "Secrets Manager",
        "(found here, 5.2.5) UpdateSecretVersionStage moves the AWSCURRENT label but not the version GetSecretValue "
        "returns by default, so `byoc secret rollback` looked like a no-op to the app.",
        "The default version follows AWSCURRENT.",
        ("secretsmanager",)),
    Gap(10, "IAM Access Analyzer",
        "No backend at all: the server prints a traceback and answers 500, retried four times.",
        "Answers ValidatePolicy (resource and identity policies: an ERROR finding per problem the independent "
        "evaluator's own validation finds; no security warnings or suggestions, which /byoc-emulator/info says) and "
        "CheckNoPublicAccess (AWS::SecretsManager::Secret, AWS::KMS::Key: FAIL when the evaluator allows a principal "
        "of another account) with the independent evaluator (policy_checks.py). Everything else, and these without "
        "the evaluator, the way AWS answers an operation it does not offer: HTTP 501 NotImplemented, at once; byoc "
        "then says \"not checked\". The emulator never makes up a verdict.",
        ("accessanalyzer",)),
    Gap(11, "Secrets Manager, KMS, IAM's policy simulator (and ECS task starts)",
        "moto stores identity, resource, key and VPC endpoint policies but enforces none: nothing is ever denied, "
        "so no test of a lockdown, a key policy or a detached grant can fail. IAM's SimulatePrincipalPolicy/"
        "SimulateCustomPolicy answer with a body botocore cannot parse.",
        "Judges the caller's Secrets Manager (GetSecretValue, PutSecretValue, DescribeSecret, Get/PutResourcePolicy) "
        "and KMS (Decrypt, Encrypt, GenerateDataKey) requests, and every task start (gap 4), with the independent "
        "evaluator @cloud-copilot/iam-simulate over the documents moto holds (authorizer.py); a denial is AWS's "
        "AccessDeniedException. Without the evaluator it says so in one line and allows, as moto does. IAM's policy "
        "simulator is answered by the same evaluator over the entity's policies, under the API reference's input "
        "rules and errors (ValidationError, InvalidInput, NoSuchEntity, PolicyEvaluation; paging by "
        "MaxItems/Marker; iam_simulator.py); without the evaluator it answers HTTP 501 NotImplemented, never a "
        "made-up verdict.",
        ("secretsmanager", "kms", "iam_simulator")),
    Gap(12, "Secrets Manager",
        "No ValidateResourcePolicy (the validation deploy and lockdown ask for before they apply a secret policy).",
        "Answers it with the API reference's three checks as far as the independent evaluator decides them "
        "(policy_checks.py): syntax (its own validation), broad access (a principal of another account allowed), "
        "lock-out (the caller's own PutResourcePolicy or DeleteResourcePolicy explicitly denied by the new document); "
        "MalformedPolicyDocumentException for a body that is not JSON, ResourceNotFoundException for an unknown "
        "SecretId; without the evaluator HTTP 501 NotImplemented.",
        ("secretsmanager",)),
)


def module_names() -> list[str]:
    """The modules that fill the gaps, each once, in the table's order (the order they install in)."""
    return list(dict.fromkeys(name for gap in TABLE for name in gap.modules))


def modules() -> list[ModuleType]:
    return [importlib.import_module(f"{__package__}.{name}") for name in module_names()]
