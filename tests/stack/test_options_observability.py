"""Issue 7's observability options: CloudWatch alarms (with an optional SNS topic) and ECS Exec.

Two views, one behaviour per test:
- the session's synthesized JSON (``stack_json``): what each alarm watches, which variables
  switch what, and the exact permissions ECS Exec gets;
- ONE real deployment against a moto server on 127.0.0.1 with ``alarms``,
  ``alarm_create_sns_topic`` and ``ecs_exec`` on (and the writable root filesystem ECS Exec
  needs): what AWS (the emulator) holds afterwards, and a re-plan with no changes.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from stacks import STACK_NAME
from stacks.inputs import validate
from tfrun import aws, terraform, variables_only

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/byoc-agents:1.0"
APP = "byoc-agents"
ALARMS = ("service_cpu", "load_balancer_5xx", "unhealthy_targets", "running_tasks_below_desired")
#: The topic expression every alarm action and the output use (created, else existing, else null).
TOPIC_ARN = ("var.alarms ? (var.alarm_create_sns_topic ? one(aws_sns_topic.alarms[*].arn) : "
             "(length(var.alarm_sns_topic_arn) >= 1 ? var.alarm_sns_topic_arn : null)) : null")
EXEC_VARS = ["-var", f"container_image={IMAGE}", "-var", "alarms=true", "-var", "alarm_create_sns_topic=true",
             "-var", "ecs_exec=true", "-var", "container_read_only_root_filesystem=false"]


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def policy_document(doc: dict, expression: str) -> dict:
    name = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", expression).group(1)
    return doc["data"]["aws_iam_policy_document"][name]


def alarm(doc: dict, name: str) -> dict:
    return resources(doc, "aws_cloudwatch_metric_alarm")[name]


def queries_by_id(alarm_body: dict) -> dict[str, dict]:
    return {q["id"]: q for q in alarm_body["metric_query"]}


# --------------------------------------------------------------------------- alarms (synth)

def test_alarms_default_on_and_each_alarm_is_counted_by_the_variable(stack_json):
    assert stack_json["variable"]["alarms"]["default"] is True
    assert stack_json["variable"]["alarm_cpu_percent"]["default"] == 80
    assert set(resources(stack_json, "aws_cloudwatch_metric_alarm")) == set(ALARMS)
    for name in ("service_cpu", "unhealthy_targets", "running_tasks_below_desired"):
        assert alarm(stack_json, name)["count"] == "${var.alarms ? 1 : 0}", name


def test_cpu_alarm_watches_the_services_average_cpu_against_alarm_cpu_percent(stack_json):
    cpu = alarm(stack_json, "service_cpu")
    assert (cpu["namespace"], cpu["metric_name"], cpu["statistic"]) == ("AWS/ECS", "CPUUtilization", "Average")
    assert cpu["dimensions"] == {"ClusterName": "${aws_ecs_cluster.main.name}",
                                 "ServiceName": "${aws_ecs_service.app.name}"}
    assert (cpu["comparison_operator"], cpu["threshold"]) == ("GreaterThanThreshold", "${var.alarm_cpu_percent}")
    assert cpu["period"] * cpu["evaluation_periods"] == 300  # sustained for 5 minutes, not one spike


def test_5xx_alarm_sums_target_and_load_balancer_5xx_of_this_alb(stack_json):
    five = alarm(stack_json, "load_balancer_5xx")
    queries = queries_by_id(five)
    metrics = {q["metric"]["metric_name"]: q for q in queries.values() if "metric" in q}
    assert set(metrics) == {"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"}
    for query in metrics.values():
        assert query["metric"]["namespace"] == "AWS/ApplicationELB"
        assert query["metric"]["dimensions"] == {"LoadBalancer": "${aws_lb.main.arn_suffix}"}
        assert query["metric"]["stat"] == "Sum" and query["return_data"] is False
    (result,) = [q for q in queries.values() if q.get("return_data") is True]
    assert {q["id"] for q in metrics.values()} == set(re.findall(r"FILL\((\w+), 0\)", result["expression"]))
    # ELB publishes 5xx counts only for minutes that had some: no data is good news.
    assert five["treat_missing_data"] == "notBreaching"


def test_5xx_alarm_does_not_exist_for_a_network_load_balancer(stack_json):
    assert alarm(stack_json, "load_balancer_5xx")["count"] == (
        '${(var.alarms && (var.load_balancer_type == "application")) ? 1 : 0}')


def test_unhealthy_targets_alarm_takes_the_namespace_of_the_load_balancer_type(stack_json):
    unhealthy = alarm(stack_json, "unhealthy_targets")
    assert unhealthy["metric_name"] == "UnHealthyHostCount"
    assert unhealthy["namespace"] == '${(var.load_balancer_type == "network") ? "AWS/NetworkELB" : "AWS/ApplicationELB"}'
    assert unhealthy["dimensions"] == {"TargetGroup": "${aws_lb_target_group.app.arn_suffix}",
                                       "LoadBalancer": "${aws_lb.main.arn_suffix}"}
    assert (unhealthy["comparison_operator"], unhealthy["threshold"]) == ("GreaterThanThreshold", 0)


def test_running_tasks_alarm_fires_when_container_insights_counts_fewer_running_than_desired(stack_json):
    assert {"name": "containerInsights", "value": "enabled"} in resources(stack_json, "aws_ecs_cluster")["main"]["setting"]
    below = alarm(stack_json, "running_tasks_below_desired")
    queries = queries_by_id(below)
    names = {q["metric"]["metric_name"]: q["id"] for q in queries.values() if "metric" in q}
    assert set(names) == {"RunningTaskCount", "DesiredTaskCount"}
    for query in (q for q in queries.values() if "metric" in q):
        assert query["metric"]["namespace"] == "ECS/ContainerInsights"
        assert query["metric"]["dimensions"] == {"ClusterName": "${aws_ecs_cluster.main.name}",
                                                 "ServiceName": "${aws_ecs_service.app.name}"}
    (result,) = [q for q in queries.values() if q.get("return_data") is True]
    assert result["expression"] == f"{names['DesiredTaskCount']} - {names['RunningTaskCount']}"
    assert (below["comparison_operator"], below["threshold"]) == ("GreaterThanThreshold", 0)


def test_every_alarm_notifies_the_one_topic_on_alarm_and_on_ok(stack_json):
    for name in ALARMS:
        body = alarm(stack_json, name)
        assert body["alarm_actions"] == body["ok_actions"] == f"${{compact([{TOPIC_ARN}])}}", name
    assert stack_json["output"]["alarm_topic_arn"]["value"] == f"${{{TOPIC_ARN}}}"


def test_created_topic_is_named_after_the_app_and_encrypted_with_the_stack_key(stack_json):
    topic = resources(stack_json, "aws_sns_topic")["alarms"]
    assert topic["count"] == "${(var.alarms && var.alarm_create_sns_topic) ? 1 : 0}"
    assert topic["name"] == "${var.app_name}-alarms"
    assert topic["kms_master_key_id"] == "${aws_kms_key.secrets.arn}"
    assert stack_json["variable"]["alarm_create_sns_topic"]["default"] is False


def test_key_policy_lets_cloudwatch_use_the_key_only_for_the_alarm_topic(stack_json):
    policy = policy_document(stack_json, resources(stack_json, "aws_kms_key_policy")["secrets_policy"]["policy"])
    (statement,) = [s for s in policy["statement"]
                    if s["principals"] == [{"type": "Service", "identifiers": ["cloudwatch.amazonaws.com"]}]]
    assert sorted(statement["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["resources"] == ["${aws_kms_key.secrets.arn}"]
    assert statement["condition"] == [{
        "test": "StringEquals", "variable": "kms:EncryptionContext:aws:sns:topicArn",
        "values": ["arn:${data.aws_partition.current_partition.partition}:sns:${var.aws_region}:"
                   "${data.aws_caller_identity.current.account_id}:${var.app_name}-alarms"]}]


# --------------------------------------------------------------------------- ECS Exec (synth)

def test_ecs_exec_is_off_by_default_and_switches_the_endpoint_grant_and_service(stack_json):
    assert stack_json["variable"]["ecs_exec"]["default"] is False
    assert resources(stack_json, "aws_vpc_endpoint")["ssmmessages"]["count"] == \
        '${(var.ecs_exec && !contains(keys(var.existing_vpc_endpoints), "ssmmessages")) ? 1 : 0}'
    assert resources(stack_json, "aws_iam_role_policy")["task_ecs_exec"]["count"] == "${var.ecs_exec ? 1 : 0}"
    assert resources(stack_json, "aws_ecs_service")["app"]["enable_execute_command"] == "${var.ecs_exec}"


def test_ssmmessages_endpoint_is_a_private_dns_interface_endpoint_in_the_private_subnets(stack_json):
    endpoint = resources(stack_json, "aws_vpc_endpoint")["ssmmessages"]
    assert endpoint["service_name"] == "com.amazonaws.${var.aws_region}.ssmmessages"
    assert (endpoint["vpc_endpoint_type"], endpoint["private_dns_enabled"]) == ("Interface", True)
    assert endpoint["subnet_ids"] == ["${local.private_subnet_ids[0]}", "${local.private_subnet_ids[1]}"]


def test_ecs_exec_grant_is_exactly_the_documented_permissions_on_the_task_role_only(stack_json):
    grant = resources(stack_json, "aws_iam_role_policy")["task_ecs_exec"]
    assert grant["role"] == "${aws_iam_role.task.id}"
    statements = {(s["sid"], tuple(sorted(s["actions"])), tuple(s["resources"]))
                  for s in policy_document(stack_json, grant["policy"])["statement"]}
    assert all(s["effect"] == "Allow" and "condition" not in s
               for s in policy_document(stack_json, grant["policy"])["statement"])
    group = "${aws_cloudwatch_log_group.exec.arn}"
    assert statements == {
        # No resource type exists for these: AWS documents them on "*".
        ("OpenSessionManagerChannels", ("ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"), ("*",)),
        ("FindTheExecLogGroup", ("logs:DescribeLogGroups",), ("*",)),
        ("WriteExecSessionLogs", ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"),
         (group, f"{group}:log-stream:*")),
        ("DecryptExecSessions", ("kms:Decrypt",), ("${aws_kms_key.secrets.arn}",)),
    }
    # Nothing else of the stack grants ssmmessages (the execution role never execs).
    other = [name for name, body in stack_json["data"]["aws_iam_policy_document"].items() if name != "ecs_exec"
             and "ssmmessages" in json.dumps(body)]
    assert other == []


def test_cluster_encrypts_exec_sessions_with_the_stack_key_and_logs_them_to_the_exec_group(stack_json):
    config = resources(stack_json, "aws_ecs_cluster")["main"]["configuration"]["execute_command_configuration"]
    assert config == {
        "kms_key_id": "${aws_kms_key.secrets.arn}", "logging": "OVERRIDE",
        "log_configuration": {"cloud_watch_log_group_name": "${aws_cloudwatch_log_group.exec.name}",
                              "cloud_watch_encryption_enabled": True}}


def test_exec_log_group_is_encrypted_kept_log_retention_days_and_allowed_by_the_key_policy(stack_json):
    group = resources(stack_json, "aws_cloudwatch_log_group")["exec"]
    assert group["name"] == "/ecs/${var.app_name}/exec"
    assert group["kms_key_id"] == "${aws_kms_key.secrets.arn}"
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert group["depends_on"] == ["aws_kms_key_policy.secrets_policy"]
    policy = policy_document(stack_json, resources(stack_json, "aws_kms_key_policy")["secrets_policy"]["policy"])
    (logs,) = [s for s in policy["statement"]
               if s["principals"] == [{"type": "Service", "identifiers": ["logs.${var.aws_region}.amazonaws.com"]}]]
    assert any(v.endswith(":log-group:/ecs/${var.app_name}/exec") for v in logs["condition"][0]["values"])


def test_ecs_exec_with_a_read_only_root_filesystem_is_rejected_naming_the_fix():
    errors = validate({"container_image": IMAGE, "ecs_exec": True})
    assert [e.field for e in errors] == ["ecs_exec"]
    assert "container_read_only_root_filesystem=false" in errors[0].message


# --------------------------------------------------------------------------- one deployment against moto

@dataclass
class Deployment:
    stack_dir: Path
    env: dict[str, str]
    outputs: dict

    def tf(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
        return terraform(self.stack_dir, self.env, *args, ok=ok)

    def aws(self, service: str):
        return aws(self.env, service)


@pytest.fixture(scope="module")
def deployed(project_copy_module, aws_env_module) -> Deployment:
    """init and apply with alarms, a created topic and ECS Exec on (the one apply of this module)."""
    d = Deployment(project_copy_module / "cdktf.out" / "stacks" / STACK_NAME, aws_env_module, {})
    d.tf("init", "-input=false", "-no-color")
    d.tf("apply", "-input=false", "-no-color", "-auto-approve", *EXEC_VARS)
    d.outputs = {k: v["value"] for k, v in json.loads(d.tf("output", "-json").stdout).items()}
    return d


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_alarms_notify_the_created_topic_on_alarm_and_ok(deployed):
    topic = deployed.outputs["alarm_topic_arn"]
    assert topic == f"arn:aws:sns:us-east-1:123456789012:{APP}-alarms"
    found = deployed.aws("cloudwatch").describe_alarms(AlarmNamePrefix=APP)["MetricAlarms"]
    assert {a["AlarmName"] for a in found} == {f"{APP}-service-cpu-high", f"{APP}-load-balancer-5xx",
                                               f"{APP}-unhealthy-targets", f"{APP}-running-tasks-below-desired"}
    for found_alarm in found:
        assert (found_alarm["AlarmActions"], found_alarm["OKActions"]) == ([topic], [topic]), found_alarm["AlarmName"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_alarms_watch_the_deployed_service_and_load_balancer(deployed):
    by_name = {a["AlarmName"]: a for a in deployed.aws("cloudwatch").describe_alarms(AlarmNamePrefix=APP)["MetricAlarms"]}
    cpu = by_name[f"{APP}-service-cpu-high"]
    assert {d["Name"]: d["Value"] for d in cpu["Dimensions"]} == {
        "ClusterName": deployed.outputs["ecs_cluster_name"], "ServiceName": deployed.outputs["ecs_service_name"]}
    assert cpu["Threshold"] == 80.0
    (balancer,) = deployed.aws("elbv2").describe_load_balancers()["LoadBalancers"]
    suffix = balancer["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    unhealthy = by_name[f"{APP}-unhealthy-targets"]
    assert unhealthy["Namespace"] == "AWS/ApplicationELB"
    assert {d["Name"]: d["Value"] for d in unhealthy["Dimensions"]}["LoadBalancer"] == suffix
    below = by_name[f"{APP}-running-tasks-below-desired"]
    assert {m["Id"]: m.get("Expression") for m in below["Metrics"] if m.get("ReturnData")} == {
        "missing_tasks": "desired - running"}


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_alarm_topic_is_encrypted_with_the_stack_key(deployed):
    attributes = deployed.aws("sns").get_topic_attributes(TopicArn=deployed.outputs["alarm_topic_arn"])["Attributes"]
    assert attributes["KmsMasterKeyId"] == deployed.outputs["kms_key_arn"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_ssmmessages_endpoint_serves_the_private_subnets_with_private_dns(deployed):
    (endpoint,) = deployed.aws("ec2").describe_vpc_endpoints(Filters=[
        {"Name": "service-name", "Values": ["com.amazonaws.us-east-1.ssmmessages"]}])["VpcEndpoints"]
    assert endpoint["VpcId"] == deployed.outputs["vpc_id"]
    assert endpoint["PrivateDnsEnabled"] is True
    assert sorted(endpoint["SubnetIds"]) == sorted(deployed.outputs["private_subnet_ids"])


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_cluster_encrypts_and_logs_exec_sessions(deployed):
    (cluster,) = deployed.aws("ecs").describe_clusters(clusters=[deployed.outputs["ecs_cluster_name"]])["clusters"]
    config = cluster["configuration"]["executeCommandConfiguration"]
    assert config["kmsKeyId"] == deployed.outputs["kms_key_arn"]
    assert config["logging"] == "OVERRIDE"
    assert config["logConfiguration"] == {"cloudWatchLogGroupName": f"/ecs/{APP}/exec",
                                          "cloudWatchEncryptionEnabled": True}
    (group,) = deployed.aws("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{APP}/exec")["logGroups"]
    assert group["kmsKeyId"] == deployed.outputs["kms_key_arn"]


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_service_has_execute_command_enabled(deployed):
    (service,) = deployed.aws("ecs").describe_services(cluster=deployed.outputs["ecs_cluster_name"],
                                                       services=[deployed.outputs["ecs_service_name"]])["services"]
    assert service["enableExecuteCommand"] is True


@pytest.mark.terraform
@pytest.mark.emulator
def test_applied_task_role_has_the_exec_policy_and_nothing_more(deployed):
    iam = deployed.aws("iam")
    assert iam.list_role_policies(RoleName=f"{APP}-task-role")["PolicyNames"] == ["ecs-exec"]
    document = iam.get_role_policy(RoleName=f"{APP}-task-role", PolicyName="ecs-exec")["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    actions = sorted(a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    assert actions == ["kms:Decrypt", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
                       "logs:PutLogEvents", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                       "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    assert iam.list_role_policies(RoleName=f"{APP}-execution-role")["PolicyNames"] == []


@pytest.mark.terraform
@pytest.mark.emulator
def test_plan_after_apply_shows_no_changes(deployed):
    proc = deployed.tf("plan", "-input=false", "-no-color", "-detailed-exitcode", *EXEC_VARS, ok=(0, 2))
    assert proc.returncode == 0, proc.stdout[-4000:]


@pytest.mark.terraform
def test_terraform_rejects_ecs_exec_with_a_read_only_root_filesystem(stack_json, tmp_path):
    # The stack's own variable blocks, planned alone (tfrun.variables_only): the same validation.
    proc = terraform(variables_only(stack_json, tmp_path), {}, "plan", "-input=false", "-no-color",
                     "-var", f"container_image={IMAGE}", "-var", "ecs_exec=true", ok=(1,))
    message = " ".join(proc.stderr.replace("│", " ").split())
    assert "Invalid value for variable" in message
    assert "set container_read_only_root_filesystem=false to use ecs_exec=true" in message


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.parametrize(("variables", "topic"), [
    pytest.param(["alarm_sns_topic_arn=arn:aws:sns:us-east-1:123456789012:alerts"],
                 "arn:aws:sns:us-east-1:123456789012:alerts", id="existing-topic"),
    pytest.param([], None, id="no-topic"),
    pytest.param(["alarms=false", "alarm_create_sns_topic=true"], None, id="alarms-off"),
])
def test_alarm_topic_and_actions_are_the_existing_topic_or_null_and_none(deployed, stack_json, variables, topic):
    """The output's and the actions' expressions, evaluated by terraform for the other choices."""
    output = stack_json["output"]["alarm_topic_arn"]["value"][2:-1]
    actions = alarm(stack_json, "service_cpu")["alarm_actions"][2:-1]
    args = ["console", "-var", f"container_image={IMAGE}"]
    for assignment in variables:
        args += ["-var", assignment]
    proc = terraform(deployed.stack_dir, deployed.env, *args, timeout=300,
                     stdin=f"jsonencode({{topic = {output}, actions = {actions}}})\n")
    assert json.loads(json.loads(proc.stdout)) == {"topic": topic, "actions": [topic] if topic else []}
