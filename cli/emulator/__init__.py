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
4. moto runs no containers, so a service never has a task and a deployment's outcome cannot be
   seen -> ``cli/emulator_tasks.py`` models what ECS does with a service's tasks: deployments,
   task starts that resolve the container's ``secrets`` as ECS does (stopping with AWS's own
   ``stoppedReason`` when the secret has no current value or the JSON key is missing), running
   tasks registered as healthy targets, a log line per started container, the circuit breaker.
   It never evaluates IAM (moto cannot); a fault switch (``Emulator.set_faults``,
   ``POST /byoc-emulator/faults``) makes task starts fail the ways AWS would for what it cannot
   model: the secret read denied, the image missing, health checks failing, the app exiting.
   moto's ``ListTasks`` ignores ``serviceName``; the filter is applied here.
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
9. (found here, 5.2.5) ``UpdateSecretVersionStage`` moves the AWSCURRENT label but not the version
   ``GetSecretValue`` returns by default, so ``byoc secret rollback`` looked like a no-op to the
   app -> the default version follows AWSCURRENT.
10. AWS's own policy evaluators are not in moto: IAM's ``SimulatePrincipalPolicy`` /
   ``SimulateCustomPolicy`` answer with a body botocore cannot parse, and IAM Access Analyzer has
   no backend at all (the server prints a traceback and answers 500, retried four times) -> the
   emulator answers both the way AWS answers an operation it does not offer: HTTP 501
   ``NotImplemented``, at once. byoc then says "not checked by AWS's evaluator" (a WARN), as it
   would against any endpoint without them; the emulator never makes up a verdict.

moto stores resource policies but does not enforce them: whether a policy denies is checked on
the document (``cli.policy``), never by calling AWS and expecting AccessDenied.

The emulator's own endpoint, beside AWS's: ``/byoc-emulator/faults`` (GET the faults, POST a
JSON object to switch some on or off, DELETE to clear them all).
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

