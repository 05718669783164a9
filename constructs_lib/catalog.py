"""The stack's constants and data tables, in one pure-Python place (no jsii, no cdktf).

Everything that more than one layer must agree on lives here, so that the constructs that write
the Terraform, the stack inputs that validate it and the CLI that reads it back (``byoc cost``,
``byoc doctor``) read one table instead of keeping copies: the secret's JSON key, the interface
endpoint catalogue, Pinecone's PrivateLink table and Pinecone's limits. Importing this module
never loads jsii, so the CLI's fast paths stay fast.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# The secret
# ---------------------------------------------------------------------------------------------

#: The JSON key inside the secret's value, {"PINECONE_API_KEY": "..."}, and the container's
#: environment variable name.
SECRET_JSON_KEY = "PINECONE_API_KEY"


def secret_name(app_name: str) -> str:
    """The secret's name (``<app_name>/PINECONE_API_KEY``): known before the secret exists, so
    byoc can ask whether it has a value before the first deploy."""
    return f"{app_name}/{SECRET_JSON_KEY}"


def value_from(secret_arn: str, json_key: str = SECRET_JSON_KEY, version_id: str = "") -> str:
    """ECS's ``valueFrom`` for one JSON key of the secret: ``<arn>:<key>::<version-id>`` (version
    stage empty; version id empty: AWSCURRENT at each task start). Without the ``:<key>::``
    suffix ECS injects the whole JSON document instead of the key (the fix doc's second root
    cause). ``secret_arn`` and ``version_id`` may be Terraform references; the stack, doctor and
    the tests all build the shape here.

    A version id pins the key (ECS Developer Guide, "Pass Secrets Manager secrets through Amazon
    ECS environment variables": ``arn:...:secret:name:json-key:version-stage:version-id``, one of
    stage or id): a key change is then a new task definition revision, so ECS's circuit breaker,
    which rolls a failed deployment back to the previous revision, also goes back to the previous
    key. Read by AWSCURRENT instead, the previous revision would read the new key too."""
    return f"{secret_arn}:{json_key}::{version_id}"


def split_value_from(text: str) -> tuple[str, str, str, str] | None:
    """(secret ARN, JSON key, version stage, version id) of a Secrets Manager ``valueFrom`` with the
    JSON-key suffix (``arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`` plus
    ``:<key>:<stage>:<id>``); None for any other shape (a bare ARN, an SSM parameter)."""
    parts = text.split(":")
    if len(parts) != 10 or parts[0] != "arn" or parts[2] != "secretsmanager" or parts[5] != "secret":
        return None
    return ":".join(parts[:7]), parts[7], parts[8], parts[9]


#: The one action the secret policy restricts, and what the roles' read grant allows.
SECRET_READ_ACTION = "secretsmanager:GetSecretValue"
#: The input ``byoc lockdown`` owns: the principals the secret policy lets read.
READERS_INPUT = "app_reader_principal_arns"
#: The input ``byoc secret put`` and ``byoc secret rollback`` own: the secret version the tasks
#: read (empty: AWSCURRENT, what plain terraform and the seed's flow use).
SECRET_VERSION_INPUT = "secret_version_id"
#: A Secrets Manager version id as byoc pins it: 32-64 characters (the API reference's length of
#: ``VersionId`` and ``ClientRequestToken``; AWS generates UUIDs). Letters, digits, '-' and '_'
#: only, because ``valueFrom`` is split at ':'. Written without backslashes: it is HCL too.
SECRET_VERSION_ID_RE = r"^[A-Za-z0-9_-]{32,64}$"


def secretsmanager_via(region: str) -> str:
    """The ``kms:ViaService`` value of a decrypt that Secrets Manager makes on a caller's behalf
    (KMS developer guide, "kms:ViaService"): the roles may decrypt the secret's key only so."""
    return f"secretsmanager.{region}.amazonaws.com"

# ---------------------------------------------------------------------------------------------
# The ECS roles, and the tags of what byoc creates
# ---------------------------------------------------------------------------------------------

#: AWS's managed policy for the execution role (ECR pulls, CloudWatch Logs writes): its name, and
#: its path inside ``arn:<partition>:iam::aws:policy/``.
EXECUTION_MANAGED_POLICY = "AmazonECSTaskExecutionRolePolicy"
EXECUTION_MANAGED_POLICY_PATH = f"service-role/{EXECUTION_MANAGED_POLICY}"
def execution_role_name(app_name: str) -> str:
    """The execution role's name: ECS pulls the image, writes the logs and injects the secret with it
    (known before it exists, so byoc can judge a reused endpoint's policy for it before a deploy)."""
    return f"{app_name}-execution-role"


def service_log_group_name(app_name: str) -> str:
    """The service's log group (``/ecs/<app_name>``); the key policy names it before it exists."""
    return f"/ecs/{app_name}"


def exec_log_group_name(app_name: str) -> str:
    """The ECS Exec session log group (``/ecs/<app_name>/exec``); the key policy names it too."""
    return f"/ecs/{app_name}/exec"


