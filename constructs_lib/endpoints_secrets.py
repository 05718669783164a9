"""endpoints_secrets.tf: the interface endpoints on the secret's path, Secrets Manager and KMS.

They are created through ``Network.add_interface_endpoint`` so that each service exists once
per VPC: the documented layout lists KMS both here and in network.tf, and a second private-DNS
endpoint for one service fails in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import Op
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from constructs_lib.conditions import count_if
from constructs_lib.network import Network


@dataclass(frozen=True)
class SecretEndpointsProps:
    network: Network
    #: The ``ecs_exec`` variable (a bool token): ECS Exec sessions are KMS-encrypted by the task.
    ecs_exec: bool = False


class SecretEndpoints(Construct):
    """Handles: ``secretsmanager`` and ``kms`` (aws_vpc_endpoint)."""

    def __init__(self, scope: Construct, id: str, props: SecretEndpointsProps) -> None:
        super().__init__(scope, id)
        # ECS (platform 1.4.0+) fetches secrets from the task's own ENI, so with private DNS on
        # this endpoint the fetch never leaves the VPC, and the secret policy can demand it.
        self.secretsmanager: VpcEndpoint = props.network.add_interface_endpoint("secretsmanager", scope=self)
        # In the full endpoint set, and with ECS Exec: otherwise tasks never call KMS themselves
        # (Secrets Manager decrypts the secret), so the minimal set does without it. An ECS Exec
        # session, though, is encrypted with the stack's key by the task's agent, which must reach
        # KMS (with nat_mode = none only this endpoint leads there). Counted: refer to it as kms[0].
        self.kms: VpcEndpoint = props.network.add_interface_endpoint(
            "kms", scope=self, count=count_if(Op.or_(Op.eq(props.network.endpoint_set, "full"), props.ecs_exec)))
