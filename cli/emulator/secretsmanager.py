"""Secrets Manager: gap 9 (the default version follows AWSCURRENT), gap 11 (the caller's
requests judged by the policies, as AWS judges them) and gap 12 (ValidateResourcePolicy answered
by the independent evaluator).

Gap 9 — (found here, moto 5.2.5) moto's ``UpdateSecretVersionStage`` moves the AWSCURRENT label
but not the version ``GetSecretValue`` returns by default, so ``byoc secret rollback`` looked like
a no-op to the app. The default version follows AWSCURRENT.

Gap 11 — moto enforces neither the secret's resource policy nor the caller's identity policies
nor the key policy of the key Secrets Manager uses on the caller's behalf. The caller's
``GetSecretValue``, ``PutSecretValue``, ``DescribeSecret``, ``GetResourcePolicy`` and
``PutResourcePolicy`` are judged first (``authorizer.py``): from outside every VPC (no
``aws:SourceVpce``), so after ``byoc deploy`` an operator's ``aws secretsmanager get-secret-value``
is AccessDenied, as on AWS. A read or a store of a value encrypted with a customer-managed key is
also the caller's ``kms:Decrypt`` / ``kms:GenerateDataKey`` through Secrets Manager, judged by the
key policy; a denial there is Secrets Manager's "Access to KMS is not allowed".

Gap 12 — moto has no ValidateResourcePolicy. The emulator answers it with the three checks the
API reference lists, as far as the independent evaluator decides them (``policy_checks.py``):
syntax (the evaluator's own validation), broad access (a principal of another account allowed),
and lock-out (the caller's own PutResourcePolicy or DeleteResourcePolicy explicitly denied by the
new document). A ValidationErrors entry's CheckName is the emulator's own word (AWS documents no
list of them). A body that is not JSON is MalformedPolicyDocumentException; a SecretId naming no
secret is ResourceNotFoundException. Without the evaluator: HTTP 501 NotImplemented.

AWS documentation followed:
- Secrets Manager User Guide, "Authentication and access control for AWS Secrets Manager" and
  "Secret encryption and decryption in AWS Secrets Manager" (GenerateDataKey on PutSecretValue,
  Decrypt on GetSecretValue, kms:ViaService, the SecretARN encryption context),
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access.html,
  https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
- Secrets Manager API Reference, UpdateSecretVersionStage,
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
- Secrets Manager API Reference, GetSecretValue (without VersionId or VersionStage: the
  AWSCURRENT version),
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
- Secrets Manager API Reference, ValidateResourcePolicy (its three checks, PolicyValidationPassed,
  ValidationErrors, MalformedPolicyDocumentException, ResourceNotFoundException),
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html
"""

from __future__ import annotations

import json

from cli.emulator import authorizer, policy_checks
from cli.emulator.patching import Answer, add_route, installer, replace, signed_for
from cli.emulator.requests import cannot_evaluate, json_request, refused

GAPS = (9, 11, 12)
#: What the emulator's ValidateResourcePolicy holds and does not (``/byoc-emulator/info``, "validators").
NOTES = {"ValidateResourcePolicy": "syntax, another account's access and the caller's lock-out, judged by the "
                                    "independent evaluator"}
#: The caller's operations judged, and the KMS operation Secrets Manager makes for each on a CMK.
JUDGED = {"GetSecretValue": "kms:Decrypt", "PutSecretValue": "kms:GenerateDataKey", "DescribeSecret": None,
          "GetResourcePolicy": None, "PutResourcePolicy": None}


def judge_caller(environ: dict) -> Answer | None:
    """The caller's request refused as Secrets Manager would, or None to let moto answer it."""
    if not signed_for(environ, "secretsmanager"):
        return None
    request = json_request(environ, "secretsmanager")
    if request is None or request[0] not in JUDGED:
        return None
    operation, params = request
    from moto.core import DEFAULT_ACCOUNT_ID

    region = authorizer.region_of(environ)
    secret = authorizer.find_secret(DEFAULT_ACCOUNT_ID, region, str(params.get("SecretId", "")))
    if secret is None:
        return None  # moto answers ResourceNotFoundException
    who = authorizer.caller(authorizer.access_key_of(environ), DEFAULT_ACCOUNT_ID)
    verdict = authorizer.authorize(who, f"secretsmanager:{operation}", secret.arn, DEFAULT_ACCOUNT_ID,
                                   resource_policy=secret.policy)
    if verdict.allowed and JUDGED[operation]:
        verdict = authorizer.decrypt_through_secrets_manager(who, region, secret, JUDGED[operation])
        if not verdict.allowed and not verdict.not_evaluated:
            return refused("Access to KMS is not allowed")  # Secrets Manager's own words for a KMS denial
    if verdict.allowed:
        return None
    return cannot_evaluate(verdict.message) if verdict.not_evaluated else refused(verdict.message)


def validate_resource_policy(environ: dict) -> Answer | None:
    """Gap 12: ValidateResourcePolicy by the independent evaluator, or None to let moto answer."""
    if not signed_for(environ, "secretsmanager"):
        return None
    request = json_request(environ, "secretsmanager")
    if request is None or request[0] != "ValidateResourcePolicy":
        return None
    from moto.core import DEFAULT_ACCOUNT_ID

    params, region = request[1], authorizer.region_of(environ)
    text = str(params.get("ResourcePolicy", ""))
    try:
        json.loads(text)
    except ValueError:
        return refused("This resource policy contains a syntax error.", code="MalformedPolicyDocumentException")
    secret_arn = f"arn:aws:secretsmanager:{region}:{DEFAULT_ACCOUNT_ID}:secret:byoc-emulator-check-AbCdEf"
    if params.get("SecretId"):
        secret = authorizer.find_secret(DEFAULT_ACCOUNT_ID, region, str(params["SecretId"]))
        if secret is None:
            return refused("Secrets Manager can't find the specified secret.", code="ResourceNotFoundException")
        secret_arn = secret.arn
    syntax = policy_checks.syntax_errors(text)
    if syntax is None:
        return refused("ValidateResourcePolicy is not implemented by this emulator without the independent policy "
                       "evaluator", code="NotImplemented", status="501 Not Implemented")
    errors = [{"CheckName": "EVALUATOR_SYNTAX", "ErrorMessage": e} for e in syntax]
    if not syntax:
        broad = policy_checks.public_grants(text, "AWS::SecretsManager::Secret", region, DEFAULT_ACCOUNT_ID) or []
        errors += [{"CheckName": "EVALUATOR_BROAD_ACCESS", "ErrorMessage": r["description"]} for r in broad]
        who = authorizer.caller(authorizer.access_key_of(environ), DEFAULT_ACCOUNT_ID)
        locked = policy_checks.lockout(text, who, secret_arn, DEFAULT_ACCOUNT_ID) or []
        errors += [{"CheckName": "EVALUATOR_LOCKOUT", "ErrorMessage": f"the policy denies the caller {what}"}
                   for what in locked]
    data = json.dumps({"PolicyValidationPassed": not errors, "ValidationErrors": errors}).encode()
    return "200 OK", [("Content-Type", "application/x-amz-json-1.1")], data


def patch_responses() -> None:
    add_route(judge_caller, gap=11)
    add_route(validate_resource_policy, gap=12)


def patch_models() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    @replace(SecretsManagerBackend, "update_secret_version_stage", gap=9)
    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result


install = installer(patch_responses, patch_models)
