"""The load balancer options of issue 7: TLS inside the VPC (``certificate_arn``, ``tls_policy``),
an NLB instead of the ALB (``load_balancer_type``) and a private DNS name (``private_dns_name``).

Two views:
- the session's synthesized JSON (``stack_json``): every switch is a Terraform variable, so one
  JSON serves every option value;
- one deployment with plain terraform against a moto server on 127.0.0.1, driven through three
  option sets by ``-var`` alone: ALB + certificate + private name; then the same switched to an NLB
  (the load balancer and target group are replaced); then the NLB without the certificate. After
  each apply, AWS's answers are recorded with boto3 and a plan must show no changes. (The
  default, plain-HTTP ALB is applied and re-planned by tests/stack/test_security_scan.py.)
"""

from __future__ import annotations

import datetime
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stacks import STACK_NAME
from stacks.inputs import validate
from tfrun import aws, terraform

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"
APP = "byoc-agents"
DNS_NAME = "api.internal.byoc-test"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
#: (length(var.certificate_arn) >= 1), as the synthesized JSON spells it.
TLS_ON = "(length(var.certificate_arn) >= 1)"
NETWORK = '(var.load_balancer_type == "network")'


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


# --------------------------------------------------------------------------- synthesized JSON

def test_load_balancer_type_is_the_variable_and_alb_only_settings_follow_it(stack_json):
    lb = resources(stack_json, "aws_lb")["main"]
    assert lb["load_balancer_type"] == "${var.load_balancer_type}"
    assert stack_json["variable"]["load_balancer_type"]["default"] == "application"
    assert lb["drop_invalid_header_fields"] == f"${{!{NETWORK}}}"
    # Unset on an ALB (always cross-zone), on for an NLB (one task would leave a zone's node idle).
    assert lb["enable_cross_zone_load_balancing"] == f"${{{NETWORK} ? true : null}}"
    # Security groups on both types (an NLB takes them only at creation).
    assert lb["security_groups"] == ["${aws_security_group.alb.id}"]
    # The ALB keeps its name (no replacement of existing deployments); the NLB has its own.
    assert lb["name"] == f'${{var.app_name}}-${{{NETWORK} ? "nlb" : "alb"}}'


def test_target_group_is_tcp_on_an_nlb_with_an_http_health_check_on_the_path(stack_json):
    tg = resources(stack_json, "aws_lb_target_group")["app"]
    assert tg["protocol"] == f'${{{NETWORK} ? "TCP" : "HTTP"}}'
    assert tg["health_check"]["protocol"] == "HTTP"
    assert tg["health_check"]["path"] == "${var.health_check_path}"


def test_port_80_redirects_to_https_on_an_alb_with_a_certificate_and_forwards_otherwise(stack_json):
    http = resources(stack_json, "aws_lb_listener")["http"]
    redirect = f"({TLS_ON} && !{NETWORK})"
    (action,) = http["default_action"]
    assert action["type"] == f'${{{redirect} ? "redirect" : "forward"}}'
    assert action["target_group_arn"] == f"${{{redirect} ? null : aws_lb_target_group.app.arn}}"
    assert action["redirect"] == {"port": "443", "protocol": "HTTPS", "status_code": "HTTP_301"}
    assert (http["port"], http["protocol"]) == (80, f'${{{NETWORK} ? "TCP" : "HTTP"}}')
    # No port 80 at all on an NLB serving TLS (layer 4 cannot redirect).
    assert http["count"] == f"${{!({TLS_ON} && {NETWORK}) ? 1 : 0}}"


def test_port_443_listener_exists_only_with_a_certificate_and_uses_the_tls_policy(stack_json):
    https = resources(stack_json, "aws_lb_listener")["https"]
    assert https["count"] == f"${{{TLS_ON} ? 1 : 0}}"
    assert (https["port"], https["protocol"]) == (443, f'${{{NETWORK} ? "TLS" : "HTTPS"}}')
    assert (https["certificate_arn"], https["ssl_policy"]) == ("${var.certificate_arn}", "${var.tls_policy}")
    assert https["default_action"] == [{"type": "forward", "target_group_arn": "${aws_lb_target_group.app.arn}"}]
    assert stack_json["variable"]["tls_policy"]["default"] == TLS_POLICY


