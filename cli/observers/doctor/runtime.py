"""Doctor's runtime checks: the image, the service, its stopped tasks and its targets — what ECS
did with everything the other checks look at.

The stopped tasks are the runbook's first stop: each failed task's ``stoppedReason``,
explained (``explain``). Failures of the current deployment fail the check; those of earlier
deployments (ECS shows stopped tasks for about an hour) are a warning, since the service has
moved on from them. A service that ECS's circuit breaker rolled back fails the service check
even when the old revision serves well: the last change did not happen (``revisions.py``).
"""

from __future__ import annotations

import json
import re
from collections import Counter

from cli.observers.doctor import FAIL, PASS, SKIP, WARN, Check
from cli.observers.stopped import explain_stopped, redact
from cli.core.policy import action_matches, arn_like, as_list
from cli.observers.revisions import read_revisions
from cli.observers.service import is_failure, primary_deployment, stopped_tasks

IMAGE = "image exists and may be pulled"
SERVICE = "service running"
STOPPED = "stopped tasks explained"
TARGETS = "load balancer targets healthy"

_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([^:@]+)(?::([^@]+))?(?:@(.+))?$")
#: What pulling an image from ECR asks of the execution role.
PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def _blocks_pull(policy_text: str, role_arn: str) -> str | None:
    """'denied' when the repository policy denies the role a pull; 'unknown' when a Deny with
    conditions might; None otherwise."""
    verdict = None
    for s in as_list(json.loads(policy_text).get("Statement")):
        if s.get("Effect") != "Deny" or not any(action_matches(as_list(s.get("Action")), a) for a in PULL_ACTIONS):
            continue
        principal = s.get("Principal")
        who = as_list(principal.get("AWS") if isinstance(principal, dict) else principal)
        if "*" in who or any(arn_like(w, role_arn) for w in who if isinstance(w, str) and w.startswith("arn:")):
            if not s.get("Condition"):
                return "denied"
            verdict = "unknown"
    return verdict


