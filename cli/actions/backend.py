"""``byoc backend bootstrap`` / ``migrate``: the S3 state bucket, created safely, and a local
state moved into it."""

from __future__ import annotations

import json

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
                           "Resource": [f"arn:aws:s3:::{backend.bucket}", f"arn:aws:s3:::{backend.bucket}/*"],
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
    moved = tf.run("state", "list").stdout.split()
    if len(moved) < len([r for r in json.loads(local.read_text())["resources"] if r.get("mode") == "managed"]):
        raise ByocError(f"the state in {backend.url} lists {len(moved)} resources, fewer than the local state: "
                        f"the local file {local.name} is kept; check the log {s.project.log_file(s.command)}.")
    backup = local.with_name(local.name + ".migrated")
    local.replace(backup)
    say(f"Moved to {backend.url}; the local copy is kept as {backup.name}.")
    return resources
