"""What the service runs, against what the stack registered last: the task definition revisions
of its deployments, the key version each reads, and whether ECS rolled the newest one back.

The stack pins the key in the task definition (``secret_version_id``; ``catalog.value_from``), so
a key change is a new revision, and ECS's circuit breaker, when the new tasks fail, rolls back to
the last revision that completed — the previous key. After that the service runs an older
revision than the family's newest (Terraform keeps old revisions registered), and ECS says why:
the failed deployment's ``rolloutStateReason`` while it is still listed, the rollback
deployment's ("ECS deployment circuit breaker: rolling back to deploymentId ..."), and the
service's events ("rolling back to deployment ..."), of which only those after the newest
revision was registered count. Read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cli.core.aws_texts import CIRCUIT_BREAKER, ROLLING_BACK
from cli.observers.service import primary_deployment, revision
from constructs_lib.catalog import SECRET_JSON_KEY, split_value_from


@dataclass(frozen=True)
class Running:
    """One deployment with running tasks: its revision and the key version it reads ("" when not
    pinned: AWSCURRENT as it was at each task's start; None when it reads no such secret)."""

    revision: str
    key_version: str | None
    tasks: int


@dataclass(frozen=True)
class Revisions:
    #: The PRIMARY deployment's revision (what ECS is moving the service to, or a rollback's).
    primary: str | None
    #: The family's newest ACTIVE revision (the one the stack registered last) and its key version.
    latest: str | None
    latest_key: str | None
    running: list[Running] = field(default_factory=list)
    #: ECS rolled the newest revision back; ``ecs_says``: ECS's own words for it.
    rolled_back: bool = False
    ecs_says: str = ""

    @property
    def behind(self) -> bool:
        """The service does not run the newest revision (rolled back, or moved by hand)."""
        return bool(self.primary and self.latest and self.primary != self.latest)

    @property
    def keys(self) -> set[str | None]:
        return {r.key_version for r in self.running}

    def as_dict(self) -> dict[str, Any]:
        return {"primary_revision": self.primary, "latest_revision": self.latest, "latest_key_version": self.latest_key,
                "rolled_back": self.rolled_back, "ecs_says": self.ecs_says,
                "running": [{"revision": r.revision, "key_version": r.key_version, "tasks": r.tasks}
                            for r in self.running]}


def key_version(definition: dict) -> str | None:
    """The version of PINECONE_API_KEY a task definition reads: its id, "" for AWSCURRENT (no id,
    no stage), the stage's name for a stage; None when no container reads the key from Secrets
    Manager with the JSON-key suffix."""
    for container in definition.get("containerDefinitions", []):
        for secret in container.get("secrets", []):
            parts = split_value_from(secret.get("valueFrom", "")) if secret.get("name") == SECRET_JSON_KEY else None
            if parts:
                _arn, _key, stage, version = parts
                return version or ("" if stage in ("", "AWSCURRENT") else stage)
    return None


def read_revisions(ecs, svc: dict) -> Revisions:
    """The service's revisions and keys (DescribeTaskDefinition for each one it names, and the
    family's newest: "if a revision isn't specified, the latest ACTIVE revision is used")."""
    definitions: dict[str, dict] = {}

    def described(name: str) -> dict:
        if name not in definitions:
            definitions[name] = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]
        return definitions[name]

    deployments = svc.get("deployments") or []
    primary = primary_deployment(svc) or {}
    current = primary.get("taskDefinition") or svc.get("taskDefinition")
    if not current:
        return Revisions(None, None, None)
    latest = described(described(current)["family"])
    described(latest["taskDefinitionArn"])
    running = [Running(revision(d["taskDefinition"]), key_version(described(d["taskDefinition"])),
                       int(d.get("runningCount", 0))) for d in deployments if d.get("runningCount")]
    says = _rollback_words(svc, latest)
    primary_revision = revision(current)
    latest_revision = revision(latest["taskDefinitionArn"])
    return Revisions(primary_revision, latest_revision, key_version(latest), running,
                     rolled_back=bool(says) and primary_revision != latest_revision, ecs_says=says)


def _rollback_words(svc: dict, latest: dict) -> str:
    """ECS's words saying the newest revision was rolled back, or ""."""
    for d in svc.get("deployments") or []:
        reason = d.get("rolloutStateReason") or ""
        if d.get("taskDefinition") == latest["taskDefinitionArn"] and d.get("rolloutState") == "FAILED":
            return reason
        if d.get("status") == "PRIMARY" and CIRCUIT_BREAKER in reason.lower() and ROLLING_BACK in reason.lower():
            return reason
    registered = _when(latest.get("registeredAt"))
    for event in svc.get("events") or []:  # newest first
        if registered and _when(event.get("createdAt")) and _when(event.get("createdAt")) < registered:
            break
        if ROLLING_BACK in (event.get("message") or "").lower():
            return event["message"]
    return ""


def _when(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None