def image(d) -> Check:
    from botocore.exceptions import ClientError

    images = sorted({c.get("image", "") for td in d.task_definitions for c in td.get("containerDefinitions", [])})
    if not images:
        return Check(IMAGE, WARN, "no task definition to read the image from", "re-run `byoc deploy`")
    ecr = d.client("ecr")
    problems, checked, skipped = [], [], []
    role = d.outputs["ecs_execution_role_arn"]
    for ref in images:
        m = _ECR_IMAGE.match(ref)
        if not m or m.group(1) != d.account or m.group(2) != d.region:
            skipped.append(ref)
            continue
        _account, _region, repo, tag, digest = m.groups()
        image_id = {"imageDigest": digest} if digest else {"imageTag": tag or "latest"}
        try:
            ecr.describe_images(repositoryName=repo, imageIds=[image_id])
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("ImageNotFoundException", "RepositoryNotFoundException"):
                problems.append(f"{ref}: {'no such repository' if code.startswith('Repository') else 'no such image'}")
                continue
            raise
        try:
            text = ecr.get_repository_policy(repositoryName=repo)["policyText"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "RepositoryPolicyNotFoundException":
                raise
            text = None
        blocked = _blocks_pull(text, role) if text else None
        if blocked == "denied":
            problems.append(f"{ref}: the repository policy denies the execution role {', '.join(PULL_ACTIONS)}")
        elif blocked == "unknown":
            skipped.append(f"{ref} (a conditional Deny in the repository policy, not judged)")
        else:
            checked.append(ref)
    if problems:
        return Check(IMAGE, FAIL, "; ".join(problems), "push the image (or fix container_image), and let the "
                     "execution role pull it (repository policy)")
    if checked:
        return Check(IMAGE, PASS, ", ".join(checked) + " in this account's ECR; the repository policy allows the pull"
                     + (f"; not checked: {', '.join(skipped)}" if skipped else ""))
    return Check(IMAGE, SKIP, f"not checked: {', '.join(skipped)} is not in this account's ECR in {d.region}")


def service(d) -> Check:
    """Tasks serving, whatever deployment they belong to (a rollout keeps the old ones until the
    new ones are healthy); why new tasks fail is the stopped-tasks check's to say."""
    svc = d.service
    if svc is None:
        return Check(SERVICE, FAIL, f"no active service {d.outputs['ecs_service_name']}", "re-run `byoc deploy`")
    desired, running, pending = (int(svc.get(k, 0)) for k in ("desiredCount", "runningCount", "pendingCount"))
    primary = primary_deployment(svc) or {}
    rollout = primary.get("rolloutState") or "UNKNOWN"
    detail = f"{running} of {desired} tasks running, rollout {rollout}"
    rev = read_revisions(d.client("ecs"), svc)
    if rev.rolled_back:
        return Check(SERVICE, FAIL, f"{detail}, but the last change failed and was rolled back: ECS's circuit breaker "
                     f"took {rev.latest}{_key(rev.latest_key)} back and runs {rev.primary}"
                     f"{_key(next(iter(r.key_version for r in rev.running if r.revision == rev.primary), None))} "
                     f"(ECS: \"{rev.ecs_says}\")",
                     "read the stopped tasks below; a bad key: `byoc secret rollback` makes the running key current "
                     "again (or `byoc secret put` a good one); else fix what they name and deploy again")
    if rev.behind:
        detail += f"; it runs {rev.primary}, not the newest revision {rev.latest}"
    if running >= desired:
        return Check(SERVICE, PASS, detail if desired else
                     f"{detail} (0 desired: tasks start when the secret has a value, `byoc secret put`)")
    if rollout == "FAILED" or (running == 0 and pending == 0):
        return Check(SERVICE, FAIL, detail, "read the stopped tasks below; fix what they name, then "
                     "`byoc deploy` (or `byoc secret put`) starts new tasks")
    return Check(SERVICE, WARN, f"{detail}, {pending} pending", "tasks are starting; re-run doctor in a minute")


def _key(version: str | None) -> str:
    return f" (key version {version})" if version else ""


def stopped(d) -> Check:
    out = d.outputs
    svc = d.service
    if svc is None:
        return Check(STOPPED, SKIP, "no active service (see above)")
    primary = (primary_deployment(svc) or {}).get("id")
    failures = [t for t in stopped_tasks(d.client("ecs"), out["ecs_cluster_name"], out["ecs_service_name"])
                if is_failure(t)][:10]
    if not failures:
        return Check(STOPPED, PASS, "no task failed in the last hour (ECS shows stopped tasks for about an hour)")
    current = [t for t in failures if t.get("startedBy") == primary]
    shown = current or failures
    reasons = Counter(redact(t["stoppedReason"]) for t in shown)
    detail = "; ".join(f"{n}x {reason}" for reason, n in reasons.most_common())
    fix = " | ".join(dict.fromkeys(explain_stopped(reason) for reason in reasons))
    if current:
        return Check(STOPPED, FAIL, f"{len(current)} task(s) of the current deployment failed: {detail}", fix)
    return Check(STOPPED, WARN, f"earlier deployments' tasks failed (the current one has none): {detail}", fix)


def targets(d) -> Check:
    svc = d.service
    if svc is None:
        return Check(TARGETS, SKIP, "no active service (see above)")
    elbv2 = d.client("elbv2")
    problems, healthy = [], 0
    for lb in svc.get("loadBalancers", []):
        for t in elbv2.describe_target_health(TargetGroupArn=lb["targetGroupArn"])["TargetHealthDescriptions"]:
            state = t.get("TargetHealth", {}).get("State")
            if state == "healthy":
                healthy += 1
            elif state not in ("initial", "draining"):
                problems.append(f"{t['Target']['Id']} {state}: {t['TargetHealth'].get('Description', '')}")
    if problems:
        return Check(TARGETS, FAIL, "; ".join(problems), "check health_check_path and that the app listens on "
                     "container_port (`byoc logs`)")
    if healthy == 0:
        return Check(TARGETS, WARN if svc.get("desiredCount") else PASS,
                     "no targets registered yet" if svc.get("desiredCount") else "no tasks desired, no targets",
                     "wait for tasks to start, then re-run doctor" if svc.get("desiredCount") else "")
    return Check(TARGETS, PASS, f"{healthy} healthy")


CHECKS = ((IMAGE, image), (SERVICE, service), (STOPPED, stopped), (TARGETS, targets))
