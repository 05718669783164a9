"""What the commands share: the option types, the stack inputs as flags, and the session a
command opens on its project."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.core.aws import endpoint_from
from cli.core.config import open_project
from cli.core.crash import remember_project
from cli.core.errors import InputError
from cli.core.session import Session
from cli.core.terraform import MIRROR_ENV, check_mirror
from cli.observers.service import WAIT_TIMEOUT_SECONDS
from stacks.inputs import INPUTS

ProjectDir = Annotated[Path, typer.Option("--project-dir", "-C", envvar="BYOC_PROJECT_DIR",
                                          help="Project folder (holds byoc.toml, cdktf.out, the state).",
                                          show_default="current folder")]
EndpointUrl = Annotated[Optional[str], typer.Option(
    "--endpoint-url", help="Send every AWS call (terraform and boto3) to this endpoint, e.g. a moto "
                           "server or LocalStack. Default: $AWS_ENDPOINT_URL, else AWS.")]
ProviderMirror = Annotated[Optional[Path], typer.Option(
    "--provider-mirror", envvar=MIRROR_ENV,
    help="Filesystem mirror holding hashicorp/aws 5.100.0, for machines without registry access. "
         "Default: the registry; if it is out of reach, a mirror found on this machine.")]
AutoApprove = Annotated[bool, typer.Option("--auto-approve", "-y", help="Apply without asking.")]
EnvName = Annotated[Optional[str], typer.Option(
    "--env", "-e", envvar="BYOC_ENV", help="Environment from byoc.toml's [env.<name>] tables (own stack and state).")]
NoWait = Annotated[bool, typer.Option(
    "--no-wait", help="Do not wait for the service's new tasks to run and pass health checks.")]
WaitTimeout = Annotated[float, typer.Option(
    "--wait-timeout", min=1, help="Seconds to wait for the service's new tasks before giving up (ECS goes on).")]
NoRestart = Annotated[bool, typer.Option(
    "--no-restart", help="Store only: running tasks keep the key they read at start until they are replaced.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DEFAULT_WAIT = WAIT_TIMEOUT_SECONDS


def mirror_from(provider_mirror: Path | None) -> Path | None:
    return check_mirror(provider_mirror.expanduser().resolve()) if provider_mirror else None


def open_session(project_dir: Path, command: str, endpoint_url: str | None = None,
                 provider_mirror: Path | None = None, env: str | None = None) -> Session:
    """The session of one command on the project at ``project_dir`` (checked before any work)."""
    root = project_dir.resolve()
    remember_project(root)
    if not root.is_dir():
        raise InputError(f"--project-dir: {project_dir} is not a folder; create it or pass an existing one.")
    mirror = mirror_from(provider_mirror)
    return Session(open_project(root, env), endpoint_url=endpoint_from(endpoint_url), provider_mirror=mirror,
                   command=command)


def input_options(func):
    """Give ``func`` one ``--<input>`` option per stack input (kebab-case variable names)."""
    signature = inspect.signature(func, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for spec in INPUTS:
        kind = {"bool": "true/false"}.get(spec.tf_type,
                                        "comma-separated list" if spec.tf_type.startswith("list(") else spec.tf_type)
        shown = ",".join(spec.default) if isinstance(spec.default, list) else spec.default
        default = "" if spec.required else f" [default: {shown if shown not in ('', None) else 'none'}]"
        help_text = f"{spec.description} ({kind}){' [required]' if spec.required else default}"
        params.append(inspect.Parameter(
            spec.name, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[Optional[str], typer.Option(spec.flag, help=help_text, show_default=False)]))
    func.__signature__ = signature.replace(parameters=params)
    return func
