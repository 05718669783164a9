"""KMS: gap 11 (the caller's data-key requests judged by the key policy, as AWS judges them).

moto's KMS enforces no key policy: a key whose policy no longer delegates to the account still
encrypts and decrypts for everyone. The caller's ``Decrypt``, ``Encrypt`` and ``GenerateDataKey``
are judged first (``authorizer.py``) by the caller's identity policies and the key policy, with
``kms:CallerAccount`` and the request's encryption context (``kms:EncryptionContext:<key>``); the
key of a ``Decrypt`` without ``KeyId`` is the one the ciphertext names. Management operations
(CreateKey, PutKeyPolicy, ...) are left to moto: Terraform must be able to repair a key policy.

AWS documentation followed:
- AWS KMS Developer Guide, "Key policies in AWS KMS" (no IAM policy grants access to a key unless
  the key policy allows it) and "Condition keys for AWS KMS" (kms:CallerAccount,
  kms:EncryptionContext:context-key, kms:ViaService),
  https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html,
  https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
- AWS KMS API Reference, Decrypt / Encrypt / GenerateDataKey, "Errors": AccessDeniedException
  (HTTP 400), https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
"""

from __future__ import annotations

import base64

from cli.emulator import authorizer
from cli.emulator.patching import Answer, add_route, installer, signed_for
from cli.emulator.requests import cannot_evaluate, json_request, refused

GAPS = (11,)
JUDGED = ("Decrypt", "Encrypt", "GenerateDataKey")


def _key_id(operation: str, params: dict) -> str | None:
    if params.get("KeyId") or operation != "Decrypt":
        return params.get("KeyId")
    from moto.kms.utils import _deserialize_ciphertext_blob

    try:  # moto's ciphertext format names its key first (AWS's does too, opaquely)
        return _deserialize_ciphertext_blob(base64.b64decode(params.get("CiphertextBlob", ""))).key_id
    except Exception:  # noqa: BLE001 - not moto's ciphertext: moto answers InvalidCiphertextException
        return None


def judge_caller(environ: dict) -> Answer | None:
    if not signed_for(environ, "kms"):
        return None
    request = json_request(environ, "TrentService")
    if request is None or request[0] not in JUDGED:
        return None
    operation, params = request
    from moto.core import DEFAULT_ACCOUNT_ID

    key = authorizer.find_key(DEFAULT_ACCOUNT_ID, authorizer.region_of(environ), _key_id(operation, params))
    if key is None:
        return None  # moto answers NotFoundException
    who = authorizer.caller(authorizer.access_key_of(environ), DEFAULT_ACCOUNT_ID)
    context = {"kms:CallerAccount": who.account,
               **{f"kms:EncryptionContext:{k}": v for k, v in (params.get("EncryptionContext") or {}).items()}}
    verdict = authorizer.authorize(who, f"kms:{operation}", key.arn, key.account_id, context=context,
                                   resource_policy=key.policy)
    if verdict.allowed:
        return None
    return cannot_evaluate(verdict.message) if verdict.not_evaluated else refused(verdict.message)


def patch_responses() -> None:
    add_route(judge_caller, gap=11)


install = installer(patch_responses)
