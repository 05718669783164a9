"""The embedded AWS emulator: a moto server on 127.0.0.1 with the gaps this stack hits filled.

moto stands in for AWS in ``byoc demo``, ``byoc emulator`` and the tests. These gaps of moto 5.2
matter for this stack; each is filled here, in the emulator, so the generated Terraform carries
no test-only settings:

1. IAM's AWS-managed policies are not loaded by default, so attaching
   ``AmazonECSTaskExecutionRolePolicy`` fails with NoSuchEntity -> ``MOTO_IAM_LOAD_MANAGED_POLICIES``.
2. Application Auto Scaling has no ``ListTagsForResource``/``TagResource``/``UntagResource``
   (HTTP 500, and the provider retries ``aws_appautoscaling_target`` forever) -> implemented
   with a per-ARN tag store.
3. ECS services do not keep ``availabilityZoneRebalancing`` (nor, in 5.2.5,
   ``healthCheckGracePeriodSeconds``, ``enableECSManagedTags`` and ``enableExecuteCommand``), so
   every plan after apply shows a diff -> the values sent at create time are stored and returned
   (UpdateService already stores what it is sent).
4. moto runs no containers, so a service would show 0 of N tasks running forever -> a service
   reports its desired count as running (tasks "start" at once), so a healthy stack looks healthy
   to ``byoc doctor``.
5. (found here, 5.2.5) A security group rule that references another group loses its
   description, so every plan shows a diff -> the description is read from the group pair too.
6. (found here, 5.2.5) ``DeleteLoadBalancer`` ignores the load balancer's deletion protection,
   so a destroy that would fail in AWS passes against moto -> it is refused with AWS's
   ``OperationNotPermitted``, so the tests prove that every destroy path turns protection off first.
7. S3 bucket policies are evaluated without their conditions, so the state bucket's
   "deny unless HTTPS" statement denies every request -> statements with a Condition are left
   out of moto's evaluation (it cannot evaluate them; the real S3 does).
8. (found here, 5.2.5) ``CreateHostedZone`` with a VPC makes a *public* zone unless
   ``HostedZoneConfig.PrivateZone`` is also sent; AWS makes it private (the VPC is what makes a
   zone private, and the AWS provider sends only the VPC). The next plan then tries to associate
   the VPC again and fails (PublicZoneVPCAssociation) -> a VPC in the request makes the zone private.

moto stores resource policies but does not enforce them: whether a policy denies is checked on
the document (``cli.policy``), never by calling AWS and expecting AccessDenied.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

HOST = "127.0.0.1"

#: Credentials the emulator accepts; obviously fake, never real keys.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_patched = False
#: Application Auto Scaling tags by resource ARN (gap 2), emptied with the emulator's reset.
_TAGS: dict[str, dict[str, str]] = {}


def _fill_gaps() -> None:
    global _patched
    if _patched:
        return
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # read when the IAM backend is created

    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
    from moto.ec2.models.security_groups import SecurityGroupRule
    from moto.ecs.responses import EC2ContainerServiceResponse
    from moto.s3.models import FakeBucket

    tags = _TAGS

    def list_tags_for_resource(self) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def tag_resource(self) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self) -> str:
        for key in self._get_param("TagKeys") or []:
            tags.get(self._get_param("ResourceARN"), {}).pop(key, None)
        return "{}"

    original_register = ApplicationAutoScalingResponse.register_scalable_target

    def register_scalable_target(self) -> str:
        body = original_register(self)
        if self._get_param("Tags"):
            tags.setdefault(json.loads(body)["ScalableTargetARN"], {}).update(self._get_param("Tags"))
        return body

    ApplicationAutoScalingResponse.list_tags_for_resource = list_tags_for_resource
    ApplicationAutoScalingResponse.tag_resource = tag_resource
    ApplicationAutoScalingResponse.untag_resource = untag_resource
    ApplicationAutoScalingResponse.register_scalable_target = register_scalable_target

    original_create_service = EC2ContainerServiceResponse.create_service

    def create_service(self):
        result = original_create_service(self)
        service = result.result["service"]
        service.availability_zone_rebalancing = self._get_param("availabilityZoneRebalancing") or "DISABLED"
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags"))
        service.enable_execute_command = bool(self._get_param("enableExecuteCommand"))
        service.running_count, service.pending_count = service.desired_count, 0
        return result

    EC2ContainerServiceResponse.create_service = create_service

    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend

    original_delete_load_balancer = ELBv2Backend.delete_load_balancer

    def delete_load_balancer(self, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise ELBClientError("OperationNotPermitted", f"Load balancer '{arn}' cannot be deleted because "
                                                          "deletion protection is enabled")
        original_delete_load_balancer(self, arn)

    ELBv2Backend.delete_load_balancer = delete_load_balancer

    def bucket_permission(bucket, action: str, resource: str):
        from moto.iam.access_control import IAMPolicy, PermissionResult

        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(bucket.policy)
        doc["Statement"] = [st for st in doc.get("Statement", []) if not st.get("Condition")]
        return IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource)

    FakeBucket.get_permission = bucket_permission

    from moto.route53.responses import Route53

    original_create_hosted_zone = Route53.create_hosted_zone

    def create_hosted_zone(self):
        if self._get_param("VPC.VPCId") is None or self._get_param("HostedZoneConfig.PrivateZone") is not None:
            return original_create_hosted_zone(self)
        read_bool = self._get_bool_param
        self._get_bool_param = lambda name, if_none=None: (
            True if name == "HostedZoneConfig.PrivateZone" else read_bool(name, if_none))
        try:
            return original_create_hosted_zone(self)
        finally:
            del self._get_bool_param

    Route53.create_hosted_zone = create_hosted_zone

    SecurityGroupRule.description = property(
        lambda rule: rule.ip_range.get("Description") or rule.source_group.get("Description"))
    _patched = True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Emulator:
    endpoint_url: str

    def env(self, region: str = "us-east-1") -> dict[str, str]:
        """Environment for terraform/boto3 to talk to this emulator."""
        return {**EMULATOR_ENV, "AWS_ENDPOINT_URL": self.endpoint_url, "AWS_REGION": region,
                "AWS_DEFAULT_REGION": region}


@contextmanager
def running(port: int | None = None) -> Iterator[Emulator]:
    """Start a moto server on 127.0.0.1 (a free port unless given); stop it on exit."""
    _fill_gaps()
    from moto.server import ThreadedMotoServer

    # The server logs every request through werkzeug; byoc's output is about the stack, not HTTP.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = port or free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    # moto keeps its accounts in process-global backends, so a second emulator in the same process
    # would see the first one's resources: every emulator starts as an empty AWS.
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://{HOST}:{port}/moto-api/reset", method="POST"),
                           timeout=30).close()
    _TAGS.clear()
    try:
        yield Emulator(f"http://{HOST}:{port}")
    finally:
        server.stop()


@contextmanager
def spawned(port: int | None = None, timeout: float = 60) -> Iterator[Emulator]:
    """The same emulator in a process of its own (``byoc emulator``), stopped on exit.

    moto keeps its state process-global, so an emulator that must outlive others started in this
    process (a deployment shared by several test modules) lives in its own process; its moto work
    then also runs beside this process rather than under its GIL.
    """
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "emulator", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    timer = threading.Timer(timeout, proc.kill)  # a server that never says it is up is stopped
    timer.start()
    first = proc.stdout.readline()
    timer.cancel()
    if "listening on" not in first:
        proc.kill()
        rest = proc.communicate()[0]
        raise RuntimeError(f"the emulator did not start: {(first + rest).strip()[-2000:]}")
    # Keep reading what it prints, so that a full pipe can never block it.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    try:
        yield Emulator(f"http://{HOST}:{port}")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
