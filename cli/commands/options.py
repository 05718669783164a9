"""What the commands share: the option types, the stack inputs as typed flags, the global options
(``byoc -C DIR --env NAME <command>``), and the session a command opens on its project."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cli.commands.app import current_context
from cli.core.aws import endpoint_from
from cli.core.config import ENV_PREFIX, open_project
from cli.core.crash import remember_project
from cli.core.errors import InputError
from cli.core.session import Session, require_answer  # noqa: F401 - the commands' own check
from cli.core.terraform import MIRROR_ENV, check_mirror
from cli.observers.service import WAIT_TIMEOUT_SECONDS
from stacks.inputs import BY_NAME, PANELS, Input, panel

ProjectDir = Annotated[Path, typer.Option("--project-dir", "-C", envvar="BYOC_PROJECT_DIR", metavar="DIR",
                                          help="Project folder (holds byoc.toml, cdktf.out, the state).",
                                          show_default="current folder")]
EndpointUrl = Annotated[Optional[str], typer.Option(
    "--endpoint-url", metavar="URL",
    help="Send every AWS call (terraform and boto3) to this endpoint, e.g. a moto "
         "server or LocalStack. Default: $AWS_ENDPOINT_URL, else AWS.")]
ProviderMirror = Annotated[Optional[Path], typer.Option(
    "--provider-mirror", envvar=MIRROR_ENV, metavar="DIR",
    help="Filesystem mirror holding hashicorp/aws 5.100.0, for machines without registry access. "
         "Default: the registry; if it is out of reach, a mirror found on this machine.")]
AutoApprove = Annotated[bool, typer.Option(
    "--auto-approve", "-y", help="Apply without asking (required when there is no terminal to ask on).")]
EnvName = Annotated[Optional[str], typer.Option(
    "--env", "-e", envvar="BYOC_ENV", metavar="NAME",
    help="Environment from byoc.toml's [env.<name>] tables (own stack and state).")]
NoWait = Annotated[bool, typer.Option(
    "--no-wait", help="Do not wait for the service's new tasks to run and pass health checks.")]
WaitTimeout = Annotated[float, typer.Option(
    "--wait-timeout", min=1, metavar="SECONDS",
    help="Seconds to wait for the service's new tasks before giving up (ECS goes on).")]
NoRestart = Annotated[bool, typer.Option(
    "--no-restart", help="Store only: running tasks keep the key they read at start until they are replaced.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (errors too: "
                                                     '{"error": ..., "exit": N}).')]
DEFAULT_WAIT = WAIT_TIMEOUT_SECONDS


def mirror_from(provider_mirror: Path | None) -> Path | None:
    return check_mirror(provider_mirror.expanduser().resolve()) if provider_mirror else None


def global_option(name: str, value: Any) -> Any:
    """``value`` of the command's own option ``name``, unless only the global one was typed: then
    the global one (``byoc -C DIR status`` is ``byoc status -C DIR``). The command's own flag wins
    over it, and it wins over the environment variable and the default."""
    ctx = current_context()
    if ctx is None or _source(ctx, name) == "COMMANDLINE":
        return value
    root = ctx.find_root()
    if root is not ctx and _source(root, name) == "COMMANDLINE":
        return root.params[name]  # as click parsed it (older typer: a Path option's text)
    return value


def _source(ctx, name: str) -> str | None:
    source = ctx.get_parameter_source(name)
    return source.name if source is not None else None


def open_session(project_dir: Path, command: str, endpoint_url: str | None = None,
                 provider_mirror: Path | None = None, env: str | None = None, *, as_json: bool = False) -> Session:
    """The session of one command on the project at ``project_dir`` (checked before any work)."""
    project_dir, env = Path(global_option("project_dir", project_dir)), global_option("env", env)
    root = project_dir.resolve()
    remember_project(root)
    if not root.is_dir():
        raise InputError(f"--project-dir: {project_dir} is not a folder; create it or pass an existing one.")
    mirror = mirror_from(provider_mirror)
    return Session(open_project(root, env), endpoint_url=endpoint_from(endpoint_url), provider_mirror=mirror,
                   command=command, as_json=as_json)


# --- The stack inputs as flags ------------------------------------------------------------------

#: The help section of a panel's inputs (``stacks.inputs.PANELS``).
PANEL_TITLE = "{} inputs"


def _choice_parser(spec: Input):
    """The flag's text, one of the input's values, refused in the same words by every typer version."""
    def parse(raw: Any) -> str:
        if raw not in spec.choices:
            listed = ", ".join(v or '"" (none)' for v in spec.choices)
            raise typer.BadParameter(f"{raw!r} is not a {spec.name}; it is one of {listed}.")
        return raw
    return parse


def _number_parser(spec: Input):
    """The flag's text as the input's number, refused in the same words by every typer version."""
    def parse(raw: Any) -> int | float:
        if isinstance(raw, (int, float)):
            return raw
        try:
            number = float(raw)
        except ValueError:
            number = None
        if number is None or number != number or number in (float("inf"), float("-inf")):
            raise typer.BadParameter(f"{raw!r} is not a number; {spec.name} takes one such as {spec.default}.")
        if spec.whole and not number.is_integer():
            raise typer.BadParameter(f"{raw!r} is not a whole number; {spec.name} takes one such as {spec.default}.")
        return int(number) if number.is_integer() else number
    return parse


def _shown(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else ("none" if value in ("", None, {}) else str(value))


def input_option(spec: Input) -> tuple[Any, Any]:
    """The annotation of one input's flag: typed from the input table (INTEGER, NUMBER,
    ``--x/--no-x``, a choice, a repeatable list), in its help panel, its ``BYOC_*`` variable shown."""
    decls, extras, note = [spec.flag], {}, ""
    default = "required" if spec.required else f"default: {_shown(spec.default)}"
    if spec.tf_type == "bool":
        kind, decls = Optional[bool], [f"{spec.flag}/--no-{spec.flag[2:]}"]
        default = f"default: {spec.flag if spec.default else '--no-' + spec.flag[2:]}"
    elif spec.tf_type.startswith(("list(", "map(")):
        kind, note = Optional[list[str]], " Repeatable, or comma-separated."
        extras["metavar"] = "KEY=VALUE,..." if spec.tf_type.startswith("map(") else "VALUE,..."
    elif spec.tf_type == "number":
        kind, extras["parser"] = Optional[int] if spec.whole else Optional[float], _number_parser(spec)
        extras["metavar"] = "INTEGER" if spec.whole else "NUMBER"
    elif spec.choices:
        kind, extras["parser"] = Optional[str], _choice_parser(spec)
        listed = "|".join(str(v) or '""' for v in spec.choices)
        extras["metavar"] = f"[{listed}]" if len(listed) <= 40 else "NAME"
        if len(listed) > 40:
            note = " One of: " + ", ".join(str(v) or '"" (none)' for v in spec.choices) + "."
    else:
        kind = Optional[str]
        extras["metavar"] = "TEXT"
    if spec.choices:  # the shell completes an enumerated input's values
        values = [str(c) for c in spec.choices]
        extras["autocompletion"] = lambda incomplete: [v for v in values if v.startswith(incomplete)]
    option = typer.Option(*decls, help=f"{spec.description}{note}  [{default}; env var: {ENV_PREFIX}{spec.name.upper()}]",
                          show_default=False, rich_help_panel=PANEL_TITLE.format(panel(spec.name)), **extras)
    return Annotated[kind, option], None


def input_options(func):
    """Give ``func`` one ``--<input>`` flag per stack input (kebab-case variable names), panel by
    panel; ``func`` receives them as keyword arguments (None: not given)."""
    signature = inspect.signature(func, eval_str=True)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    for names in PANELS.values():
        for name in names:
            annotation, default = input_option(BY_NAME[name])
            params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    func.__signature__ = signature.replace(parameters=params)
    return func
