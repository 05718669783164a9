"""endpoints_secrets.tf: the interface endpoints on the secret's path, Secrets Manager and KMS.

Which exist, and when, is the catalogue's (``constructs_lib/catalog.py``: the endpoints it lists
for ``endpoints_secrets``). They are created through ``Network.add_interface_endpoint`` so that
each service exists once per VPC: the documented layout lists KMS both here and in network.tf,
and a second private-DNS endpoint for one service fails in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from constructs import Construct

from constructs_lib import catalog
from constructs_lib.network import Network


@dataclass(frozen=True)
class SecretEndpointsProps:
    network: Network


class SecretEndpoints(Construct):
    """Handles: ``secretsmanager`` and ``kms`` (aws_vpc_endpoint, counted), ``secretsmanager_id``."""

    def __init__(self, scope: Construct, id: str, props: SecretEndpointsProps) -> None:
        super().__init__(scope, id)
        network = props.network
        for endpoint in catalog.INTERFACE_ENDPOINTS:
            if endpoint.module == "endpoints_secrets":
                network.add_interface_endpoint(endpoint.service, scope=self,
                                               count=network.presence_count(endpoint.present, endpoint.service))
        # ECS (platform 1.4.0+) fetches secrets from the task's own ENI, so with private DNS on
        # this endpoint the fetch never leaves the VPC, and the secret policy can demand it.
        #: Counted (0 when the existing VPC's own is reused): refer to it as secretsmanager[0].
        self.secretsmanager: VpcEndpoint = network.interface_endpoints["secretsmanager"]
        #: The endpoint reads must come through: the stack's own, or the existing VPC's reused one.
        self.secretsmanager_id: str = network.endpoint_id("secretsmanager")
        #: Counted (endpoint_set = full, or ecs_exec; not when reused): refer to it as kms[0].
        self.kms: VpcEndpoint = network.interface_endpoints["kms"]
