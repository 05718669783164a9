"""``byoc backend bootstrap`` / ``migrate``: the S3 state bucket, created safely, and a local
state moved into it.

- The bucket policy names the bucket by ARN in the caller's partition (``aws``, ``aws-cn``,
  ``aws-us-gov``), taken from STS GetCallerIdentity's ARN: an ``arn:aws:s3:::`` resource names
  nothing in GovCloud or China, and the region alone does not say the partition for certain.
- Right after ``bootstrap`` turned versioning on, S3 may take up to 15 minutes to propagate it,
  and until then "GET requests for objects created or updated after enabling versioning may
  result in HTTP 404 NoSuchKey errors" (S3 User Guide, "Enabling versioning on buckets"). So
  ``migrate`` reads the moved state back until it holds every resource, waiting within that
  bound and saying so, before it calls the move done; only past the bound does it stop, with the
  local state kept.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/manage-versioning-examples.html,
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""

from __future__ import annotations

import json
from typing import Callable

from cli.core.aws import aws_error, aws_errors
from cli.core.errors import ByocError, InputError
from cli.core.session import Session, say
from cli.core.synth import ensure_synth


def bootstrap_backend(s: Session, *, auto_approve: bool) -> list[str]:
    """Create (or check and complete) the state bucket named in byoc.toml: versioning on,
    encrypted by default (SSE-KMS with backend.kms_key_id, else SSE-S3), public access blocked,
    bucket-owner-enforced, HTTPS only. Safe to run again."""
    backend = s.project.backend
    if backend is None:
        raise InputError("backend: byoc.toml has no [backend] table; add one with bucket and region "
                         "(see the README's remote state section).")
    target = s.target(backend.region)
    target.require_credentials()
    s3 = target.client("s3")
    from botocore.exceptions import ClientError

    try:
        partition = target.caller().partition
    except aws_errors() as exc:
        raise aws_error(exc, "asking STS who these credentials are (GetCallerIdentity)") from None

    try:
        s3.head_bucket(Bucket=backend.bucket)
        exists = True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("403", "AccessDenied"):
            raise ByocError(f"the bucket {backend.bucket} exists but is not yours (or not readable): choose "
                            "another backend.bucket in byoc.toml.") from None
        exists = False
    verb = "Check and complete the settings of" if exists else "Create"
    s.ask(f"{verb} the state bucket {backend.bucket} in {backend.region}?", auto_approve)
    done = []
    try:
        if not exists:
            kwargs = {} if backend.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": backend.region}}
            s3.create_bucket(Bucket=backend.bucket, ObjectOwnership="BucketOwnerEnforced", **kwargs)
            done.append(f"created s3://{backend.bucket}")
        s3.put_public_access_block(Bucket=backend.bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        done.append("public access blocked")
        s3.put_bucket_versioning(Bucket=backend.bucket, VersioningConfiguration={"Status": "Enabled"})
        done.append("versioning on (every state version kept)")
        rule = ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": backend.kms_key_id} if backend.kms_key_id
                else {"SSEAlgorithm": "AES256"})
        s3.put_bucket_encryption(Bucket=backend.bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": rule, "BucketKeyEnabled": True}]})
        done.append("default encryption " + ("SSE-KMS" if backend.kms_key_id else "SSE-S3"))
        s3.put_bucket_policy(Bucket=backend.bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                           "Resource": [f"arn:{partition}:s3:::{backend.bucket}",
                                        f"arn:{partition}:s3:::{backend.bucket}/*"],
                           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        done.append("HTTPS only")
    except aws_errors() as exc:
        raise aws_error(exc, f"preparing the state bucket {backend.bucket}") from None
    return done


def migrate_backend(s: Session, *, auto_approve: bool) -> int:
    """Move the local state into the S3 backend; returns the number of resources moved."""
    backend = s.project.backend
    if backend is None:
        raise InputError("backend: byoc.toml has no [backend] table; add one before migrating.")
    local = s.project.state_file
    if not s.project.has_local_resources():
        raise ByocError(f"there is no local state with resources at {local.name}: nothing to migrate.")
    resources = sum(len(r.get("instances", [])) for r in json.loads(local.read_text())["resources"])
    values = s.deployed_inputs_raw()
    target = s.target(values.get("aws_region", backend.region))
    target.require_credentials()
    s.ask(f"Move the state ({resources} resource instances) from {local.name} to {backend.url}?", auto_approve)
    ensure_synth(s.project)
    tf = s.terraform(values.get("aws_region", backend.region))
    say(f"Terraform: init -migrate-state ({local.name} -> {backend.url}) ...")
    tf.init(s.provider_mirror, extra=("-migrate-state", "-force-copy"), on_notice=say)
    expected = managed_instances(json.loads(local.read_text()))
    remote = s.target(backend.region).client("s3")
    try:
        wait_for_remote_state(lambda: remote_instances(remote, backend.bucket, backend.key), expected, backend.url,
                              sleep=s.sleep)
    except ByocError as exc:
        raise ByocError(f"{exc} The local file {local.name} is kept; check the log "
                        f"{s.project.log_file(s.command)}, then run `byoc backend migrate` again.") from None
    except aws_errors() as exc:
        raise aws_error(exc, f"reading the moved state {backend.url} (the local file {local.name} is kept)") from None
    backup = local.with_name(local.name + ".migrated")
    local.replace(backup)
    say(f"Moved to {backend.url}; the local copy is kept as {backup.name}.")
    return resources


#: S3 User Guide, "Enabling versioning on buckets": "it might take up to 15 minutes for the change
#: to be fully propagated". The waits between reads of the moved state add up to that bound.
VERSIONING_PROPAGATION_SECONDS = 15 * 60
READ_BACK_DELAYS = (5, 10, 20, 40, 80, 160, 300, 285)
assert sum(READ_BACK_DELAYS) == VERSIONING_PROPAGATION_SECONDS


def managed_instances(state: dict) -> int:
    """The managed resource instances of a Terraform state (data sources are re-read, not moved)."""
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")


def remote_instances(s3, bucket: str, key: str) -> int:
    """The managed resource instances of the state object; 0 while S3 answers NoSuchKey (404)."""
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return 0
        raise
    try:
        return managed_instances(json.loads(body))
    except ValueError:
        return 0


def wait_for_remote_state(read: Callable[[], int], expected: int, url: str, *,
                          sleep: Callable[[float], None], say: Callable[[str], None] = say) -> int:
    """Read the moved state back until it holds ``expected`` instances, waiting between reads
    (READ_BACK_DELAYS) within S3's documented bound and saying so; ByocError past the bound."""
    waited = 0
    for delay in (*READ_BACK_DELAYS, None):
        found = read()
        if found >= expected:
            return found
        if delay is None:
            break
        say(f"The state in {url} shows {found} of {expected} resource instances: S3 may take up to 15 minutes to "
            "propagate a bucket's newly enabled versioning, and reads may answer 404 NoSuchKey until then (S3 User "
            f"Guide, \"Enabling versioning on buckets\"); reading it again in {delay}s ({waited + delay}s of at most "
            f"{VERSIONING_PROPAGATION_SECONDS}s) ...")
        sleep(delay)
        waited += delay
    raise ByocError(f"the state in {url} still shows {found} of {expected} resource instances after "
                    f"{VERSIONING_PROPAGATION_SECONDS // 60} minutes, S3's documented bound for versioning to "
                    "propagate.")
