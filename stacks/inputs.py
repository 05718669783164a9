"""The stack's inputs: one table that is both the Terraform variables and the CLI's checks.

Every input is declared once here with its Terraform type, default, description and the
Terraform ``validation`` blocks that plain-terraform users get. The CLI validates the same
inputs in Python *before* anything runs (``validate``), so a bad value is caught with one line
naming the field, whichever way the stack is driven. Pure Python: importing this module never
loads jsii or the AWS bindings.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from constructs_lib.catalog import (PINECONE_PRIVATELINK, READERS_INPUT, REUSABLE_ENDPOINTS, SECRET_VERSION_ID_RE,
                                   SECRET_VERSION_INPUT)
from stacks.field_errors import FieldError

# Valid Fargate task sizes (Linux), task CPU units -> allowed memory MiB.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# CloudWatch Logs accepts only these retention periods (0 = never expire is not offered:
# a log group without retention grows forever).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)

APP_NAME_RE = r"^[a-z][a-z0-9-]{0,26}[a-z0-9]$"
# The regular expressions below are written without backslashes: they are also embedded in HCL
# strings, where "\." would need its own escaping.
REGION_RE = r"^[a-z]{2}(-gov|-iso[a-z]*)?-(central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]$"
# An IAM principal that aws:PrincipalArn can hold: a role, a user, or an account root.
PRINCIPAL_ARN_RE = r"^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:(root|role/[A-Za-z0-9_+=,.@/-]{1,512}|user/[A-Za-z0-9_+=,.@/-]{1,512})$"
# registry/repository[:tag][@sha256:digest], lower-case repository path as Docker requires.
IMAGE_RE = r"^([a-zA-Z0-9.-]+(:[0-9]+)?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
VPCE_SERVICE_RE = r"^com[.]amazonaws[.](vpce[.])?[a-z0-9-]+[.][A-Za-z0-9._-]+$"
ACCOUNT_ID_RE = r"^([0-9]{12})?$"
# An S3 bucket name (3-63 characters of a-z 0-9 . -, letter or digit at both ends), or empty.
BUCKET_RE = r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$"
# A lower-case DNS name of two or more labels, or empty.
DNS_NAME_RE = r"^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]([a-z0-9-]{0,61}[a-z0-9])?)?$"
ACM_ARN_RE = r"^(arn:aws(-cn|-us-gov)?:acm:[a-z0-9-]+:[0-9]{12}:certificate/[A-Za-z0-9-]{1,128})?$"
SNS_ARN_RE = r"^(arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256})?$"
# EC2 resource IDs: the prefix and 8 (older resources) or 17 hex digits.
VPC_ID_RE = r"^(vpc-([0-9a-f]{8}|[0-9a-f]{17}))?$"
SUBNET_ID_RE = r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$"
VPCE_ID_RE = r"^vpce-([0-9a-f]{8}|[0-9a-f]{17})$"
# What Pinecone's older SDKs took as an environment (e.g. us-east-1-aws, gcp-starter), or empty.
PINECONE_ENVIRONMENT_RE = r"^([a-z0-9][a-z0-9.-]{0,62}[a-z0-9])?$"

NAT_MODES = ("per_az", "single", "none")
ENDPOINT_SETS = ("full", "minimal")
LOAD_BALANCER_TYPES = ("application", "network")
# ELB security policies offering nothing older than TLS 1.2 (ALB and NLB share these names).
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",  # AWS's recommended default: TLS 1.3 and 1.2
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
    "ELBSecurityPolicy-TLS-1-2-2017-01",
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2019-08",
    "ELBSecurityPolicy-FS-1-2-Res-2020-10",
)


@dataclass(frozen=True)
class Input:
    """One stack input. ``checks`` are (terraform condition, python predicate, message)."""

    name: str
    tf_type: str
    description: str
    default: Any = None
    required: bool = False
    sensitive: bool = False
    #: Terraform >= 1.10: never written to state or a saved plan (an argument of a provider only).
    ephemeral: bool = False
    checks: tuple[tuple[str, Callable[[Any, dict], bool], str], ...] = field(default=())
    #: The only values the input takes, when they are a short list (an enumeration): the CLI's flag
    #: offers them to shell completion and, for a string, refuses any other before the checks run.
    choices: tuple[Any, ...] = ()
    #: A number input that takes whole numbers only (its flag is an INTEGER); False: any number.
    whole: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _cidr_ok(value: str) -> bool:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except (ValueError, TypeError):
        return False
    return net.version == 4


def _in_vpc(cidrs: list[str], values: dict) -> bool:
    try:
        vpc = ipaddress.ip_network(values["vpc_cidr"], strict=True)
        return all(ipaddress.ip_network(c, strict=True).subnet_of(vpc) for c in cidrs)
    except (ValueError, TypeError, KeyError):
        return True  # reported by the CIDR's own check


def _subnets_disjoint(values: dict) -> bool:
    try:
        nets = [ipaddress.ip_network(c, strict=True)
                for c in list(values["private_subnet_cidrs"]) + list(values["public_subnet_cidrs"])]
    except (ValueError, TypeError, KeyError):
        return True
    return not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])


def _within_autoscaling(count: Any, values: dict) -> bool:
    low, high = values.get("autoscaling_min_capacity"), values.get("autoscaling_max_capacity")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (count, low, high)):
        return True  # each is reported by its own check
    return low > high or low <= count <= high


def _fargate_pair(memory: Any, values: dict) -> bool:
    return memory in FARGATE_SIZES.get(values.get("task_cpu"), ())


def _int_in(lo: int, hi: int) -> Callable[[Any, dict], bool]:
    return lambda v, _values: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def _matches(pattern: str) -> Callable[[Any, dict], bool]:
    return lambda v, _values: isinstance(v, str) and re.fullmatch(pattern, v) is not None


def _is_bool(v: Any, _values: dict) -> bool:
    return isinstance(v, bool)


def _hcl_strings(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _one_of(name: str, values: tuple[str, ...]) -> tuple[str, Callable[[Any, dict], bool], str]:
    return (f"contains({_hcl_strings(values)}, var.{name})", lambda v, _: v in values,
            f"{name} must be one of {', '.join(values)}.")


def _bool(name: str) -> tuple[str, Callable[[Any, dict], bool], str]:
    return (f"var.{name} == true || var.{name} == false", _is_bool, f"{name} must be true or false.")


def _hcl_map(sizes: dict[int, tuple[int, ...]]) -> str:
    return "{" + ", ".join(f'"{cpu}" = [{", ".join(map(str, mem))}]' for cpu, mem in sizes.items()) + "}"


# An IPv4 CIDR as Python's ip_network(strict=True) takes it: dotted quad and prefix, and the
# address is the network's own (no host bits set). "? :" and not "&&": Terraform evaluates both
# sides of &&, and cidrhost() fails on "banana".
_HCL_IPV4_CIDR = ('(can(regex("^[0-9]{{1,3}}([.][0-9]{{1,3}}){{3}}/[0-9]{{1,2}}$", {c})) && can(cidrhost({c}, 0)) ? '
                  'cidrhost({c}, 0) == split("/", {c})[0] : false)')

# Private and public subnets must not overlap: two CIDRs overlap when their network addresses
# agree at the shorter of the two prefixes. Entries that are not IPv4 CIDRs are left to their
# own checks (a conditional, because Terraform's || evaluates both sides).
_HCL_DISJOINT = (
    'alltrue([for i, a in concat(var.private_subnet_cidrs, var.public_subnet_cidrs) : '
    'alltrue([for j, b in concat(var.private_subnet_cidrs, var.public_subnet_cidrs) : '
    f'i == j ? true : ({_HCL_IPV4_CIDR.format(c="a")} && {_HCL_IPV4_CIDR.format(c="b")} ? '
    'cidrhost(format("%s/%d", cidrhost(a, 0), min(tonumber(split("/", a)[1]), tonumber(split("/", b)[1]))), 0) != '
    'cidrhost(format("%s/%d", cidrhost(b, 0), min(tonumber(split("/", a)[1]), tonumber(split("/", b)[1]))), 0) : true)])])'
)

# The Terraform side of "subnet inside the VPC": same network address at the VPC's prefix length,
# and a prefix at least as long as the VPC's.
_HCL_IN_VPC = (
    'alltrue([for c in var.{name} : can(cidrhost(c, 0)) && can(cidrhost(var.vpc_cidr, 0)) ? '
    '(tonumber(split("/", c)[1]) >= tonumber(split("/", var.vpc_cidr)[1]) && '
    'cidrhost(format("%s/%s", cidrhost(c, 0), split("/", var.vpc_cidr)[1]), 0) == cidrhost(var.vpc_cidr, 0)) : true])'
)


def _subnet_input(kind: str, default: list[str]) -> Input:
    name = f"{kind}_subnet_cidrs"
    return Input(
        name, "list(string)",
        f"Two {kind} subnet CIDRs, one per availability zone, inside vpc_cidr.",
        default=default,
        checks=(
            (f"length(var.{name}) == 2", lambda v, _: isinstance(v, list) and len(v) == 2,
             f"{name} needs exactly 2 CIDRs, one per availability zone (e.g. {default})."),
            (f"alltrue([for c in var.{name} : {_HCL_IPV4_CIDR.format(c='c')}])",
             lambda v, _: isinstance(v, list) and all(_cidr_ok(c) for c in v),
             f"every entry of {name} must be an IPv4 CIDR such as 10.0.1.0/24."),
            (_HCL_IN_VPC.format(name=name), lambda v, values: _in_vpc(v, values),
             f"every entry of {name} must lie inside vpc_cidr."),
            *(((_HCL_DISJOINT, lambda _v, values: _subnets_disjoint(values),
                "private_subnet_cidrs and public_subnet_cidrs must not overlap each other."),) if kind == "private" else ()),
        ),
    )


INPUTS: tuple[Input, ...] = (
    Input("aws_region", "string", "AWS region to deploy into.", default="us-east-1",
          checks=((f'can(regex("{REGION_RE}", var.aws_region))', _matches(REGION_RE),
                   "aws_region must be an AWS region name such as us-east-1."),)),
    Input("vpc_cidr", "string", "CIDR block of the VPC.", default="10.0.0.0/16",
          # "? :" and not "&&": Terraform evaluates both sides of &&, and split()[1] fails on "banana".
          checks=((f"{_HCL_IPV4_CIDR.format(c='var.vpc_cidr')} ? "
                   "(tonumber(split(\"/\", var.vpc_cidr)[1]) >= 16 && tonumber(split(\"/\", var.vpc_cidr)[1]) <= 28) : false",
                   lambda v, _: _cidr_ok(v) and 16 <= ipaddress.ip_network(v).prefixlen <= 28,
                   "vpc_cidr must be an IPv4 CIDR with a prefix from /16 to /28 (AWS limits), e.g. 10.0.0.0/16."),)),
    _subnet_input("private", ["10.0.1.0/24", "10.0.2.0/24"]),
    _subnet_input("public", ["10.0.101.0/24", "10.0.102.0/24"]),
    Input("app_name", "string",
          "Name of the service; prefixes every resource name (task role: <app_name>-task-role).",
          default="byoc-agents",
          checks=((f'can(regex("{APP_NAME_RE}", var.app_name))', _matches(APP_NAME_RE),
                   "app_name must be 2-28 characters of a-z, 0-9 and '-', starting with a letter "
                   "(it prefixes load balancer names, which AWS caps at 32)."),)),
    Input("container_image", "string",
          "Container image to run, e.g. <account>.dkr.ecr.<region>.amazonaws.com/repo:tag.",
          required=True,
          checks=((f'can(regex("{IMAGE_RE}", var.container_image))', _matches(IMAGE_RE),
                   "container_image must be an image reference such as "
                   "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0."),)),
    Input("container_port", "number", "Port the container listens on.", default=8080,
          checks=(("var.container_port >= 1 && var.container_port <= 65535 && floor(var.container_port) == var.container_port",
                   _int_in(1, 65535), "container_port must be a whole number from 1 to 65535."),)),
    Input("desired_count", "number", "Number of tasks to run.", default=1,
          checks=(("var.desired_count >= 0 && var.desired_count <= 1000 && floor(var.desired_count) == var.desired_count",
                   _int_in(0, 1000), "desired_count must be a whole number from 0 to 1000."),
                  # The autoscaler would move a count outside its range there at once, silently.
                  ("var.autoscaling_min_capacity > var.autoscaling_max_capacity || "
                   "(var.desired_count >= var.autoscaling_min_capacity && var.desired_count <= var.autoscaling_max_capacity)",
                   _within_autoscaling,
                   "desired_count must lie within autoscaling_min_capacity..autoscaling_max_capacity (the autoscaler "
                   "would move it there at once): change desired_count or the range."))),
    Input("start_tasks", "bool",
          "Run the service's tasks. false holds the desired count and the autoscaling range at 0: byoc deploy "
          "sets it while the secret has no value yet, so that phase one starts no task that can only fail, and "
          "byoc secret put sets it back. With plain terraform: true (the default), or false until "
          "put-secret-value.",
          default=True, checks=(_bool("start_tasks"),)),
    Input("task_cpu", "number", "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384).",
          default=256, choices=tuple(FARGATE_SIZES),
          checks=((f"contains([{', '.join(map(str, FARGATE_SIZES))}], var.task_cpu)",
                   lambda v, _: v in FARGATE_SIZES,
                   f"task_cpu must be one of {', '.join(map(str, FARGATE_SIZES))}."),)),
    Input("task_memory", "number", "Fargate task memory in MiB; must be valid for task_cpu.", default=512,
          checks=((f"contains(lookup({_hcl_map(FARGATE_SIZES)}, tostring(var.task_cpu), []), var.task_memory)",
                   _fargate_pair,
                   "task_memory is not a valid Fargate size for task_cpu (256 CPU takes 512, 1024 or 2048; "
                   "see the Fargate task size table)."),)),
    Input(READERS_INPUT, "list(string)",
          "IAM principals allowed to read the secret once locked down (phase two: the task role). "
          "Empty = not locked to principals yet. The stack's execution role is always allowed, "
          "because ECS injects secrets with it.",
          default=[],
          checks=((f'alltrue([for a in var.app_reader_principal_arns : can(regex("{PRINCIPAL_ARN_RE}", a))])',
                   lambda v, _: isinstance(v, list) and all(isinstance(a, str) and re.fullmatch(PRINCIPAL_ARN_RE, a) for a in v),
                   "every app_reader_principal_arns entry must be an IAM ARN such as "
                   "arn:aws:iam::123456789012:role/byoc-agents-task-role."),)),
    Input("pinecone_vpce_services", "list(string)",
          "PrivateLink endpoint service names for Pinecone (one interface endpoint each).",
          default=[],
          checks=((f'alltrue([for s in var.pinecone_vpce_services : can(regex("{VPCE_SERVICE_RE}", s))])',
                   lambda v, _: isinstance(v, list) and all(isinstance(s, str) and re.fullmatch(VPCE_SERVICE_RE, s) for s in v),
                   "every pinecone_vpce_services entry must be a service name such as "
                   "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0."),)),
    Input("autoscaling_min_capacity", "number", "Fewest tasks the CPU autoscaler may run.", default=1,
          checks=(("var.autoscaling_min_capacity >= 0 && var.autoscaling_min_capacity <= 1000 && "
                   "floor(var.autoscaling_min_capacity) == var.autoscaling_min_capacity",
                   _int_in(0, 1000), "autoscaling_min_capacity must be a whole number from 0 to 1000."),)),
    Input("autoscaling_max_capacity", "number", "Most tasks the CPU autoscaler may run.", default=4,
          checks=(("var.autoscaling_max_capacity >= var.autoscaling_min_capacity && var.autoscaling_max_capacity <= 1000 && "
                   "floor(var.autoscaling_max_capacity) == var.autoscaling_max_capacity",
                   lambda v, values: _int_in(0, 1000)(v, values) and v >= values.get("autoscaling_min_capacity", 0),
                   "autoscaling_max_capacity must be at least autoscaling_min_capacity (and at most 1000)."),)),
    Input("autoscaling_cpu_target", "number", "Average service CPU % the autoscaler aims for.", default=60, whole=False,
          checks=(("var.autoscaling_cpu_target >= 10 && var.autoscaling_cpu_target <= 90",
                   lambda v, _: isinstance(v, (int, float)) and not isinstance(v, bool) and 10 <= v <= 90,
                   "autoscaling_cpu_target must be a percentage from 10 to 90."),)),
    Input("log_retention_days", "number", "Days CloudWatch keeps the service's logs, the VPC flow logs and the ECS Exec session logs.",
          default=30, choices=LOG_RETENTION_DAYS,
          checks=((f"contains([{', '.join(map(str, LOG_RETENTION_DAYS))}], var.log_retention_days)",
                   lambda v, _: v in LOG_RETENTION_DAYS,
                   "log_retention_days must be a CloudWatch retention period (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, "
                   "180, 365, ... 3653)."),)),
    Input("health_check_path", "string", "HTTP path the load balancer probes on the container.",
          default="/health",
          checks=(('can(regex("^/[A-Za-z0-9._~/-]*$", var.health_check_path))',
                   _matches(r"^/[A-Za-z0-9._~/-]*$"), "health_check_path must start with / (e.g. /health)."),)),
    Input("health_check_grace_period_seconds", "number",
          "Seconds ECS ignores failing load balancer health checks after a task starts.", default=60,
          checks=(("var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647 && "
                   "floor(var.health_check_grace_period_seconds) == var.health_check_grace_period_seconds",
                   _int_in(0, 2147483647), "health_check_grace_period_seconds must be a whole number of seconds >= 0."),)),
    Input("secret_recovery_window_days", "number",
          "Days a deleted secret can still be restored (0 deletes it at once on destroy).", default=7,
          checks=(("var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && "
                   "var.secret_recovery_window_days <= 30 && floor(var.secret_recovery_window_days) == var.secret_recovery_window_days)",
                   lambda v, _: v == 0 or _int_in(7, 30)(v, _),
                   "secret_recovery_window_days must be 0 or a whole number from 7 to 30."),)),
    Input("container_read_only_root_filesystem", "bool",
          "Run the container with a read-only root filesystem; /tmp stays writable (task-local scratch "
          "space). Turn off only for an image that must write elsewhere.",
          default=True,
          checks=(("var.container_read_only_root_filesystem == true || var.container_read_only_root_filesystem == false",
                   _is_bool, "container_read_only_root_filesystem must be true or false."),)),
    Input("alb_deletion_protection", "bool",
          "Deletion protection on the load balancer. On by default; `byoc destroy` turns it off first, "
          "plain terraform needs `terraform apply -var alb_deletion_protection=false` before destroy.",
          default=True,
          checks=(("var.alb_deletion_protection == true || var.alb_deletion_protection == false", _is_bool,
                   "alb_deletion_protection must be true or false."),)),
    Input("alb_access_logs_bucket", "string",
          "Existing S3 bucket for the load balancer's access logs (prefix <app_name>); its bucket policy "
          "must let ELB log delivery write. Empty = access logs off.",
          default="",
          checks=((f'can(regex("{BUCKET_RE}", var.alb_access_logs_bucket))', _matches(BUCKET_RE),
                   "alb_access_logs_bucket must be an S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-') "
                   "or empty."),)),
    Input("vpc_flow_logs", "bool",
          "VPC flow logs (all traffic) to a CloudWatch log group encrypted with the stack's KMS key, kept "
          "log_retention_days.",
          default=True,
          checks=(("var.vpc_flow_logs == true || var.vpc_flow_logs == false", _is_bool,
                   "vpc_flow_logs must be true or false."),)),
    Input("pinecone_aws_account_id", "string",
          "Pinecone's AWS account ID for the BYOC trust role (optional; with pinecone_external_id).",
          default="",
          checks=((f'can(regex("{ACCOUNT_ID_RE}", var.pinecone_aws_account_id))', _matches(ACCOUNT_ID_RE),
                   "pinecone_aws_account_id must be a 12-digit AWS account ID (or empty)."),)),
    Input("pinecone_external_id", "string",
          "External ID Pinecone gave you for the BYOC trust role (optional).", default="", sensitive=True,
          # length() apart from the regex: RE2 (Terraform's regex engine) caps repeats at 1000.
          checks=(('length(var.pinecone_external_id) <= 1224 && length(var.pinecone_external_id) != 1 && '
                   'can(regex("^[A-Za-z0-9+=,.@:/-]*$", var.pinecone_external_id)) && '
                   '(var.pinecone_external_id == "") == (var.pinecone_aws_account_id == "")',
                   lambda v, values: isinstance(v, str) and len(v) != 1
                   and re.fullmatch(r"[A-Za-z0-9+=,.@:/-]{0,1224}", v) is not None
                   and (v == "") == (values.get("pinecone_aws_account_id", "") == ""),
                   "pinecone_external_id must be set together with pinecone_aws_account_id "
                   "(2-1224 characters of A-Z a-z 0-9 +=,.@:/-)."),)),
    # --- The seed's "Notes & tweaks" as options (issue 7) --------------------------------------
    Input("nat_mode", "string",
          "NAT gateways: per_az (one per AZ, the seed's layout), single (one shared by both AZs), or none "
          "(no public subnets and no internet gateway: Pinecone's control plane is then unreachable).",
          default="per_az", choices=NAT_MODES, checks=(_one_of("nat_mode", NAT_MODES),)),
    Input("endpoint_set", "string",
          "Interface endpoints: full (the seed's set) or minimal (ecr.api, ecr.dkr, logs, secretsmanager; "
          "the S3 gateway stays in both).",
          default="full", choices=ENDPOINT_SETS, checks=(_one_of("endpoint_set", ENDPOINT_SETS),)),
    Input("load_balancer_type", "string",
          "application (ALB, layer 7, the seed's) or network (NLB, layer 4, for services that need no HTTP "
          "routing). Changing it replaces the load balancer and its target group (a short outage; turn "
          "alb_deletion_protection off first).",
          default="application", choices=LOAD_BALANCER_TYPES,
          checks=(_one_of("load_balancer_type", LOAD_BALANCER_TYPES),)),
    Input("certificate_arn", "string",
          "ACM certificate (in aws_region) for a listener on 443: HTTPS on an ALB, whose port 80 then "
          "redirects (301) to it; TLS on an NLB, which then has no port 80 (layer 4 cannot redirect). "
          "Empty = plain HTTP on port 80 inside the VPC.",
          default="",
          checks=((f'can(regex("{ACM_ARN_RE}", var.certificate_arn))', _matches(ACM_ARN_RE),
                   "certificate_arn must be an ACM certificate ARN such as "
                   "arn:aws:acm:us-east-1:123456789012:certificate/<id> (or empty)."),
                  # A load balancer can only use a certificate of its own region.
                  ('var.certificate_arn == "" || try(split(":", var.certificate_arn)[3], "") == var.aws_region',
                   lambda v, values: v == "" or v.split(":")[3:4] == [values.get("aws_region")],
                   "certificate_arn must be a certificate in aws_region: a load balancer cannot use an ACM "
                   "certificate of another region."))),
    Input("tls_policy", "string", "ELB security policy of the 443 listener (TLS 1.2 or newer only).",
          default=TLS_POLICIES[0], choices=TLS_POLICIES, checks=(_one_of("tls_policy", TLS_POLICIES),)),
    Input("private_dns_name", "string",
          "Name for the service in a Route 53 private hosted zone of the VPC (e.g. api.internal.yourcorp), "
          "an alias of the load balancer. Empty = none.",
          default="",
          checks=((f'length(var.private_dns_name) <= 253 && can(regex("{DNS_NAME_RE}", var.private_dns_name))',
                   lambda v, values: isinstance(v, str) and len(v) <= 253 and _matches(DNS_NAME_RE)(v, values),
                   "private_dns_name must be a lower-case DNS name of two or more labels such as "
                   "api.internal.yourcorp (or empty)."),)),
    Input("alarms", "bool",
          "CloudWatch alarms: service CPU, load balancer 5xx, unhealthy targets, running tasks below desired.",
          default=True, checks=(_bool("alarms"),)),
    Input("alarm_cpu_percent", "number", "Average service CPU % above which the CPU alarm fires.", default=80,
          whole=False,
          checks=(("var.alarm_cpu_percent >= 1 && var.alarm_cpu_percent <= 100",
                   lambda v, _: isinstance(v, (int, float)) and not isinstance(v, bool) and 1 <= v <= 100,
                   "alarm_cpu_percent must be a percentage from 1 to 100."),)),
    Input("alarm_sns_topic_arn", "string",
          "Existing SNS topic the alarms notify. Empty = none (see alarm_create_sns_topic).",
          default="",
          checks=((f'can(regex("{SNS_ARN_RE}", var.alarm_sns_topic_arn))', _matches(SNS_ARN_RE),
                   "alarm_sns_topic_arn must be an SNS topic ARN such as "
                   "arn:aws:sns:us-east-1:123456789012:alerts (or empty)."),)),
    Input("alarm_create_sns_topic", "bool",
          "Create a KMS-encrypted SNS topic <app_name>-alarms for the alarms (not with alarm_sns_topic_arn).",
          default=False,
          checks=(_bool("alarm_create_sns_topic"),
                  ('!(var.alarm_create_sns_topic && var.alarm_sns_topic_arn != "")',
                   lambda v, values: not (v and values.get("alarm_sns_topic_arn")),
                   "alarm_create_sns_topic and alarm_sns_topic_arn exclude each other: create a topic or "
                   "name an existing one."))),
    Input("ecs_exec", "bool",
          "ECS Exec into the service's tasks (opt-in): the ssmmessages endpoint, exactly the task-role "
          "permissions it needs, and every session logged to a KMS-encrypted log group. Needs "
          "container_read_only_root_filesystem=false.",
          default=False,
          # ECS Exec's agent (bind-mounted into the container) writes under the container's root
          # filesystem, so AWS documents read-only root filesystems as unsupported; the session
          # would fail at run time (aws-containers/amazon-ecs-exec-checker#21).
          checks=(_bool("ecs_exec"),
                  ("!(var.ecs_exec && var.container_read_only_root_filesystem)",
                   lambda v, values: not (v is True and values.get("container_read_only_root_filesystem") is True),
                   "ecs_exec needs a writable root filesystem (ECS Exec's agent writes into the container): "
                   "set container_read_only_root_filesystem=false to use ecs_exec=true."))),
    Input("pinecone_privatelink_region", "string",
          "Pinecone index region to reach over PrivateLink (must equal aws_region): creates the endpoint for "
          "Pinecone's published service there and the private DNS zone its hostnames need. Empty = off. A "
          "non-empty pinecone_vpce_services wins (the zone then only if it holds the region's service).",
          default="", choices=("", *PINECONE_PRIVATELINK),
          checks=((f'var.pinecone_privatelink_region == "" || (contains({_hcl_strings(tuple(PINECONE_PRIVATELINK))}, '
                   'var.pinecone_privatelink_region) && var.pinecone_privatelink_region == var.aws_region)',
                   lambda v, values: v == "" or (v in PINECONE_PRIVATELINK and v == values.get("aws_region")),
                   "pinecone_privatelink_region must be empty or equal aws_region, and be one of Pinecone's "
                   f"PrivateLink regions ({', '.join(PINECONE_PRIVATELINK)})."),)),
)

# --- Deploying into an existing VPC, and the seed's remaining variables (issue 16) -----------------
def _pattern(name: str, pattern: str, message: str) -> tuple[str, Callable[[Any, dict], bool], str]:
    """The check "``name`` matches ``pattern``" (a regex without backslashes), in HCL and Python."""
    return (f'can(regex("{pattern}", var.{name}))', _matches(pattern), message)


INPUTS += (
    Input("existing_vpc_id", "string",
          "An existing VPC to deploy into (vpc-...), with existing_private_subnet_ids: the stack then creates no "
          "VPC, subnets, internet gateway, NAT gateways or route tables, and everything else attaches to that VPC. "
          "Empty = byoc creates the VPC (vpc_cidr, *_subnet_cidrs).",
          default="",
          checks=(_pattern("existing_vpc_id", VPC_ID_RE,
                           "existing_vpc_id must be a VPC ID such as vpc-0123456789abcdef0 (or empty)."),)),
    Input("existing_private_subnet_ids", "list(string)",
          "Two private subnets of existing_vpc_id in two different availability zones (subnet-...): the endpoints, "
          "the load balancer and the service's tasks go there. Empty unless existing_vpc_id is set.",
          default=[],
          checks=(('alltrue([for s in var.existing_private_subnet_ids : can(regex("' + SUBNET_ID_RE + '", s))])',
                   lambda v, _: isinstance(v, list) and all(isinstance(s, str) and re.fullmatch(SUBNET_ID_RE, s)
                                                            for s in v),
                   "every existing_private_subnet_ids entry must be a subnet ID such as subnet-0123456789abcdef0."),
                  ('(var.existing_vpc_id == "") == (length(var.existing_private_subnet_ids) == 0) && '
                   '(var.existing_vpc_id == "" || length(distinct(var.existing_private_subnet_ids)) == 2)',
                   lambda v, values: isinstance(v, list) and (
                       (not v) if values.get("existing_vpc_id", "") == "" else len(set(v)) == len(v) == 2),
                   "existing_private_subnet_ids takes exactly two different subnets of existing_vpc_id (one per "
                   "availability zone), and only together with existing_vpc_id."))),
    Input("existing_vpc_endpoints", "map(string)",
          "Endpoints of existing_vpc_id that the stack reuses instead of creating, by service (ecr.api, ecr.dkr, "
          "logs, ssm, ec2, sts, secretsmanager, kms, ssmmessages, s3) = vpce-...: a private-DNS interface endpoint "
          "exists once per VPC and service. byoc deploy finds them itself; the secret policy's aws:SourceVpce then "
          "names the reused secretsmanager endpoint.",
          default={},
          checks=((f'alltrue([for k, v in var.existing_vpc_endpoints : contains({_hcl_strings(REUSABLE_ENDPOINTS)}, k) '
                   f'&& can(regex("{VPCE_ID_RE}", v))])',
                   lambda v, _: isinstance(v, dict) and all(k in REUSABLE_ENDPOINTS and isinstance(e, str)
                                                            and re.fullmatch(VPCE_ID_RE, e) for k, e in v.items()),
                   f"existing_vpc_endpoints maps services ({', '.join(REUSABLE_ENDPOINTS)}) to endpoint IDs such as "
                   "vpce-0123456789abcdef0."),
                  ('length(var.existing_vpc_endpoints) == 0 || var.existing_vpc_id != ""',
                   lambda v, values: not v or values.get("existing_vpc_id", "") != "",
                   "existing_vpc_endpoints names endpoints of existing_vpc_id: set existing_vpc_id too, or leave "
                   "it empty."))),
    Input("pinecone_environment", "string",
          "Pinecone environment (e.g. us-east-1-aws), passed to the container as the plain environment variable "
          "PINECONE_ENVIRONMENT (not a secret). Empty = not set.",
          default="",
          checks=(_pattern("pinecone_environment", PINECONE_ENVIRONMENT_RE,
                           "pinecone_environment must be a Pinecone environment name such as us-east-1-aws "
                           "(a-z, 0-9, '.' and '-'), or empty."),)),
)


# --- The key version the tasks read (issue 23) -------------------------------------------------
INPUTS += (
    Input(SECRET_VERSION_INPUT, "string",
          "The version of the PINECONE_API_KEY secret the tasks read (a Secrets Manager VersionId): byoc secret put "
          "and byoc secret rollback pin it, so that a key change is a new task definition revision and ECS's "
          "circuit breaker, rolling a failed deployment back to the previous revision, returns to the previous key "
          "too. Empty = AWSCURRENT at each task start (the seed's flow: put-secret-value, then a new deployment).",
          default="",
          # The empty alternative outside the pattern: RE2 and Python read "(...)?" alike, but
          # a message that names both cases is clearer.
          checks=((f'var.{SECRET_VERSION_INPUT} == "" || can(regex("{SECRET_VERSION_ID_RE}", var.{SECRET_VERSION_INPUT}))',
                   lambda v, values: v == "" or _matches(SECRET_VERSION_ID_RE)(v, values),
                   f"{SECRET_VERSION_INPUT} must be empty (the tasks read AWSCURRENT) or a Secrets Manager version ID: "
                   "32-64 letters, digits, '-' or '_' (`aws secretsmanager list-secret-version-ids` lists them)."),)),
)


def pinecone_api_key_input(provider: bool) -> Input:
    """The seed's ``pinecone_api_key``: a Terraform variable only, never a CLI input (a secret does
    not belong in byoc.toml, BYOC_* or argv), sensitive and ephemeral (never in state or a saved
    plan). It can only be an argument of the Pinecone provider, so without the provider (``provider``
    False: byoc.toml has no [pinecone]) any value is refused by its validation."""
    refuse = () if provider else ((
        'var.pinecone_api_key == ""', lambda v, _: v in ("", None),
        "pinecone_api_key is only for the optional Pinecone provider (byoc.toml [pinecone]), which this stack "
        "does not use: the running service's key goes into Secrets Manager with `byoc secret put` (or aws "
        "secretsmanager put-secret-value), never through Terraform."),)
    return Input("pinecone_api_key", "string",
                 "Pinecone API key for the optional Pinecone provider only (index management); ephemeral, so never "
                 "in state or a saved plan. Empty = the provider reads PINECONE_API_KEY from the environment. The "
                 "service's own key is put with `byoc secret put`.",
                 default="", sensitive=True, ephemeral=True, checks=refuse)


BY_NAME: dict[str, Input] = {i.name: i for i in INPUTS}

#: The inputs by what they shape, in the order ``byoc deploy --help`` shows them (one help panel
#: each). Every input is in exactly one (tests/stack/test_inputs.py).
PANELS: dict[str, tuple[str, ...]] = {
    "Network": ("aws_region", "vpc_cidr", "private_subnet_cidrs", "public_subnet_cidrs", "nat_mode", "endpoint_set"),
    "Service": ("container_image", "app_name", "container_port", "desired_count", "start_tasks", "task_cpu",
                "task_memory", "autoscaling_min_capacity", "autoscaling_max_capacity", "autoscaling_cpu_target",
                "health_check_grace_period_seconds", "container_read_only_root_filesystem", "ecs_exec"),
    "Security": ("app_reader_principal_arns", "secret_recovery_window_days", SECRET_VERSION_INPUT),
    "Load balancer": ("load_balancer_type", "certificate_arn", "tls_policy", "private_dns_name", "health_check_path",
                      "alb_deletion_protection", "alb_access_logs_bucket"),
    "Observability": ("log_retention_days", "vpc_flow_logs", "alarms", "alarm_cpu_percent", "alarm_sns_topic_arn",
                      "alarm_create_sns_topic"),
    "Pinecone": ("pinecone_environment", "pinecone_privatelink_region", "pinecone_vpce_services",
                 "pinecone_aws_account_id", "pinecone_external_id"),
    "Existing VPC": ("existing_vpc_id", "existing_private_subnet_ids", "existing_vpc_endpoints"),
}


def panel(name: str) -> str:
    """The help panel of input ``name``."""
    return next(title for title, names in PANELS.items() if name in names)


def defaults() -> dict[str, Any]:
    return {i.name: i.default for i in INPUTS if not i.required}


def _references(spec: Input, hcl: str) -> set[str]:
    """The other inputs a check reads (``var.<name>`` in its Terraform condition)."""
    return set(re.findall(r"\bvar[.]([a-z0-9_]+)", hcl)) - {spec.name}


def validate(values: dict[str, Any]) -> list[FieldError]:
    """Every problem with ``values`` (a full set of inputs), first problem per field.

    As in Terraform (>= 1.9, cross-variable validation; observed with 1.11, and held to by
    tests/stack/test_input_parity.py): an input none of whose checks is evaluated while another input
    that any of them reads is itself refused, so one bad value is reported once, by its own
    name, and not again by every input that depends on it."""
    errors: list[FieldError] = []
    for unknown in sorted(set(values) - set(BY_NAME)):
        errors.append(FieldError(unknown, f"{unknown} is not a stack input; known inputs: "
                                          f"{', '.join(BY_NAME)}."))
    merged = {**defaults(), **values}
    verdicts: dict[str, FieldError | None] = {}

    def first_problem(name: str) -> FieldError | None:
        if name in verdicts:
            return verdicts[name]
        verdicts[name] = None  # a cycle of references counts as valid
        spec = BY_NAME[name]
        problem = None
        if name not in merged or merged[name] is None:
            if spec.required:
                problem = FieldError(name, f"{name} is required: set it in byoc.toml or pass {spec.flag} (e.g. "
                                           f"{spec.flag} 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.0).")
        elif not any(first_problem(ref) is not None for hcl, _ok, _m in spec.checks
                     for ref in _references(spec, hcl) if ref in BY_NAME):
            for _hcl, ok, message in spec.checks:
                if not ok(merged[name], merged):
                    problem = FieldError(name, message)
                    break
        verdicts[name] = problem
        return problem

    errors.extend(e for e in map(first_problem, BY_NAME) if e is not None)
    return errors