def flow_log_group_name(app_name: str) -> str:
    """The VPC flow logs' log group (``/vpc/<app_name>/flow-logs``); the key policy names it too."""
    return f"/vpc/{app_name}/flow-logs"


#: The awslogs stream prefix of the service's container: its streams are ``<prefix>/<container>/<task id>``.
LOG_STREAM_PREFIX = "app"

#: The provider's default tags on everything the stack creates (``ManagedBy = byoc``, and
#: ``Project = <app_name>``): how byoc tells its own resources from a VPC's others.
MANAGED_BY_TAG = ("ManagedBy", "byoc")
PROJECT_TAG = "Project"

# ---------------------------------------------------------------------------------------------
# Interface endpoints
# ---------------------------------------------------------------------------------------------

#: When an interface endpoint exists, by the stack's inputs.
ALWAYS = "always"  # in every endpoint set: a private task cannot start without it
FULL = "full"  # endpoint_set = full (the seed's set)
FULL_OR_ECS_EXEC = "full_or_ecs_exec"  # endpoint_set = full, or ecs_exec = true
ECS_EXEC = "ecs_exec"  # ecs_exec = true


@dataclass(frozen=True)
class InterfaceEndpoint:
    #: The AWS service, as in ``com.amazonaws.<region>.<service>``; the resource address is
    #: ``aws_vpc_endpoint.<service with . as _>``.
    service: str
    #: ALWAYS, FULL, FULL_OR_ECS_EXEC or ECS_EXEC.
    present: str
    #: The construct module that creates it (the documented file it belongs to).
    module: str
    why: str


#: Every AWS interface endpoint the stack can create, each exactly once per VPC (AWS refuses a
#: second private-DNS endpoint for one service). Gateway endpoints (S3) are not interface
#: endpoints: network.py creates the S3 gateway in every set.
INTERFACE_ENDPOINTS: tuple[InterfaceEndpoint, ...] = (
    InterfaceEndpoint("ecr.api", ALWAYS, "network", "image pulls: registry API (layers come from S3 via the gateway)"),
    InterfaceEndpoint("ecr.dkr", ALWAYS, "network", "image pulls: the Docker registry"),
    InterfaceEndpoint("logs", ALWAYS, "network", "the awslogs driver: the container's logs"),
    InterfaceEndpoint("ssm", FULL, "network", "SDK calls the app commonly makes (Parameter Store)"),
    InterfaceEndpoint("ec2", FULL, "network", "SDK calls the app commonly makes"),
    InterfaceEndpoint("sts", FULL, "network", "SDK calls the app commonly makes (assume role)"),
    InterfaceEndpoint("secretsmanager", ALWAYS, "endpoints_secrets",
                      "ECS injects PINECONE_API_KEY at task start; the secret policy demands this endpoint"),
    # Tasks never call KMS themselves to read the secret (Secrets Manager decrypts it), so the
    # minimal set does without it; but an ECS Exec session is encrypted with the stack's key by the
    # task's agent, which must reach KMS (with nat_mode = none only this endpoint leads there).
    InterfaceEndpoint("kms", FULL_OR_ECS_EXEC, "endpoints_secrets", "the app's own KMS calls; ECS Exec sessions"),
    InterfaceEndpoint("ssmmessages", ECS_EXEC, "network", "ECS Exec's session channels"),
)


def endpoint_present(endpoint: InterfaceEndpoint, endpoint_set: str = "full", ecs_exec: bool = False) -> bool:
    """Whether ``endpoint`` exists for these input values (Python's reading of the JSON's count)."""
    return {ALWAYS: True, FULL: endpoint_set == "full", FULL_OR_ECS_EXEC: endpoint_set == "full" or ecs_exec,
            ECS_EXEC: ecs_exec}[endpoint.present]


def service_of(service_name: str) -> str:
    """``ecr.api`` of ``com.amazonaws.<region>.ecr.api`` (region may be ``${var.aws_region}``)."""
    return re.sub(r"^com\.amazonaws\.(\$\{[^}]*\}|[a-z0-9-]+)\.", "", service_name)


def interface_services(endpoint_set: str = "full", ecs_exec: bool = False) -> tuple[str, ...]:
    """The AWS services that get an interface endpoint with these input values."""
    return tuple(e.service for e in INTERFACE_ENDPOINTS if endpoint_present(e, endpoint_set, ecs_exec))


#: The S3 gateway endpoint's service (ECR's image layers); a gateway, not an interface endpoint.
S3_GATEWAY = "s3"
#: Every endpoint byoc can reuse from an existing VPC instead of creating it (``existing_vpc_endpoints``
#: keys): each interface endpoint of the catalogue and the S3 gateway.
REUSABLE_ENDPOINTS: tuple[str, ...] = (*(e.service for e in INTERFACE_ENDPOINTS), S3_GATEWAY)