def test_load_balancer_group_admits_443_from_the_vpc_only_with_a_certificate(stack_json):
    rules = resources(stack_json, "aws_vpc_security_group_ingress_rule")
    https, http = rules["alb_https_from_vpc"], rules["alb_from_vpc"]
    assert (https["from_port"], https["to_port"], https["cidr_ipv4"]) == (443, 443, "${local.vpc_cidr}")
    assert https["count"] == f"${{{TLS_ON} ? 1 : 0}}"
    # Port 80 is open exactly when its listener exists.
    assert http["count"] == resources(stack_json, "aws_lb_listener")["http"]["count"]


def test_service_starts_after_whichever_listener_attaches_its_target_group(stack_json):
    depends_on = resources(stack_json, "aws_ecs_service")["app"]["depends_on"]
    assert {"aws_lb_listener.http", "aws_lb_listener.https"} <= set(depends_on)


def test_private_dns_zone_of_the_vpc_with_an_apex_alias_to_the_load_balancer(stack_json):
    zone = resources(stack_json, "aws_route53_zone")["private"]
    record = resources(stack_json, "aws_route53_record")["service"]
    on = "${(length(var.private_dns_name) >= 1) ? 1 : 0}"
    assert zone["count"] == record["count"] == on
    assert zone["name"] == record["name"] == "${var.private_dns_name}"
    assert zone["vpc"] == [{"vpc_id": "${local.vpc_id}"}]  # private: associated with the VPC
    assert record["zone_id"] == "${one(aws_route53_zone.private[*].zone_id)}"
    assert record["type"] == "A"
    assert record["alias"] == {"name": "${aws_lb.main.dns_name}", "zone_id": "${aws_lb.main.zone_id}",
                               "evaluate_target_health": True}


def test_service_url_output_follows_the_certificate_and_the_private_name(stack_json):
    outputs = stack_json["output"]
    assert outputs["service_url"]["value"] == (
        f'${{{TLS_ON} ? "https" : "http"}}://'
        "${(length(var.private_dns_name) >= 1) ? var.private_dns_name : aws_lb.main.dns_name}")
    assert outputs["private_dns_zone_id"]["value"] == "${one(aws_route53_zone.private[*].zone_id)}"
    assert outputs["alb_dns_name"]["value"] == "${aws_lb.main.dns_name}"  # kept for existing users


def test_certificate_arn_of_another_acm_resource_type_is_refused_by_name():
    # (The other bad values of these inputs: tests/stack/test_input_parity.py.)
    certificate = "arn:aws:acm:us-east-1:123456789012:cert/abc"
    assert [e.field for e in validate({"container_image": IMAGE, "certificate_arn": certificate})] == [
        "certificate_arn"]


def test_load_balancer_inputs_accept_their_documented_values():
    assert validate({"container_image": IMAGE, "load_balancer_type": "network", "tls_policy": TLS_POLICY,
                     "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
                     "private_dns_name": DNS_NAME}) == []
    assert validate({"container_image": IMAGE, "aws_region": "eu-west-1",
                     "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123"}) == []


# --------------------------------------------------------------------------- one deployment, three option sets

