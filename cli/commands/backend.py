"""``byoc backend bootstrap`` / ``byoc backend migrate``."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.actions.backend import bootstrap_backend, migrate_backend
from cli.commands.app import backend_app
from cli.commands.options import AutoApprove, EndpointUrl, EnvName, ProjectDir, ProviderMirror, open_session


@backend_app.command("bootstrap")
def backend_bootstrap(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
                      endpoint_url: EndpointUrl = None) -> None:
    """Create the S3 state bucket named in byoc.toml's [backend], safely.

    Versioning on, default encryption (SSE-KMS with backend.kms_key_id, else SSE-S3), all public
    access blocked, object ownership enforced, HTTPS only. Run it again to check and complete the
    settings of an existing bucket.
    """
    s = open_session(project_dir, "backend", endpoint_url, env=env)
    for line in bootstrap_backend(s, auto_approve=auto_approve):
        typer.echo(f"  {line}")
    typer.echo(f"State bucket ready: {s.project.backend.bucket}.")


@backend_app.command("migrate")
def backend_migrate(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
                    endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None) -> None:
    """Move this environment's local state file into the S3 backend named in byoc.toml.

    Runs `terraform init -migrate-state`, checks that every resource arrived, and keeps the local
    file as terraform.<stack>.tfstate.migrated. Every later command uses the bucket.
    """
    migrate_backend(open_session(project_dir, "backend", endpoint_url, provider_mirror, env),
                    auto_approve=auto_approve)