from cli.emulator import ecs_tasks as emulator_tasks

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
        emulator_tasks.on_create(self.ecs_backend, service, self._get_param("deploymentConfiguration"))  # gap 4
        return result

    EC2ContainerServiceResponse.create_service = create_service

    # Gap 4: the task model sees every change to a service and runs before every read.
    original_update_service = EC2ContainerServiceResponse.update_service

    def update_service(self):
        before = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
        task_definition = before.task_definition
        result = original_update_service(self)
        service = result.result["service"]
        emulator_tasks.on_update(self.ecs_backend, service, deployment_configuration=None,
                                 new_deployment=bool(self._get_param("forceNewDeployment"))
                                 or service.task_definition != task_definition)
        return result

    EC2ContainerServiceResponse.update_service = update_service
    original_delete_service = EC2ContainerServiceResponse.delete_service

    def delete_service(self):
        result = original_delete_service(self)
        emulator_tasks.on_delete(self.ecs_backend, result.result["service"])
        return result

    EC2ContainerServiceResponse.delete_service = delete_service

    def ticking(handler):
        def read(self):
            emulator_tasks.tick(self.ecs_backend)
            return handler(self)
        return read

    for name in ("describe_services", "list_tasks", "describe_tasks"):
        setattr(EC2ContainerServiceResponse, name, ticking(getattr(EC2ContainerServiceResponse, name)))

    from moto.ecs.models import EC2ContainerServiceBackend, Task

    original_list_tasks = EC2ContainerServiceBackend.list_tasks

    def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                   service_name=None, desiredStatus=None):
        found = original_list_tasks(self, cluster_str, container_instance, family, started_by, service_name,
                                    desiredStatus)
        if service_name:
            name = service_name.rsplit("/", 1)[-1]
            found = [t for t in found if t.group == f"service:{name}"]
        return found

    EC2ContainerServiceBackend.list_tasks = list_tasks
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    original_eni_init = NetworkInterface.__init__

    def eni_init(self, *args, **kwargs):  # moto's Task reads private_dns_name, which moto sets only sometimes
        original_eni_init(self, *args, **kwargs)
        if not hasattr(self, "private_dns_name"):
            self.private_dns_name = f"ip-{self.private_ip_address.replace('.', '-')}.ec2.internal"

    NetworkInterface.__init__ = eni_init
    original_advance = Task.advance
    Task.advance = lambda self: None if hasattr(self, "_byoc_service") else original_advance(self)

    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeTargetGroup
    from moto.elbv2.responses import ELBV2Response

    original_health_for = FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):  # gap 4: the task model's target states
        state = emulator_tasks.target_health(self, target["Id"])
        if state is None or target["Id"] not in self.targets:
            return original_health_for(self, target, ec2_backend)
        return FakeHealthStatus(target["Id"], self.targets[target["Id"]]["Port"], self.health_check_port, *state)

    FakeTargetGroup.health_for = health_for
    original_describe_target_health = ELBV2Response.describe_target_health

    def describe_target_health(self):
        from moto.ecs.models import ecs_backends

        emulator_tasks.tick(ecs_backends[self.current_account][self.region])
        return original_describe_target_health(self)

    ELBV2Response.describe_target_health = describe_target_health

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

    from moto.secretsmanager.models import SecretsManagerBackend

    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:  # gap 9
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result

    SecretsManagerBackend.update_secret_version_stage = update_secret_version_stage

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

    def set_faults(self, **faults: str | None) -> dict[str, str]:
        """Switch the task model's faults on or off (``secret_access="denied_by_new_policy"``,
        ``health=None``); see ``cli.emulator_tasks.FAULTS``. Returns the faults now on."""
        import urllib.request

        request = urllib.request.Request(self.endpoint_url + FAULTS_PATH, data=json.dumps(faults).encode(),
                                         method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["faults"]


FAULTS_PATH = "/byoc-emulator/faults"


#: Operations of AWS's policy evaluators that the emulator refuses as not implemented (gap 10).
_EVALUATOR_ACTIONS = (b"Action=SimulatePrincipalPolicy", b"Action=SimulateCustomPolicy")


def _signed_for(environ, service: str) -> bool:
    """Whether a request is signed for ``service`` (SigV4 credential scope .../<service>/aws4_request)."""
    return f"/{service}/aws4_request" in environ.get("HTTP_AUTHORIZATION", "")


def _not_implemented(environ, start_response):
    """AWS's answer to an operation it does not offer (gap 10), or None to let moto answer."""
    import io

    if _signed_for(environ, "access-analyzer"):
        data = json.dumps({"message": "IAM Access Analyzer is not implemented by this emulator"}).encode()
        start_response("501 Not Implemented", [("Content-Type", "application/json"),
                                               ("x-amzn-ErrorType", "NotImplemented"),
                                               ("Content-Length", str(len(data)))])
        return [data]
    if _signed_for(environ, "iam") and environ.get("REQUEST_METHOD") == "POST":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # moto reads it again
        if any(action in body for action in _EVALUATOR_ACTIONS):
            data = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                    b"<Code>NotImplemented</Code><Message>IAM's policy simulator is not implemented by this "
                    b"emulator</Message></Error><RequestId>byoc-emulator</RequestId></ErrorResponse>")
            start_response("501 Not Implemented", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
            return [data]
    return None


def _with_byoc_routes(app):
    """The moto app, plus the emulator's own endpoint (the fault switch of the task model) and the
    refusal of the policy evaluators moto does not have (gap 10)."""
    def wsgi(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(FAULTS_PATH):
            refused = _not_implemented(environ, start_response)
            return refused if refused is not None else app(environ, start_response)
        try:
            method = environ.get("REQUEST_METHOD", "GET")
            if method == "POST":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                found, status = emulator_tasks.set_faults(json.loads(body or b"{}")), "200 OK"
            elif method == "DELETE":
                found, status = emulator_tasks.set_faults(dict.fromkeys(emulator_tasks.FAULTS)), "200 OK"
            else:
                found, status = emulator_tasks.faults(), "200 OK"
            payload = {"faults": found}
        except (ValueError, TypeError, AttributeError) as exc:
            payload, status = {"error": str(exc)}, "400 Bad Request"
        data = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
    return wsgi


def _serve_without_signals(server) -> None:
    """Serve with SIGINT and SIGTERM blocked in this thread (and the request threads it starts,
    which inherit its mask): the kernel may deliver a process signal to any thread that does not
    block it, and Python acts on it only in the main thread, so a Ctrl-C taken by a serving
    thread would leave ``byoc emulator``'s main thread asleep."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    server.serve_forever()


@contextmanager
def running(port: int | None = None) -> Iterator[Emulator]:
    """Start a moto server on 127.0.0.1 (a free port unless given); stop it on exit."""
    _fill_gaps()
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    # The server logs every request through werkzeug; byoc's output is about the stack, not HTTP.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = port or free_port()
    server = make_server(HOST, port, _with_byoc_routes(DomainDispatcherApplication(create_backend_app)), True,
                         request_handler=MotoRequestHandler)
    thread = threading.Thread(target=_serve_without_signals, args=(server,), daemon=True)
    thread.start()
    # moto keeps its accounts in process-global backends, so a second emulator in the same process
    # would see the first one's resources: every emulator starts as an empty AWS.
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"http://{HOST}:{port}/moto-api/reset", method="POST"),
                           timeout=30).close()
    _TAGS.clear()
    emulator_tasks.reset()
    try:
        yield Emulator(f"http://{HOST}:{port}")
    finally:
        # Bounded: shutdown() waits for the serving loop, and a stop (Ctrl-C, SIGTERM) must never
        # hang on a request still being answered; the serving threads are daemons.
        threading.Thread(target=server.shutdown, daemon=True).start()
        thread.join(timeout=10)


@contextmanager
def spawned(port: int | None = None, timeout: float = 60, env: dict[str, str] | None = None) -> Iterator[Emulator]:
    """The same emulator in a process of its own (``byoc emulator``), stopped on exit.

    moto keeps its state process-global, so an emulator that must outlive others started in this
    process (a deployment shared by several test modules) lives in its own process; its moto work
    then also runs beside this process rather than under its GIL.
    """
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "emulator", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})})
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
