"""S3: gap 7 (a bucket policy's conditional statements do not deny everything).

Gap 7 — moto evaluates S3 bucket policies without their conditions, so the state bucket's "deny
unless HTTPS" statement (``aws:SecureTransport`` false) denies every request. Statements with a
Condition are left out of moto's evaluation: moto cannot evaluate them; the real S3 does.

AWS documentation followed:
- Amazon S3 User Guide, "Examples of Amazon S3 bucket policies" (requests that do not use HTTPS),
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
- IAM User Guide, "AWS global condition context keys" (aws:SecureTransport),
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
- IAM User Guide, "Policy evaluation logic",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json

from cli.emulator.patching import installer, replace

GAPS = (7,)


def patch_models() -> None:
    from moto.s3.models import FakeBucket

    @replace(FakeBucket, "get_permission", gap=7)
    def bucket_permission(bucket, action: str, resource: str):
        from moto.iam.access_control import IAMPolicy, PermissionResult

        if bucket.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(bucket.policy)
        doc["Statement"] = [st for st in doc.get("Statement", []) if not st.get("Condition")]
        return IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource)


install = installer(patch_models)
