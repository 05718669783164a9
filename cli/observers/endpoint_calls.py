"""A task start's calls through each VPC endpoint, judged under that endpoint's policy.

A restrictive endpoint policy denies a task start as surely as the secret policy: AWS evaluates the
policy of the endpoint a request comes through beside the identity and resource policies (IAM User
Guide, "Policy evaluation logic"; PrivateLink guide, "Control access to VPC endpoints using
endpoint policies"). What a task start asks for through each endpoint is the catalog's
``TASK_START_CALLS`` (the secret's GetSecretValue; ECR's token, image and layers when the image is
in this account's private ECR; the awslogs stream), asked as the execution role.

The judge is the independent evaluator (``cli/core/evaluator``, never byoc's own reader), over the
endpoint's PolicyDocument as DescribeVpcEndpoints returns it, with the request context an endpoint
gives (``aws:SourceVpce``, ``aws:SourceVpc``); the verdict read is the evaluator's for the
endpoint policy alone (its analysis of the ``endpoint`` policy type), so the role's own grants and
the resource's policy, judged elsewhere, do not blur it. Without the evaluator the calls are "not
evaluated", said, never passed. Before a deploy the resources do not exist yet: the execution
role's ARN is known from its name; the secret's ARN is the real one when the secret exists, else
its name with a stand-in for the six characters Secrets Manager appends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from cli.observers.vpc import Endpoint, Finding
from constructs_lib.catalog import (ECR_PULL_SERVICES, LOG_STREAM_PREFIX, TASK_START_CALLS, execution_role_name,
                                    secret_name, service_log_group_name)

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)")
#: What stands in for Secrets Manager's six random characters before the secret exists.
SECRET_SUFFIX_STAND_IN = "-AbCdEf"


@dataclass(frozen=True)
class TaskStart:
    """Who a task start asks as, and about which resources."""

    partition: str
    region: str
    account: str
    app_name: str
    image: str
    secret_arn: str
    vpc_id: str
    #: The execution role's ARN; before a deploy, its name's (``execution_role_arn``).
    execution_role: str

    @property
    def repository(self) -> str | None:
        """The image's repository ARN when it is in this account's private ECR in this region."""
        m = _ECR_IMAGE.match(self.image or "")
        if not m or m.group(1) != self.account or m.group(2) != self.region:
            return None
        return f"arn:{self.partition}:ecr:{self.region}:{self.account}:repository/{m.group(3)}"

    def calls(self, service: str) -> list[tuple[str, str]]:
        """(action, resource) of each call a task start makes through ``service``'s endpoint."""
        if service in ECR_PULL_SERVICES and self.repository is None:
            return []  # a public image: pulled through the NAT, not through these endpoints
        stream = (f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
                  f"{service_log_group_name(self.app_name)}:log-stream:{LOG_STREAM_PREFIX}/{self.app_name}/task")
        fill = {"partition": self.partition, "region": self.region, "account": self.account,
                "secret": self.secret_arn, "repository": self.repository or "", "log_stream": stream,
                "layer": "layer"}
        return [(action, resource.format(**fill)) for action, resource in TASK_START_CALLS.get(service, ())]


def execution_role_arn(partition: str, account: str, app_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{execution_role_name(app_name)}"


def secret_arn_before_deploy(target, partition: str, account: str, app_name: str) -> str:
    """The secret's ARN: the real one when it exists (DescribeSecret by name), else its name with
    a stand-in suffix (Secrets Manager appends six random characters at creation)."""
    from botocore.exceptions import ClientError

    name = secret_name(app_name)
    try:
        return target.client("secretsmanager").describe_secret(SecretId=name)["ARN"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    return f"arn:{partition}:secretsmanager:{target.region}:{account}:secret:{name}{SECRET_SUFFIX_STAND_IN}"


@dataclass
class EndpointJudgement:
    denied: list[Finding]
    not_evaluated: list[str]
    judged: list[str]


def judge(start: TaskStart, endpoints: dict[str, Endpoint], evaluator=None) -> EndpointJudgement:
    """Each call of a task start through each endpoint of ``endpoints`` (service -> endpoint),
    judged under that endpoint's policy by the independent evaluator."""
    from cli.core.evaluator import Evaluator, EvaluatorUnavailable, PolicyRequest, locate

    out = EndpointJudgement([], [], [])
    asked = [(service, endpoint, start.calls(service)) for service, endpoint in endpoints.items()]
    asked = [(s, e, calls) for s, e, calls in asked if calls]
    if not asked:
        return out
    owned = None
    try:
        if evaluator is None:
            folder = locate()
            if folder is None:
                out.not_evaluated.append("endpoint policies: the independent policy evaluator is not installed "
                                         "(`byoc evaluator install`)")
                return out
            evaluator = owned = Evaluator(folder)
        for service, endpoint, calls in asked:
            policy = json.loads(endpoint.policy) if endpoint.policy else None
            if policy is None:  # no policy: AWS's default, full access
                out.judged.append(service)
                continue
            for action, resource in calls:
                grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
                context = {"aws:SourceVpce": endpoint.id, "aws:SourceVpc": start.vpc_id}
                decision = evaluator.evaluate(PolicyRequest(
                    start.execution_role, action, resource, start.account, context,
                    [("the stack's grant", grant)], None, None, [(endpoint.id, policy)]))
                verdict = dict(decision.analysis).get("endpoint")
                if decision.result == "NotEvaluated" or verdict is None:
                    out.not_evaluated.append(f"{endpoint.name}: {action}: {decision.reason}")
                elif verdict != "Allowed":
                    by = "; ".join(d for d in decision.decided_by if "endpoint" in d.lower()) or verdict
                    out.denied.append(Finding(endpoint.name, f"its policy denies the execution role {action} on "
                                              f"{resource} ({by})"))
            out.judged.append(service)
    except EvaluatorUnavailable as exc:
        out.not_evaluated.append(f"endpoint policies: {exc}")
    finally:
        if owned is not None:
            owned.close()
    return out
