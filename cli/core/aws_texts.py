"""AWS's own words that byoc recognises (in a stopped task's ``stoppedReason``) and that the
emulator reproduces — one place, so that what the emulator says and what byoc matches cannot
drift apart.

ECS developer guide, "Amazon ECS stopped task error messages" and "Troubleshoot Amazon ECS
ResourceInitializationError errors": when the agent cannot fetch a container's ``secrets`` the
task stops with ``stopCode`` TaskFailedToStart and a reason that starts with
``SECRETS_PREFIX``, names Secrets Manager (``asm``) and carries the service's own error
(``AccessDeniedException``, ``ResourceNotFoundException``, ...).
"""

from __future__ import annotations

SECRETS_PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth"
#: The part of the reason that says the secret came from Secrets Manager.
FROM_SECRETS_MANAGER = "unable to retrieve secret from asm"
#: AWS error codes that say a policy refused: AccessDenied and AccessDeniedException.
ACCESS_DENIED = "AccessDenied"

#: ECS's words for its deployment circuit breaker, in a deployment's ``rolloutStateReason`` ("ECS
#: deployment circuit breaker: tasks failed to start.", "ECS deployment circuit breaker: rolling
#: back to deploymentId <id>." — the reasons of ECS's deployment state change events), and in the
#: service's events ("rolling back to deployment <id>.").
CIRCUIT_BREAKER = "circuit breaker"
ROLLING_BACK = "rolling back to deployment"
#: ECS's service event when the circuit breaker fails a deployment ("(service <name>) (deployment
#: <id>) deployment failed: tasks failed to start.").
DEPLOYMENT_FAILED = "deployment failed"
#: The error codes of a request refused for its rate (AWS SDKs and Tools Reference Guide, "Retry
#: behavior": the throttling errors the SDKs retry with backoff).
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
                              "TooManyRequestsException", "ProvisionedThroughputExceededException",
                              "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
                              "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
                              "EC2ThrottledException"})


#: How AWS's access-denied message names the kind of policy that refused (IAM User Guide,
#: "Troubleshoot access denied error messages"): the secret's own policy is a resource-based one.
BY_RESOURCE_POLICY = "in a resource-based policy"
#: Secrets Manager's words when the KMS call it makes for the caller is denied (the key policy, or
#: the caller's kms:Decrypt grant).
KMS_DENIED = "Access to KMS is not allowed"


def is_secret_fetch_denied(reason: str | None) -> bool:
    """A task that stopped because reading its secret was denied: what a policy can cause."""
    low = (reason or "").lower()
    return FROM_SECRETS_MANAGER in low and ACCESS_DENIED.lower() in low


def denied_by_resource_policy(reason: str | None) -> bool:
    """The denial names a resource-based policy (the secret policy), not the role's own policies,
    a permissions boundary or the key."""
    return is_secret_fetch_denied(reason) and BY_RESOURCE_POLICY in (reason or "")
