"""Secrets Manager: gap 9 (the default version follows AWSCURRENT).

Gap 9 — (found here, moto 5.2.5) moto's ``UpdateSecretVersionStage`` moves the AWSCURRENT label
but not the version ``GetSecretValue`` returns by default, so ``byoc secret rollback`` looked like
a no-op to the app. The default version follows AWSCURRENT.

AWS documentation followed:
- Secrets Manager API Reference, UpdateSecretVersionStage,
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
- Secrets Manager API Reference, GetSecretValue (without VersionId or VersionStage: the
  AWSCURRENT version),
  https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
"""

from __future__ import annotations

from cli.emulator.patching import installer, replace

GAPS = (9,)


def patch_models() -> None:
    from moto.secretsmanager.models import SecretsManagerBackend

    original_update_stage = SecretsManagerBackend.update_secret_version_stage

    @replace(SecretsManagerBackend, "update_secret_version_stage", gap=9)
    def update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        result = original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return result


install = installer(patch_models)