def self_signed_certificate(name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for ``name``, valid for a day: moto's ACM needs a real one."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


@dataclass
class Observed:
    """What AWS (the emulator) answers after one apply, and the plan that followed it."""
    outputs: dict
    balancers: list[dict]
    attributes: dict[str, str]
    listeners: dict[int, dict]        # port -> listener
    target_groups: list[dict]
    lb_ingress: set[tuple[int, int, str]]   # (from, to, cidr) into the load balancer's group
    service_ingress: list[dict]
    zones: list[dict] = field(default_factory=list)
    alias_records: list[dict] = field(default_factory=list)
    replan_exit: int = -1
    replan_output: str = ""


@dataclass
class Deployment:
    stack_dir: Path
    env: dict[str, str]
    certificate_arn: str = ""
    stages: dict[str, Observed] = field(default_factory=dict)

    def tf(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        return terraform(self.stack_dir, self.env, *args, ok=ok)

    def aws(self, service: str):
        return aws(self.env, service)

    def apply_and_observe(self, stage: str, variables: dict[str, str]) -> Observed:
        args = [a for name, value in {"container_image": IMAGE, **variables}.items() for a in ("-var", f"{name}={value}")]
        self.tf("apply", "-input=false", "-no-color", "-auto-approve", *args)
        seen = self.observe()
        plan = self.tf("plan", "-input=false", "-no-color", "-detailed-exitcode", *args, ok=(0, 1, 2))
        seen.replan_exit, seen.replan_output = plan.returncode, plan.stdout[-4000:] + plan.stderr[-2000:]
        self.stages[stage] = seen
        return seen

    def observe(self) -> Observed:
        outputs = {k: v["value"] for k, v in json.loads(self.tf("output", "-json").stdout).items()}
        elbv2, ec2, route53 = self.aws("elbv2"), self.aws("ec2"), self.aws("route53")
        balancers = elbv2.describe_load_balancers()["LoadBalancers"]
        (lb,) = balancers
        attributes = {a["Key"]: a["Value"] for a in
                      elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]}
        listeners = {item["Port"]: item for item in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
        groups = {g["GroupName"]: g for g in ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [outputs["vpc_id"]]}])["SecurityGroups"]}
        lb_group = groups[f"{APP}-alb"]
        assert lb["SecurityGroups"] == [lb_group["GroupId"]]
        seen = Observed(
            outputs=outputs, balancers=balancers, attributes=attributes, listeners=listeners,
            target_groups=elbv2.describe_target_groups()["TargetGroups"],
            lb_ingress={(p["FromPort"], p["ToPort"], r["CidrIp"]) for p in lb_group["IpPermissions"]
                        for r in p.get("IpRanges", [])},
            service_ingress=groups[f"{APP}-service"]["IpPermissions"])
        for zone in route53.list_hosted_zones()["HostedZones"]:
            detail = route53.get_hosted_zone(Id=zone["Id"])
            seen.zones.append({**zone, "VPCs": detail.get("VPCs", [])})
            seen.alias_records += [r for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])
                                   ["ResourceRecordSets"] if "AliasTarget" in r]
        return seen


@pytest.fixture(scope="module")
def deployment(project_copy_module, aws_env_module) -> Deployment:
    d = Deployment(project_copy_module / "cdktf.out" / "stacks" / STACK_NAME, aws_env_module)
    certificate, key = self_signed_certificate(DNS_NAME)
    d.certificate_arn = d.aws("acm").import_certificate(Certificate=certificate, PrivateKey=key)["CertificateArn"]
    d.tf("init", "-input=false", "-no-color")
    tls = {"certificate_arn": d.certificate_arn, "private_dns_name": DNS_NAME}
    d.apply_and_observe("alb_tls", tls)
    # Changing the type replaces the load balancer: its deletion protection goes off first.
    unprotected = {**tls, "alb_deletion_protection": "false"}
    d.tf("apply", "-input=false", "-no-color", "-auto-approve",
         *[a for n, v in {"container_image": IMAGE, **unprotected}.items() for a in ("-var", f"{n}={v}")])
    d.apply_and_observe("nlb_tls", {**unprotected, "load_balancer_type": "network"})
    d.apply_and_observe("nlb_plain", {**unprotected, "load_balancer_type": "network", "certificate_arn": ""})
    return d


def test_alb_with_a_certificate_serves_https_on_443_with_the_tls_policy(deployment):
    seen = deployment.stages["alb_tls"]
    (lb,) = seen.balancers
    assert (lb["Type"], lb["Scheme"]) == ("application", "internal")
    https = seen.listeners[443]
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"] == TLS_POLICY
    assert [c["CertificateArn"] for c in https["Certificates"]] == [deployment.certificate_arn]
    (action,) = https["DefaultActions"]
    (tg,) = seen.target_groups
    assert (action["Type"], action["TargetGroupArn"]) == ("forward", tg["TargetGroupArn"])
    assert seen.attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"


def test_alb_with_a_certificate_redirects_port_80_to_https_with_a_301(deployment):
    http = deployment.stages["alb_tls"].listeners[80]
    assert http["Protocol"] == "HTTP"
    (action,) = http["DefaultActions"]
    assert action["Type"] == "redirect" and "TargetGroupArn" not in action
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    assert (action["RedirectConfig"]["Port"], action["RedirectConfig"]["StatusCode"]) == ("443", "HTTP_301")


def test_alb_with_a_certificate_admits_80_and_443_from_the_vpc_only(deployment):
    seen = deployment.stages["alb_tls"]
    vpc_cidr = deployment.aws("ec2").describe_vpcs(VpcIds=[seen.outputs["vpc_id"]])["Vpcs"][0]["CidrBlock"]
    assert seen.lb_ingress == {(80, 80, vpc_cidr), (443, 443, vpc_cidr)}


