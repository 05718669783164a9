"""The `byoc` stack: providers, variables and outputs, and the constructs of the documented
.tf layout wired together. Read top to bottom, this file is the dependency graph."""

from __future__ import annotations

from typing import Any

from cdktf import Fn, TerraformOutput, TerraformStack, TerraformVariable, TerraformVariableValidationConfig, Token
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from constructs_lib.alarms import Alarms, AlarmsProps, alarm_topic_name
from constructs_lib.alb_internal import InternalAlb, InternalAlbProps
from constructs_lib.autoscaling import CpuAutoscaling, CpuAutoscalingProps
from constructs_lib.catalog import MANAGED_BY_TAG, PROJECT_TAG, READERS_INPUT, SECRET_VERSION_INPUT
from constructs_lib.dns_private import PrivateDns, PrivateDnsProps
from constructs_lib.ecs_cluster import Cluster, ClusterProps
from constructs_lib.endpoints_secrets import SecretEndpoints, SecretEndpointsProps
from constructs_lib.flow_logs import VpcFlowLogs, VpcFlowLogsProps, flow_log_group_name
from constructs_lib.iam_ecs import EcsRoles, EcsRolesProps
from constructs_lib.kms import Encryption, EncryptionProps
from constructs_lib.logs import ServiceLogs, ServiceLogsProps, exec_log_group_name, service_log_group_name
from constructs_lib.network import Network, NetworkProps
from constructs_lib.pinecone_dns import PineconeDns, PineconeDnsProps
from constructs_lib.pinecone_trust import PineconeTrust, PineconeTrustProps
from constructs_lib.secrets import PineconeSecret, PineconeSecretProps
from constructs_lib.service import AppService, AppServiceProps
from constructs_lib.sg_app import ServiceSecurityGroup, ServiceSecurityGroupProps
from constructs_lib.task_definition import AppTaskDefinition, AppTaskDefinitionProps
from stacks import STACK_NAME, STATE_FILE
from stacks.backend import S3Backend, apply_backend
from stacks.inputs import INPUTS, pinecone_api_key_input
from stacks.pinecone import PineconeIndexes

#: Terraform >= 1.9: variable validations that refer to other variables (task_memory vs task_cpu);
#: >= 1.10: ephemeral variables (pinecone_api_key, never in state or a saved plan).
REQUIRED_TERRAFORM = ">= 1.10"


