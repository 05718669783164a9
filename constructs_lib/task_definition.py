"""task_definition.tf: the Fargate task definition; PINECONE_API_KEY is injected at start.

The container gets the key through ECS ``secrets`` (fetched by the execution role at task
start), never as a plain environment value, so no Terraform attribute ever holds it. The
``secret_version_id`` input pins which version of the secret it reads (``byoc secret put`` and
``rollback`` set it; empty: AWSCURRENT), so a new key is a new revision, and ECS's circuit
breaker, rolling a failed deployment back to the previous revision, goes back to the previous
key as well (``catalog.value_from``).

Old revisions stay registered (``skip_destroy``): a revision Terraform replaces would otherwise
be deregistered, and the ECS API reference (DeregisterTaskDefinition) says an existing service
cannot be updated to reference an INACTIVE revision — the revision a rollback returns to, by ECS
or by hand (`aws ecs update-service --task-definition <family>:<n>`), must stay ACTIVE.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Fn, TerraformLocal, Token
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from constructs import Construct

from constructs_lib.catalog import LOG_STREAM_PREFIX, SECRET_JSON_KEY
from constructs_lib.secrets import PineconeSecret


@dataclass(frozen=True)
class AppTaskDefinitionProps:
    app_name: str
    region: str
    image: str
    container_port: int | float
    cpu: int | float
    memory: int | float
    execution_role: IamRole
    task_role: IamRole
    secret: PineconeSecret
    log_group: CloudwatchLogGroup
    #: The ``container_read_only_root_filesystem`` variable (a bool token).
    read_only_root_filesystem: bool
    #: The ``pinecone_environment`` variable: the container's PINECONE_ENVIRONMENT, or "" (not set).
    pinecone_environment: str = ""
    #: The ``secret_version_id`` variable: the secret version the container reads ("" = AWSCURRENT).
    secret_version_id: str = ""


#: The container's plain environment variable for ``pinecone_environment``.
PINECONE_ENVIRONMENT_VAR = "PINECONE_ENVIRONMENT"

#: The one writable path when the root filesystem is read-only: task-local scratch space (a
#: Fargate bind mount on the task's ephemeral storage, gone when the task stops).
SCRATCH_VOLUME, SCRATCH_PATH = "tmp", "/tmp"


class AppTaskDefinition(Construct):
    """Handles: ``task_definition`` (aws_ecs_task_definition.app), ``container_name``."""

    def __init__(self, scope: Construct, id: str, props: AppTaskDefinitionProps) -> None:
        super().__init__(scope, id)
        self.container_name = props.app_name
        container = {
            "name": props.app_name,
            "image": props.image,
            "essential": True,
            "portMappings": [{"containerPort": props.container_port, "protocol": "tcp"}],
            # An intruder cannot change the image's files; the app writes to /tmp only.
            "readonlyRootFilesystem": props.read_only_root_filesystem,
            "mountPoints": [{"sourceVolume": SCRATCH_VOLUME, "containerPath": SCRATCH_PATH, "readOnly": False}],
            # valueFrom = "<secret arn>:PINECONE_API_KEY::<version id>" (JSON key; the pinned
            # version, or AWSCURRENT when the id is empty).
            "secrets": [{"name": SECRET_JSON_KEY,
                         "valueFrom": props.secret.value_from(SECRET_JSON_KEY, props.secret_version_id)}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": props.log_group.name,
                    "awslogs-region": props.region,
                    "awslogs-stream-prefix": LOG_STREAM_PREFIX,
                },
            },
        }
        self.task_definition = EcsTaskDefinition(
            self, "app", family=props.app_name, requires_compatibilities=["FARGATE"], network_mode="awsvpc",
            cpu=Fn.tostring(props.cpu), memory=Fn.tostring(props.memory),
            execution_role_arn=props.execution_role.arn, task_role_arn=props.task_role.arn,
            runtime_platform=EcsTaskDefinitionRuntimePlatform(operating_system_family="LINUX", cpu_architecture="X86_64"),
            container_definitions=Fn.jsonencode([self._with_environment(container, props.pinecone_environment)]),
            volume=[EcsTaskDefinitionVolume(name=SCRATCH_VOLUME)],
            # The previous revision is what a rollback returns to: it stays ACTIVE (module docstring).
            skip_destroy=True,
            tags={"Name": f"{props.app_name}-task"})

    def _with_environment(self, container: dict, pinecone_environment: str):
        """``container`` plus ``environment = [PINECONE_ENVIRONMENT]`` when the variable is set; with
        it empty the container definition is exactly what it was without the variable (so an
        existing task definition does not change). A plain value, not a secret: it names a
        Pinecone environment, it grants nothing.

        A ``for`` over a one-key object and not ``cond ? {...} : {}``: Terraform refuses a
        conditional whose two objects have different attributes (two lists of one element type
        it takes)."""
        if not pinecone_environment:
            return container
        env = pinecone_environment
        entries = f'({env} == "" ? [] : [{{name = "{PINECONE_ENVIRONMENT_VAR}", value = {env}}}])'
        optional = "{for k, v in {environment = " + entries + "} : k => v if length(v) > 0}"
        # A local: cdktf writes a for expression out only as a whole value.
        return Fn.merge([container, TerraformLocal(self, "container_environment", Token.as_any("${" + optional + "}")).expression])