def test_private_name_is_a_private_zone_of_the_vpc_aliased_to_the_load_balancer(deployment):
    seen = deployment.stages["alb_tls"]
    (zone,) = seen.zones
    assert zone["Name"].rstrip(".") == DNS_NAME and zone["Config"]["PrivateZone"] is True
    assert [v["VPCId"] for v in zone["VPCs"]] == [seen.outputs["vpc_id"]]
    (record,) = seen.alias_records
    assert (record["Name"].rstrip("."), record["Type"]) == (DNS_NAME, "A")
    (lb,) = seen.balancers
    assert record["AliasTarget"]["DNSName"].rstrip(".").lower() == lb["DNSName"].lower()
    assert record["AliasTarget"]["HostedZoneId"] == lb["CanonicalHostedZoneId"]
    assert record["AliasTarget"]["EvaluateTargetHealth"] is True
    assert seen.outputs["private_dns_zone_id"] == zone["Id"].rsplit("/", 1)[-1]


def test_service_url_is_https_on_the_private_name_with_a_certificate(deployment):
    seen = deployment.stages["alb_tls"]
    assert seen.outputs["service_url"] == f"https://{DNS_NAME}"
    assert seen.outputs["alb_dns_name"] == seen.balancers[0]["DNSName"]


def test_switching_to_an_nlb_replaces_the_load_balancer_and_keeps_tls_on_443_only(deployment):
    before, seen = deployment.stages["alb_tls"], deployment.stages["nlb_tls"]
    (lb,) = seen.balancers
    assert (lb["Type"], lb["LoadBalancerName"]) == ("network", f"{APP}-nlb")
    assert lb["LoadBalancerArn"] != before.balancers[0]["LoadBalancerArn"]
    assert seen.attributes["load_balancing.cross_zone.enabled"] == "true"
    # Layer 4 cannot redirect: with a certificate the NLB listens on 443 (TLS) only.
    assert sorted(seen.listeners) == [443]
    tls = seen.listeners[443]
    assert (tls["Protocol"], tls["SslPolicy"]) == ("TLS", TLS_POLICY)
    assert [c["CertificateArn"] for c in tls["Certificates"]] == [deployment.certificate_arn]
    assert {(f, t) for f, t, _c in seen.lb_ingress} == {(443, 443)}
    # The alias followed the new load balancer.
    (record,) = seen.alias_records
    assert record["AliasTarget"]["DNSName"].rstrip(".").lower() == lb["DNSName"].lower()


def test_nlb_target_group_is_tcp_with_an_http_health_check_on_the_path(deployment):
    (tg,) = deployment.stages["nlb_tls"].target_groups
    assert (tg["Protocol"], tg["TargetType"], tg["Port"]) == ("TCP", "ip", 8080)
    assert (tg["HealthCheckProtocol"], tg["HealthCheckPath"]) == ("HTTP", "/health")
    (lb,) = deployment.stages["nlb_tls"].balancers
    assert tg["LoadBalancerArns"] == [lb["LoadBalancerArn"]]


def test_nlb_without_a_certificate_forwards_tcp_on_80(deployment):
    seen = deployment.stages["nlb_plain"]
    assert sorted(seen.listeners) == [80]
    http = seen.listeners[80]
    (tg,) = seen.target_groups
    assert http["Protocol"] == "TCP"
    assert [(a["Type"], a["TargetGroupArn"]) for a in http["DefaultActions"]] == [("forward", tg["TargetGroupArn"])]
    assert {(f, t) for f, t, _c in seen.lb_ingress} == {(80, 80)}
    assert seen.outputs["service_url"] == f"http://{DNS_NAME}"


@pytest.mark.parametrize("stage", ["alb_tls", "nlb_tls", "nlb_plain"])
def test_service_admits_the_container_port_from_the_load_balancer_group_only(deployment, stage):
    seen = deployment.stages[stage]
    (lb,) = seen.balancers
    (permission,) = seen.service_ingress
    assert (permission["FromPort"], permission["ToPort"]) == (8080, 8080)
    assert [p["GroupId"] for p in permission["UserIdGroupPairs"]] == lb["SecurityGroups"]
    assert permission.get("IpRanges", []) == []


@pytest.mark.parametrize("stage", ["alb_tls", "nlb_tls", "nlb_plain"])
def test_a_plan_after_apply_shows_no_changes(deployment, stage):
    seen = deployment.stages[stage]
    assert seen.replan_exit == 0, seen.replan_output
