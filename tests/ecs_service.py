"""One ECS service on an emulator, built with boto3 the way the stack builds it: a Fargate
service whose container reads PINECONE_API_KEY from a secret (no value yet), behind a target
group, in a VPC with the Secrets Manager endpoint and no NAT; a cluster, secret, role and group
of its own. For the emulator's task-model tests and the rollout watch's, which need no terraform.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Iterator

from tfrun import aws

KEY = "PINECONE_API_KEY"


@contextmanager
def ecs_service_on(aws_env: dict[str, str], name: str) -> Iterator["object"]:
    """The service's parts, created under the suffix of ``name``; the service (once created)
    is deleted on exit: a service left running would go on starting tasks on every later read of
    the emulator (the model advances every service) and take a switch meant for another test."""
    n = str(abs(hash(name)) % 10**8)
    ec2, ecs, sm, elbv2, logs, iam = (aws(aws_env, s) for s in ("ec2", "ecs", "secretsmanager", "elbv2", "logs", "iam"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="svc", Description="svc", VpcId=vpc)["GroupId"]
    # The task's private path to Secrets Manager, as the stack builds it (no NAT in this VPC).
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.secretsmanager",
                                       VpcEndpointType="Interface", SubnetIds=[subnet], SecurityGroupIds=[group],
                                       PrivateDnsEnabled=True)["VpcEndpoint"]["VpcEndpointId"]
    target_group = elbv2.create_target_group(Name=f"app-{n}", Protocol="HTTP", Port=80, VpcId=vpc,
                                             TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    arn = sm.create_secret(Name=f"app-{n}/{KEY}")["ARN"]
    # The execution role, granted the read as the stack grants it (PineconeSecret.grant_read).
    role = iam.create_role(RoleName=f"app-{n}-execution-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=f"app-{n}-execution-role",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
    iam.put_role_policy(RoleName=f"app-{n}-execution-role", PolicyName="read-secret", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                                                "Resource": arn}]}))
    logs.create_log_group(logGroupName=f"/ecs/app-{n}")
    cluster = ecs.create_cluster(clusterName=f"c-{n}")["cluster"]["clusterName"]
    definition = ecs.register_task_definition(
        family=f"app-{n}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
        executionRoleArn=role,
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                               "secrets": [{"name": KEY, "valueFrom": f"{arn}:{KEY}::"}],
                               "logConfiguration": {"logDriver": "awslogs", "options": {
                                   "awslogs-group": f"/ecs/app-{n}", "awslogs-region": "us-east-1",
                                   "awslogs-stream-prefix": "app"}}}])["taskDefinition"]["taskDefinitionArn"]

    class Service:
        def __init__(self):
            self.secret_arn, self.ecs, self.sm, self.elbv2, self.logs = arn, ecs, sm, elbv2, logs
            self.target_group, self.env, self.log_group = target_group, aws_env, f"/ecs/app-{n}"
            self.cluster, self.role, self.endpoint, self.ec2, self.iam = cluster, role, endpoint, ec2, iam

        def create(self, desired: int = 1) -> None:
            ecs.create_service(cluster=cluster, serviceName="app", taskDefinition=definition, desiredCount=desired,
                               launchType="FARGATE", loadBalancers=[{"targetGroupArn": target_group,
                                                                     "containerName": "app", "containerPort": 8080}],
                               networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet],
                                                                             "securityGroups": [group]}},
                               deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                                        "maximumPercent": 200, "minimumHealthyPercent": 100})

        def describe(self) -> dict:
            return ecs.describe_services(cluster=cluster, services=["app"])["services"][0]

        def tasks(self, status: str) -> list[dict]:
            arns = ecs.list_tasks(cluster=cluster, serviceName="app", desiredStatus=status)["taskArns"]
            return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []

        def health(self) -> list[str]:
            return [t["TargetHealth"]["State"] for t in
                    elbv2.describe_target_health(TargetGroupArn=target_group)["TargetHealthDescriptions"]]

        def until(self, check, seconds: float = 10):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                found = check()
                if found:
                    return found
                time.sleep(0.1)
            reasons = sorted({t.get("stoppedReason") for t in self.tasks("STOPPED")})
            raise AssertionError(f"not reached in {seconds}s: {self.describe()['deployments']}; stopped: {reasons}")

        def put(self, value: str) -> str:
            return sm.put_secret_value(SecretId=arn, SecretString=value)["VersionId"]

        def revision(self, version_id: str = "") -> str:
            """A revision of the task definition whose container reads KEY from ``version_id``
            (empty: AWSCURRENT), as the stack's secret_version_id pins it."""
            return ecs.register_task_definition(
                family=f"app-{n}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
                memory="512", executionRoleArn=role,
                containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27",
                                       "secrets": [{"name": KEY, "valueFrom": f"{arn}:{KEY}::{version_id}"}]}],
            )["taskDefinition"]["taskDefinitionArn"]

        def deploy(self, task_definition: str) -> str:
            """UpdateService onto ``task_definition``; the new deployment's id, from its answer."""
            return ecs.update_service(cluster=cluster, service="app", taskDefinition=task_definition)[
                "service"]["deployments"][0]["id"]

    try:
        yield Service()
    finally:
        if ecs.list_services(cluster=cluster)["serviceArns"]:
            ecs.delete_service(cluster=cluster, service="app", force=True)