class ByocStack(TerraformStack):
    def __init__(self, scope: Construct, id: str = STACK_NAME, *, state_path: str = STATE_FILE,
                 backend: S3Backend | None = None, pinecone: PineconeIndexes | None = None) -> None:
        super().__init__(scope, id)
        self._logical_ids: dict[tuple[str, str], str] = {}
        # Relative to the stack folder (cdktf.out/stacks/byoc): the state lives beside the project,
        # outside cdktf.out, and the JSON names no absolute path of the machine that made it.
        apply_backend(self, backend, state_path)
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM)

        v = self.variables = {spec.name: _declare(self, spec) for spec in INPUTS}
        # The seed's pinecone_api_key: Terraform only (never a CLI input), accepted only with the provider.
        v["pinecone_api_key"] = _declare(self, pinecone_api_key_input(provider=pinecone is not None))
        app, region = v["app_name"].string_value, v["aws_region"].string_value

        AwsProvider(self, "aws", region=region,
                    default_tags=[AwsProviderDefaultTags(tags={PROJECT_TAG: app, MANAGED_BY_TAG[0]: MANAGED_BY_TAG[1]})])
        account_id = DataAwsCallerIdentity(self, "current").account_id
        partition = DataAwsPartition(self, "current_partition").partition

        network = Network(self, "network", NetworkProps(
            app_name=app, region=region, vpc_cidr=v["vpc_cidr"].string_value,
            public_subnet_cidrs=v["public_subnet_cidrs"].list_value,
            private_subnet_cidrs=v["private_subnet_cidrs"].list_value,
            pinecone_vpce_services=v["pinecone_vpce_services"].list_value,
            nat_mode=v["nat_mode"].string_value, endpoint_set=v["endpoint_set"].string_value,
            ecs_exec=v["ecs_exec"].boolean_value, pinecone_privatelink_region=v["pinecone_privatelink_region"].string_value,
            existing_vpc_id=v["existing_vpc_id"].string_value,
            existing_private_subnet_ids=v["existing_private_subnet_ids"].list_value,
            existing_vpc_endpoints=v["existing_vpc_endpoints"].value))
        PineconeDns(self, "pinecone_dns", PineconeDnsProps(app_name=app, network=network))
        # One CMK for the secret, the log groups, ECS Exec sessions and the alarm topic; its policy
        # lets CloudWatch Logs use it for exactly these three groups, and CloudWatch alarms for
        # exactly that topic.
        encryption = Encryption(self, "kms", EncryptionProps(
            app_name=app, region=region, account_id=account_id, partition=partition,
            log_group_names=(service_log_group_name(app), flow_log_group_name(app), exec_log_group_name(app)),
            alarm_topic_name=alarm_topic_name(app)))
        retention = v["log_retention_days"].number_value
        VpcFlowLogs(self, "flow_logs", VpcFlowLogsProps(
            app_name=app, region=region, account_id=account_id, partition=partition, vpc=network.vpc,
            enabled=v["vpc_flow_logs"].boolean_value, kms_key=encryption.key, retention_days=retention,
            depends_on=[encryption.policy]))
        endpoints = SecretEndpoints(self, "endpoints_secrets", SecretEndpointsProps(network=network))
        roles = EcsRoles(self, "iam_ecs", EcsRolesProps(app_name=app, region=region, account_id=account_id,
                                                        partition=partition))
        secret = PineconeSecret(self, "secrets", PineconeSecretProps(
            app_name=app, region=region, key=encryption.key, secretsmanager_endpoint_id=endpoints.secretsmanager_id,
            execution_role=roles.execution_role,
            reader_principal_arns=v[READERS_INPUT].list_value,
            recovery_window_days=v["secret_recovery_window_days"].number_value))
        # ECS injects `secrets` with the execution role; the app may also read with the task role.
        execution_grant = secret.grant_read(roles.execution_role, "execution_secret_read")
        secret.grant_read(roles.task_role, "task_secret_read")

        logs = ServiceLogs(self, "logs", ServiceLogsProps(app_name=app, retention_days=retention,
                                                          kms_key=encryption.key, depends_on=[encryption.policy]))
        cluster = Cluster(self, "ecs_cluster", ClusterProps(app_name=app, kms_key=encryption.key,
                                                            exec_log_group=logs.exec_group))
        # ECS Exec (opt-in): the Session Manager endpoint (network.py) and the task role's grant
        # follow ecs_exec; the cluster's exec configuration and its log group exist always (see
        # ecs_cluster.py).
        ecs_exec = v["ecs_exec"].boolean_value
        roles.grant_ecs_exec(enabled=ecs_exec, key=encryption.key, log_group=logs.exec_group)
        container_port = v["container_port"].number_value
        alb = InternalAlb(self, "alb_internal", InternalAlbProps(
            app_name=app, vpc=network.vpc, subnets=network.private_subnets, container_port=container_port,
            health_check_path=v["health_check_path"].string_value,
            deletion_protection=v["alb_deletion_protection"].boolean_value,
            access_logs_bucket=v["alb_access_logs_bucket"].string_value,
            load_balancer_type=v["load_balancer_type"].string_value,
            certificate_arn=v["certificate_arn"].string_value, tls_policy=v["tls_policy"].string_value))
        dns = PrivateDns(self, "dns_private", PrivateDnsProps(
            app_name=app, vpc=network.vpc, load_balancer=alb.load_balancer,
            name=v["private_dns_name"].string_value))
        service_sg = ServiceSecurityGroup(self, "sg_app", ServiceSecurityGroupProps(
            app_name=app, vpc=network.vpc, container_port=container_port,
            alb_security_group=alb.security_group))
        task = AppTaskDefinition(self, "task_definition", AppTaskDefinitionProps(
            app_name=app, region=region, image=v["container_image"].string_value, container_port=container_port,
            cpu=v["task_cpu"].number_value, memory=v["task_memory"].number_value,
            execution_role=roles.execution_role, task_role=roles.task_role, secret=secret, log_group=logs.group,
            read_only_root_filesystem=v["container_read_only_root_filesystem"].boolean_value,
            pinecone_environment=v["pinecone_environment"].string_value,
            secret_version_id=v[SECRET_VERSION_INPUT].string_value))
        # start_tasks = false (phase one, while the secret has no value): no task may start, neither
        # the service's own nor the autoscaler's; every one would stop with ResourceInitializationError.
        start_tasks = v["start_tasks"].boolean_value

        def if_started(count):
            return Token.as_number(Fn.conditional(start_tasks, count, 0))

        service = AppService(self, "service", AppServiceProps(
            app_name=app, cluster=cluster.cluster, task_definition=task.task_definition,
            container_name=task.container_name, container_port=container_port,
            desired_count=if_started(v["desired_count"].number_value), subnets=network.private_subnets,
            security_group=service_sg.security_group, target_group=alb.target_group,
            health_check_grace_period_seconds=v["health_check_grace_period_seconds"].number_value,
            enable_execute_command=ecs_exec, depends_on=[alb.listener, alb.tls_listener, execution_grant]))
        CpuAutoscaling(self, "autoscaling", CpuAutoscalingProps(
            cluster=cluster.cluster, service=service.service,
            min_capacity=if_started(v["autoscaling_min_capacity"].number_value),
            max_capacity=if_started(v["autoscaling_max_capacity"].number_value),
            cpu_target_percent=v["autoscaling_cpu_target"].number_value))
        # "cloudwatch_alarms": the id "alarms" is the variable's (construct ids are unique per scope).
        alarms = Alarms(self, "cloudwatch_alarms", AlarmsProps(
            app_name=app, enabled=v["alarms"].boolean_value, cpu_percent=v["alarm_cpu_percent"].number_value,
            load_balancer_type=v["load_balancer_type"].string_value,
            create_topic=v["alarm_create_sns_topic"].boolean_value,
            existing_topic_arn=v["alarm_sns_topic_arn"].string_value, kms_key=encryption.key,
            cluster=cluster.cluster, service=service.service, load_balancer=alb.load_balancer,
            target_group=alb.target_group))
        trust = PineconeTrust(self, "pinecone_trust", PineconeTrustProps(
            app_name=app, partition=partition, pinecone_account_id=v["pinecone_aws_account_id"].string_value,
            external_id=v["pinecone_external_id"].string_value))

        # https:// with a certificate (port 443), else http:// (port 80); the private name when set.
        scheme = Token.as_string(Fn.conditional(alb.tls, "https", "http"))
        host = Token.as_string(Fn.conditional(dns.enabled, v["private_dns_name"].string_value,
                                              alb.load_balancer.dns_name))
        service_url = f"{scheme}://{host}"
        outputs: dict[str, tuple[Any, str]] = {
            "byoc_secret_arn": (secret.secret.arn, "ARN of the Secrets Manager secret holding PINECONE_API_KEY (value set out of band)."),
            "byoc_secret_name": (secret.secret.name, "Name of the Secrets Manager secret."),
            "alb_dns_name": (alb.load_balancer.dns_name,
                             "DNS name of the internal load balancer, ALB or NLB (reachable from inside the VPC)."),
            "service_url": (service_url, "URL of the service from inside the VPC: https:// with certificate_arn, "
                                         "the private_dns_name when set, else the load balancer's DNS name."),
            "private_dns_zone_id": (f"${{one({dns.zone.fqn}[*].zone_id)}}",
                                    "ID of the private hosted zone of private_dns_name, or null when not set."),
            "ecs_task_role_arn": (roles.task_role.arn, "ARN of the ECS task role (the application's own AWS calls)."),
            "ecs_execution_role_arn": (roles.execution_role.arn, "ARN of the ECS execution role (injects the secret at task start)."),
            "vpc_id": (network.vpc.id, "ID of the VPC (the stack's own, or existing_vpc_id)."),
            "private_subnet_ids": ([s.id for s in network.private_subnets], "IDs of the private subnets the service runs in."),
            "secretsmanager_vpce_id": (endpoints.secretsmanager_id, "ID of the Secrets Manager interface endpoint reads must "
                                                                    "come through (the stack's own, or the existing VPC's)."),
            "kms_key_arn": (encryption.key.arn, "ARN of the customer-managed KMS key encrypting the secret."),
            "ecs_cluster_name": (cluster.cluster.name, "Name of the ECS cluster."),
            "ecs_service_name": (service.service.name, "Name of the ECS service."),
            "ecs_task_definition_arn": (task.task_definition.arn,
                                        "ARN of the task definition revision Terraform registered last: what the "
                                        "service should run (ECS's circuit breaker may have rolled it back)."),
            "pinecone_byoc_role_arn": (f"${{one({trust.role.fqn}[*].arn)}}",
                                       "ARN of the Pinecone BYOC trust role, or null when not enabled."),
            "alarm_topic_arn": (alarms.topic_arn, "ARN of the SNS topic the alarms notify (created or existing), "
                                                  "or null when they notify none."),
        }
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description)

        if pinecone is not None:  # byoc.toml [pinecone]: a synth-time switch (see stacks/pinecone.py)
            from constructs_lib.pinecone_indexes import PineconeIndexesConstruct, PineconeIndexesProps
            PineconeIndexesConstruct(self, "pinecone_indexes", PineconeIndexesProps(
                indexes=pinecone.indexes, region=region, api_key=v["pinecone_api_key"].string_value))

    def _allocate_logical_id(self, element: Any) -> str:
        """Addresses people can read: a resource's address is its construct id (``aws_vpc.main``,
        ``aws_subnet.private_0``) instead of cdktf's path-and-hash default. Addresses are a user
        API (plans, ``terraform state mv``, imports), so a clash is a synth error, never a rename."""
        logical_id = element.node.id
        kind = getattr(element, "terraform_resource_type", None) or type(element).__name__
        path = element.node.path
        previous = self._logical_ids.setdefault((kind, logical_id), path)
        if previous != path:
            raise ValueError(f"two {kind} elements want the address {logical_id!r}: {previous} and {path}")
        return logical_id


def _declare(stack: TerraformStack, spec) -> TerraformVariable:
    variable = TerraformVariable(
        stack, spec.name, type=spec.tf_type, description=spec.description,
        default=None if spec.required else spec.default, nullable=False, sensitive=spec.sensitive or None,
        validation=[TerraformVariableValidationConfig(condition=f"${{{hcl}}}", error_message=message)
                    for hcl, _ok, message in spec.checks])
    if spec.ephemeral:  # cdktf 0.21 has no ephemeral argument yet
        variable.add_override("ephemeral", True)
    return variable
