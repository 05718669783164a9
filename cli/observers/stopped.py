"""What a stopped task's ``stoppedReason`` means, and what to do about it.

Shared by ``byoc doctor`` and by every command that waits for a rollout (deploy, secret put and
rollback, lockdown), so that a failure reads the same wherever it is met. The most specific
fragment wins: the first match in ``STOPPED_REASONS``.
"""

from __future__ import annotations

import re

from cli.core.aws_texts import ACCESS_DENIED, FROM_SECRETS_MANAGER, SECRETS_PREFIX

#: stoppedReason fragments (lower case) -> the fix doc's root cause and what to do.
STOPPED_REASONS: tuple[tuple[str, str], ...] = (
    # The secret itself (ResourceInitializationError ... unable to retrieve secret from asm: ...).
    ("can't find the specified secret value for staging label",
     "the secret has no current value: store the key with `byoc secret put`"),
    ("can't find the specified secret value for versionid",
     "the task definition pins a key version the secret does not hold (deleted, or a mistyped "
     "secret_version_id): `byoc secret put` or `byoc secret rollback` pins one it holds"),
    ("did not contain json key",
     "the secret's value is not JSON holding the key valueFrom names: store it with `byoc secret put` (it writes "
     "{\"PINECONE_API_KEY\": \"...\"}), or go back to the previous value with `byoc secret rollback`"),
    ("looking for beginning of value",
     "the secret's value is not JSON: store it with `byoc secret put` (it writes {\"PINECONE_API_KEY\": \"...\"}), "
     "or go back to the previous value with `byoc secret rollback`"),
    ("can't find the specified secret.",
     "the secret does not exist (deleted, or scheduled for deletion): run `byoc deploy` to create it, or restore it "
     "with `aws secretsmanager restore-secret`"),
    (ACCESS_DENIED.lower(),
     "an IAM or resource policy denies the execution role: check its policies and the secret policy (`byoc doctor`; "
     "`byoc lockdown` always keeps the execution role on the reader list)"),
    (FROM_SECRETS_MANAGER, "the task cannot reach or read the secret: check the execution role's "
     "secret policy, the secretsmanager endpoint and its security group (root causes 1 and 3; `byoc doctor`)"),
    (SECRETS_PREFIX.split(": ", 1)[1], "secrets or registry auth failed: check the execution role, "
     "the ecr/secretsmanager endpoints and valueFrom (root causes 1-3; `byoc doctor`)"),
    ("cannotpullcontainererror", "the image cannot be pulled: check container_image exists and the ecr.api/ecr.dkr/"
     "S3 endpoints (`byoc doctor`)"),
    ("essential container in task exited", "the application exited: read its logs (`byoc logs`)"),
    ("health checks", "the load balancer health check failed: check health_check_path and that the app listens on "
     "container_port (`byoc logs`)"),
)

# Go's JSON error names the first character of the value it could not parse; that character is
# part of the secret, and a stoppedReason is printed, logged and stored: never repeat it.
_FIRST_CHARACTER = re.compile(r"invalid character '.{1,4}' looking for beginning of value", re.DOTALL)


def redact(reason: str) -> str:
    """A stoppedReason fit to print: the one character of the value AWS may quote is left out."""
    return _FIRST_CHARACTER.sub("invalid character (of the value, not shown) looking for beginning of value", reason)


def explain_stopped(reason: str) -> str:
    low = reason.lower()
    return next((advice for frag, advice in STOPPED_REASONS if frag in low), "see the task's stoppedReason")
