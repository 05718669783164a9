"""Where a stack keeps its state: the local file beside the project (default) or an S3 bucket.

Pure data here; ``apply_backend`` is the only part that touches cdktf. The settings come from
byoc.toml's ``[backend]`` table and are baked into cdk.tf.json at synth, so plain ``terraform``
in the stack folder uses the same backend with no extra flags.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from stacks.field_errors import FieldError, reject_unknown

BUCKET_RE = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
KEY_FIELDS = {"type", "bucket", "key", "region", "kms_key_id", "use_path_style"}
DEFAULT_KEY = "byoc/{env}/terraform.tfstate"


@dataclass(frozen=True)
class S3Backend:
    bucket: str
    key: str
    region: str
    #: SSE-KMS with this key; without it the state objects use the bucket's default encryption.
    kms_key_id: str | None = None
    #: Path-style URLs, for S3-compatible endpoints (LocalStack, moto) that lack bucket DNS names.
    use_path_style: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "S3Backend":
        return cls(**json.loads(text))

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def backend_from_config(table: dict[str, Any] | None, env: str | None) -> S3Backend | None:
    """The ``[backend]`` table of byoc.toml as settings for environment ``env`` (None = default)."""
    if not table:
        return None
    reject_unknown(table, KEY_FIELDS, "backend")
    if table.get("type", "s3") != "s3":
        raise FieldError("backend.type", 'backend.type must be "s3" (or leave [backend] out for local state).')
    bucket = table.get("bucket")
    if not isinstance(bucket, str) or not re.fullmatch(BUCKET_RE, bucket):
        raise FieldError("backend.bucket", "backend.bucket must be an S3 bucket name (3-63 characters of a-z, "
                                             "0-9, '.' and '-').")
    region = table.get("region")
    if not isinstance(region, str) or not re.fullmatch(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", region):
        raise FieldError("backend.region", "backend.region must be the bucket's region, e.g. us-east-1.")
    key = table.get("key", DEFAULT_KEY)
    if not isinstance(key, str) or not key or key.startswith("/"):
        raise FieldError("backend.key", "backend.key must be an object key such as byoc/{env}/terraform.tfstate.")
    key = key.replace("{env}", env or "default")
    kms = table.get("kms_key_id")
    if kms is not None and (not isinstance(kms, str) or not kms):
        raise FieldError("backend.kms_key_id", "backend.kms_key_id must be a KMS key ARN, ID or alias.")
    path_style = table.get("use_path_style", False)
    if not isinstance(path_style, bool):
        raise FieldError("backend.use_path_style", "backend.use_path_style must be true or false.")
    return S3Backend(bucket=bucket, key=key, region=region, kms_key_id=kms, use_path_style=path_style)


def apply_backend(stack, backend: S3Backend | None, state_path: str) -> None:
    """Declare the stack's backend: local at ``state_path`` (relative), or S3 with native locking."""
    from cdktf import LocalBackend
    from cdktf import S3Backend as CdktfS3Backend

    if backend is None:
        LocalBackend(stack, path=state_path)
        return
    CdktfS3Backend(stack, bucket=backend.bucket, key=backend.key, region=backend.region, encrypt=True,
                   kms_key_id=backend.kms_key_id, use_path_style=backend.use_path_style or None)
    # Native S3 locking (Terraform >= 1.10) instead of a DynamoDB table. cdktf 0.21's S3Backend has
    # no such field, so it is written as an override of the rendered backend block.
    stack.add_override("terraform.backend.s3.use_lockfile", True)
