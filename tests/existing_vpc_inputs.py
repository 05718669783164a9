"""The inputs of an existing-VPC deployment, shared by the stack's tests of them
(tests/stack/test_existing_vpc_stack.py) and the deployments into existing VPCs
(tests/observers/test_existing_vpc.py)."""

from __future__ import annotations

from stacks.inputs import defaults

IMAGE = "public.ecr.aws/nginx/nginx:1.27"
VPC_ID, SUBNET_A, SUBNET_B = "vpc-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60718", "subnet-0a1b2c3d4e5f60719"
SM_VPCE, S3_VPCE = "vpce-0a1b2c3d4e5f60718", "vpce-0a1b2c3d4e5f60719"
#: The resource types of a VPC of its own: none of them in an existing VPC.
OWN_NETWORK = {"aws_vpc", "aws_subnet", "aws_internet_gateway", "aws_eip", "aws_nat_gateway", "aws_route_table",
               "aws_route", "aws_route_table_association", "aws_default_security_group"}


def inputs(**overrides) -> dict:
    return {**defaults(), "container_image": IMAGE, **overrides}


def existing(**overrides) -> dict:
    return inputs(existing_vpc_id=VPC_ID, existing_private_subnet_ids=[SUBNET_A, SUBNET_B], **overrides)