#: What a task start asks AWS for through each endpoint, as the execution role: (action, resource)
#: with ``{partition}``, ``{region}``, ``{account}``, ``{secret}``, ``{repository}`` and ``{log_stream}``
#: filled in by the reader. ECS developer guide, "Amazon ECS task execution IAM role" (the secret's
#: GetSecretValue; ECR's GetAuthorizationToken, BatchGetImage, GetDownloadUrlForLayer; the awslogs
#: driver's CreateLogStream and PutLogEvents) and ECR user guide, "Amazon ECR interface VPC endpoints
#: (AWS PrivateLink)": image layers come from the ``prod-<region>-starport-layer-bucket`` bucket
#: through the S3 gateway, whose policy must allow s3:GetObject on it. The ECR rows apply to an
#: image in this account's private ECR only; a public image is pulled through the NAT.
TASK_START_CALLS: dict[str, tuple[tuple[str, str], ...]] = {
    "secretsmanager": (("secretsmanager:GetSecretValue", "{secret}"),),
    "ecr.api": (("ecr:GetAuthorizationToken", "*"),),
    "ecr.dkr": (("ecr:BatchGetImage", "{repository}"), ("ecr:GetDownloadUrlForLayer", "{repository}")),
    "logs": (("logs:CreateLogStream", "{log_stream}"), ("logs:PutLogEvents", "{log_stream}")),
    "s3": (("s3:GetObject", "arn:{partition}:s3:::prod-{region}-starport-layer-bucket/{layer}"),),
}
#: The services of TASK_START_CALLS that only a private ECR image asks for.
ECR_PULL_SERVICES = ("ecr.api", "ecr.dkr", "s3")


@dataclass(frozen=True)
class VpcDnsAttribute:
    """One VPC attribute an interface endpoint's private DNS needs (VPC user guide, "DNS attributes
    for your VPC": both enableDnsSupport and enableDnsHostnames), under each of its names."""

    terraform: str  #: the aws_vpc argument and the aws_vpc data source's attribute
    api: str  #: DescribeVpcAttribute's Attribute
    key: str  #: the key of DescribeVpcAttribute's answer
    flag: str  #: the flag of ``aws ec2 modify-vpc-attribute`` that turns it on


#: The one table of the VPC's DNS attributes: the stack creates its VPC with them on, the existing
#: VPC's data source checks them in a postcondition, and the CLI reads them (cli/observers/vpc.py).
VPC_DNS_ATTRIBUTES: tuple[VpcDnsAttribute, ...] = (
    VpcDnsAttribute("enable_dns_support", "enableDnsSupport", "EnableDnsSupport", "--enable-dns-support"),
    VpcDnsAttribute("enable_dns_hostnames", "enableDnsHostnames", "EnableDnsHostnames", "--enable-dns-hostnames"),
)


#: What a private Fargate task of this stack needs to start (present in every endpoint set):
#: image (ecr.api, ecr.dkr), logs (awslogs) and the secret. Plus the S3 gateway for image layers.
TASK_START_SERVICES: tuple[str, ...] = tuple(e.service for e in INTERFACE_ENDPOINTS if e.present == ALWAYS)

# ---------------------------------------------------------------------------------------------
# Pinecone: PrivateLink by region, and the limits of its indexes and Terraform provider
# ---------------------------------------------------------------------------------------------

_PRIVATELINK = json.loads(Path(__file__).with_name("pinecone_privatelink.json").read_text())
#: Where the PrivateLink table comes from, and the day it was read.
PRIVATELINK_SOURCE: str = _PRIVATELINK["source"]
PRIVATELINK_AS_OF: str = _PRIVATELINK["as_of"]


@dataclass(frozen=True)
class PrivateLinkService:
    region: str
    #: The endpoint service to create an interface endpoint for.
    service_name: str
    #: The zone of Pinecone's private hostnames in this region (records: *.<dns_zone>).
    dns_zone: str


#: Pinecone's published PrivateLink endpoint services by region (pinecone_privatelink.json).
PINECONE_PRIVATELINK: dict[str, PrivateLinkService] = {
    region: PrivateLinkService(region, row["service_name"], row["dns_zone"])
    for region, row in _PRIVATELINK["regions"].items()
}

PINECONE_PROVIDER_SOURCE = "pinecone-io/pinecone"
#: The major version Pinecone's Terraform docs pin (https://docs.pinecone.io/integrations/terraform).
PINECONE_PROVIDER_VERSION = "~> 2.0"
PINECONE_PROVIDER_REGISTRY = "registry.terraform.io"
#: Where the Pinecone provider (and Pinecone's SDKs) read the API key from.
PINECONE_API_KEY_ENV = "PINECONE_API_KEY"
# Pinecone's rule for index names: 1-45 characters of a-z, 0-9 and '-', alphanumeric at both ends.
PINECONE_INDEX_NAME_RE = r"^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$"
PINECONE_METRICS = ("cosine", "euclidean", "dotproduct")
PINECONE_DELETION_PROTECTION = ("enabled", "disabled")
PINECONE_MAX_DIMENSION = 20000
