"""One rule, two places, the same verdict: every input's good and bad examples go through the
Python check (``stacks.inputs.validate``, what the CLI runs first) and through real ``terraform
plan`` on the stack's own ``variable`` blocks (what plain-terraform users get), and both must
agree on whether the value is refused and which input is named.

Each case is one plan of a configuration holding only the stack's variables (no providers, a
fraction of a second each), so every verdict is terraform's own.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from stacks.inputs import BY_NAME, validate
from tfrun import terraform, variables_only

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"
ROLE = "arn:aws:iam::123456789012:role/reader"
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

#: input -> (good values, bad values); a value that is a dict sets several inputs at once (the
#: cross-field rules), else it is the input's own value.
EXAMPLES: dict[str, tuple[list, list]] = {
    "aws_region": (["us-east-1", "eu-central-1", "us-gov-west-1", "ap-southeast-2"],
                   ["moon-1", "US-EAST-1", "us-east", "us-east-0", ""]),
    "vpc_cidr": (["10.0.0.0/16",
                  {"vpc_cidr": "172.16.0.0/20", "private_subnet_cidrs": ["172.16.1.0/24", "172.16.2.0/24"],
                   "public_subnet_cidrs": ["172.16.3.0/24", "172.16.4.0/24"]},
                  {"vpc_cidr": "10.0.0.0/28", "private_subnet_cidrs": ["10.0.0.0/30", "10.0.0.4/30"],
                   "public_subnet_cidrs": ["10.0.0.8/30", "10.0.0.12/30"]}],
                 ["banana", "10.0.0.0/8", "10.0.0.0/29", "10.0.0.5/16", "fd00::/48", "10.0.0.0", "300.0.0.0/16"]),
    "private_subnet_cidrs": ([["10.0.1.0/24", "10.0.2.0/24"], ["10.0.3.0/26", "10.0.3.64/26"]],
                             [["10.0.1.0/24"], ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"], ["10.1.1.0/24", "10.1.2.0/24"],
                              ["10.0.1.5/24", "10.0.2.0/24"], ["banana", "10.0.2.0/24"], ["10.0.1.0/24", "10.0.1.0/25"],
                              ["10.0.101.0/24", "10.0.2.0/24"], ["fd00::/64", "10.0.2.0/24"],
                              # public subnets overlapping the private ones: reported on private_subnet_cidrs
                              {"public_subnet_cidrs": ["10.0.1.0/24", "10.0.102.0/24"]},
                              {"public_subnet_cidrs": ["10.0.0.0/16", "10.0.102.0/24"]}]),
    "public_subnet_cidrs": ([["10.0.101.0/24", "10.0.102.0/24"]],
                            [["10.0.101.0/24"], ["10.9.0.0/24", "10.0.102.0/24"], ["10.0.101.0/23", "10.0.102.0/24"],
                             ["10.0.101.0/24", "fd00::/64"]]),
    "app_name": (["byoc-agents", "ab", "a" * 28, "svc-1"],
                 ["Byoc_Agents", "a", "a" * 29, "1abc", "abc-", ""]),
    "container_image": ([IMAGE, "nginx", "nginx:1.27", "public.ecr.aws/nginx/nginx:1.27", "localhost:5000/app@sha256:" + "a" * 64],
                        ["not an image", "Nginx", "", "nginx:", "app@sha256:123"]),
    "container_port": ([1, 8080, 65535], [0, 65536, 80.5, -1]),
    "desired_count": ([1, 4, {"desired_count": 0, "autoscaling_min_capacity": 0}, {"desired_count": 10, "autoscaling_max_capacity": 10}],
                      [-1, 2.5, 1001, 5, 0, {"desired_count": 1, "autoscaling_min_capacity": 2, "autoscaling_max_capacity": 4}]),
    "start_tasks": ([True, False], []),
    "task_cpu": ([256, {"task_cpu": 1024, "task_memory": 2048}, {"task_cpu": 16384, "task_memory": 32768}],
                 [300, 0, 128, 256.5]),
    "task_memory": ([512, {"task_cpu": 1024, "task_memory": 8192}, {"task_cpu": 8192, "task_memory": 61440}],
                    [4096, 768, {"task_cpu": 1024, "task_memory": 1024}, 512.5]),
    "app_reader_principal_arns": ([[], [ROLE], ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/ops"]],
                                  [["not-an-arn"], ["arn:aws:s3:::bucket"], ["arn:aws:iam::12345:role/x"], [""]]),
    "pinecone_vpce_services": ([[], ["com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"]],
                               [["vpce-svc-0123"], ["com.amazonaws"], [""]]),
    "autoscaling_min_capacity": ([0, 1, {"autoscaling_min_capacity": 4, "desired_count": 4}],
                                 [-1, 1.5, {"autoscaling_min_capacity": 5000, "autoscaling_max_capacity": 5000,
                                            "desired_count": 5000}]),
    "autoscaling_max_capacity": ([4, 1000, {"autoscaling_max_capacity": 1}],
                                 [1001, 4.5, {"autoscaling_min_capacity": 5, "autoscaling_max_capacity": 2}]),
    "autoscaling_cpu_target": ([10, 60, 90, 55.5], [9, 91, 0]),
    "log_retention_days": ([1, 30, 3653], [0, 2, 31, 30.5]),
    "health_check_path": (["/", "/health", "/api/v1/ready", "/a.b_c~d-e"], ["health", "", "/a b", "/a?b"]),
    "health_check_grace_period_seconds": ([0, 60, 2147483647], [-1, 1.5, 2147483648]),
    "secret_recovery_window_days": ([0, 7, 30], [1, 6, 31, 7.5, -7]),
    "container_read_only_root_filesystem": ([True, False], []),
    "alb_deletion_protection": ([True, False], []),
    "alb_access_logs_bucket": (["", "my-logs", "a.b-c", "a" * 63], ["My_Logs", "ab", "a" * 64, "-logs"]),
    "vpc_flow_logs": ([True, False], []),
    "pinecone_aws_account_id": (["", {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "ext-id"}],
                                ["12345", "12345678901a", {"pinecone_aws_account_id": "1234567890123",
                                                           "pinecone_external_id": "ext-id"}]),
    "pinecone_external_id": (["", {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "ab"},
                              {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "x" * 1224},
                              {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "a+=,.@:/-Z9"}],
                             ["abc", {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": ""},
                              {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "x"},
                              {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "x" * 1225},
                              {"pinecone_aws_account_id": "123456789012", "pinecone_external_id": "has space"}]),
    "nat_mode": (["per_az", "single", "none"], ["two", "", "PER_AZ"]),
    "endpoint_set": (["full", "minimal"], ["none", ""]),
    "load_balancer_type": (["application", "network"], ["gateway", "alb"]),
    "certificate_arn": (["", CERT], ["arn:aws:acm:us-east-1:123:certificate/x", CERT.replace("us-east-1", "eu-west-1"),
                                     "not-an-arn"]),
    "tls_policy": (["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10"],
                   ["ELBSecurityPolicy-2016-08", ""]),
    "private_dns_name": (["", "api.internal.yourcorp", "a.b"], ["internal", "API.internal.corp", "a..b", "a.b.",
                                                              ("a" * 60 + ".") * 4 + "a" * 10]),
    "alarms": ([True, False], []),
    "alarm_cpu_percent": ([1, 80, 100, 75.5], [0, 101]),
    "alarm_sns_topic_arn": (["", TOPIC], ["arn:aws:sns:us-east-1:123:alerts", "alerts"]),
    "alarm_create_sns_topic": ([True, False], [{"alarm_create_sns_topic": True, "alarm_sns_topic_arn": TOPIC}]),
    "ecs_exec": ([False, {"ecs_exec": True, "container_read_only_root_filesystem": False}], [True]),
    "pinecone_privatelink_region": (["", "us-east-1", {"aws_region": "eu-west-1", "pinecone_privatelink_region": "eu-west-1"}],
                                    ["eu-west-1", "moon-1", {"aws_region": "ap-south-1", "pinecone_privatelink_region": "ap-south-1"}]),
    "existing_vpc_id": (["", {"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS}],
                        ["vpc-123", "vpc-0123456789ABCDEF0", "subnet-0123456789abcdef0"]),
    "existing_private_subnet_ids": ([[], {"existing_vpc_id": "vpc-01234567", "existing_private_subnet_ids": SUBNETS}],
                                    [SUBNETS, ["subnet-x"], {"existing_vpc_id": VPC, "existing_private_subnet_ids": []},
                                     {"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS[:1] * 2},
                                     {"existing_vpc_id": VPC, "existing_private_subnet_ids": [*SUBNETS, "subnet-0c"]}]),
    "existing_vpc_endpoints": ([{}, {"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS,
                                     "existing_vpc_endpoints": {"secretsmanager": "vpce-0123456789abcdef0"}}],
                               [{"existing_vpc_endpoints": {"secretsmanager": "vpce-0123456789abcdef0"}},
                                {"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS,
                                 "existing_vpc_endpoints": {"dynamodb": "vpce-0123456789abcdef0"}},
                                {"existing_vpc_id": VPC, "existing_private_subnet_ids": SUBNETS,
                                 "existing_vpc_endpoints": {"s3": "vpc-0123"}}]),
    "pinecone_environment": (["", "us-east-1-aws", "gcp-starter"], ["US-EAST", "-aws", "a b", "x" * 65]),
    "secret_version_id": (["", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "x" * 32, "Z_9-" * 16],
                          ["AWSCURRENT", "x" * 31, "x" * 65, "a1b2c3d4-5678-90ab-cdef-EXAMPLE1111:",
                           "a1b2c3d4 5678-90ab-cdef-EXAMPLE11111", " a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"]),
}


def _cases() -> list[tuple[str, dict, bool]]:
    cases = []
    for name, (good, bad) in EXAMPLES.items():
        for verdict, values in ((True, good), (False, bad)):
            for value in values:
                cases.append((name, value if isinstance(value, dict) else {name: value}, verdict))
    return cases


CASES = _cases()


def _python_fields(values: dict) -> set[str]:
    return {e.field for e in validate({"container_image": IMAGE, **values})}


def test_every_input_has_good_and_bad_examples():
    assert set(EXAMPLES) == set(BY_NAME)
    for name, (good, bad) in EXAMPLES.items():
        assert good, name
        # Booleans have no bad value of their own type: Terraform's type check refuses the rest.
        assert bad or BY_NAME[name].tf_type == "bool", name


@pytest.mark.parametrize("name, values, good", CASES, ids=[f"{n}-{'good' if g else 'bad'}-{i}"
                                                           for i, (n, _v, g) in enumerate(CASES)])
def test_python_refuses_a_bad_example_naming_only_its_input_and_accepts_a_good_one(name, values, good):
    # One bad value is reported once, by its own name (stacks.inputs.validate): never also by the
    # inputs whose checks read it.
    assert _python_fields(values) == (set() if good else {name})


@pytest.fixture(scope="module")
def terraform_verdicts(stack_json, tmp_path_factory) -> dict[int, set[str]]:
    """Every case planned by real terraform on the stack's variables: case number -> the inputs it
    refused. One plan per case: in a plan that already failed some validations, terraform does
    not go on to the cross-variable ones (checked: ecs_exec=true alone is refused, next to a bad
    task_cpu in another module call it is not), so cases cannot share a plan."""
    folder = variables_only(stack_json, tmp_path_factory.mktemp("parity"))

    def plan(i: int) -> set[str]:
        var_file = folder / f"case_{i}.tfvars.json"
        # One input per line: a diagnostic's snippet is the line of the refused value.
        var_file.write_text(json.dumps({"container_image": IMAGE, **CASES[i][1]}, indent=1))
        proc = terraform(folder, {}, "plan", "-input=false", "-json", "-lock=false", f"-var-file={var_file.name}",
                         ok=(0, 1), timeout=300)
        refused = set()
        for line in proc.stdout.splitlines():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("type") != "diagnostic" or message["diagnostic"]["severity"] != "error":
                continue
            diagnostic = message["diagnostic"]
            assert diagnostic["summary"] == "Invalid value for variable", diagnostic
            field = re.search(r'"(\w+)"', diagnostic["snippet"]["code"])
            assert field, diagnostic
            refused.add(field.group(1))
        assert refused or proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
        return refused

    with ThreadPoolExecutor(max_workers=4) as pool:  # each plan is a short terraform process
        return dict(enumerate(pool.map(plan, range(len(CASES)))))


@pytest.mark.terraform
def test_terraform_and_python_refuse_exactly_the_same_inputs(terraform_verdicts):
    differ = []
    for i, (name, values, good) in enumerate(CASES):
        python, tf = _python_fields(values), terraform_verdicts[i]
        if python != tf:
            differ.append(f"{name} {values!r}: python refuses {sorted(python)}, terraform refuses {sorted(tf)}")
    assert not differ, "\n".join(differ)
