"""`byoc`: the commands — synth, deploy, secret put/rollback, lockdown, status, logs, doctor, cost,
destroy, backend bootstrap/migrate, demo and emulator.

Thin commands: each parses its options and calls one operation, in the module named for it
(``cli/deploy.py``, ``cli/secret.py``, ``cli/lockdown.py``, ``cli/status.py``, ``cli/destroy.py``,
``cli/backend.py``, ``cli/doctor/``, ``cli/cost/``, ``cli/demo.py``), on a ``cli.session.Session``.
Errors are handled at one boundary (``ByocGroup``): a ``ByocError`` or a usage mistake is printed
as one line on stderr with exit code 2 (bad input) or 1 (runtime failure); Ctrl-C exits 130 and
SIGTERM 143, terraform stopped gracefully first; anything else is a bug in byoc, reported in one
line with its traceback written to ``.byoc/logs/`` (``cli/crash.py``). Never a traceback.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

try:  # typer 0.2x vendors its own click as typer._click; older typer uses click itself
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError

from cli import backend as state_backend
from cli import deploy as deploying
from cli import destroy as destroying
from cli import lockdown as locking
from cli import secret as secrets
from cli import status as statuses
from cli.aws import endpoint_from
from cli.rollout import WAIT_TIMEOUT_SECONDS, RollOptions
from cli.config import open_project, project_inputs, resolve
from cli.crash import crash_report, remember_project, terminate_like_ctrl_c
from cli.errors import ByocError, InputError, Interrupted, Terminated
from cli.session import Session, print_outputs
from cli.terraform import MIRROR_ENV, check_mirror
from stacks.inputs import INPUTS


class ByocGroup(TyperGroup):
    """Click group whose failures are one line: usage errors exit 2, ByocError its own code,
    SIGINT 130 and SIGTERM 143, and anything else (a bug in byoc) 1 with the traceback in a file."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        with terminate_like_ctrl_c():
            try:
                return self._main(args, prog_name, complete_var, **extra)
            except Exception as exc:  # the last resort: nothing else may reach the user as a traceback
                typer.echo(f"byoc: internal error: {crash_report(exc)}", err=True)
                sys.exit(1)

    def invoke(self, ctx):
        """Ctrl-C (or SIGTERM) outside terraform, as byoc's own exception: typer's handling of a
        ``KeyboardInterrupt`` differs between versions (``Abort``, or ``Exit(130)``)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:
            raise Interrupted(terminated=isinstance(exc, Terminated)) from None

    def _main(self, args, prog_name, complete_var, **extra):
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
            if isinstance(result, int):  # non-standalone click returns typer.Exit's code
                sys.exit(result)
            return result
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except UsageError as exc:
            where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            message = exc.format_message()
            if exc.ctx and exc.ctx.command_path.endswith("secret put") and "unexpected extra argument" in message:
                # Whatever was typed there may be the key itself: never repeat it.
                message = "the value is never taken from the command line; pipe it on stdin or type it at the prompt"
            typer.echo(f"byoc: error: {message}{where}", err=True)
            sys.exit(2)
        except typer.Abort:
            typer.echo("byoc: aborted.", err=True)
            sys.exit(1)
        except Interrupted as exc:
            typer.echo(f"byoc: {exc}", err=True)
            sys.exit(exc.exit_code)
        except ByocError as exc:
            typer.echo(f"byoc: error: {exc}", err=True)
            sys.exit(exc.exit_code)


app = typer.Typer(
    cls=ByocGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Prepare an AWS account for Pinecone BYOC: a private ECS/Fargate service that reads "
         "PINECONE_API_KEY from Secrets Manager through VPC endpoints, KMS-encrypted, least privilege.\n\n"
         "Typical flow: byoc deploy -> byoc secret put -> byoc lockdown -> byoc status. "
         "Try it without an AWS account: byoc demo.")
backend_app = typer.Typer(cls=ByocGroup, no_args_is_help=True,
                          help="Remote state in S3: create the bucket, move a local state into it.")
secret_app = typer.Typer(cls=ByocGroup, no_args_is_help=True, help="Manage the PINECONE_API_KEY secret's value.")
app.add_typer(secret_app, name="secret")
app.add_typer(backend_app, name="backend")

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


def _session(project_dir: Path, command: str, endpoint_url: str | None = None,
             provider_mirror: Path | None = None, env: str | None = None) -> Session:
    root = project_dir.resolve()
    remember_project(root)
    if not root.is_dir():
        raise InputError(f"--project-dir: {project_dir} is not a folder; create it or pass an existing one.")
    mirror = check_mirror(provider_mirror.expanduser().resolve()) if provider_mirror else None
    return Session(open_project(root, env), endpoint_url=endpoint_from(endpoint_url), provider_mirror=mirror,
                        command=command)


@app.command()
def synth(project_dir: ProjectDir = Path("."), env: EnvName = None,
          force: Annotated[bool, typer.Option("--force", help="Synthesize even when nothing changed.")] = False) -> None:
    """Synthesize the Terraform JSON into cdktf.out/stacks/byoc (skipped when nothing changed)."""
    from cli.synth import ensure_synth

    s = _session(project_dir, "synth", env=env)
    result = ensure_synth(s.project, force=force)
    where = result.stack_dir.relative_to(s.project.root)
    if result.cached:
        typer.echo(f"{where}/cdk.tf.json is up to date (nothing changed; --force to synthesize anyway).")
    else:
        typer.echo(f"Synthesized {where}/cdk.tf.json in {result.seconds:.1f}s.")


def _input_options(func):
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


@app.command()
@_input_options
def deploy(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
           endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None, no_wait: NoWait = False,
           wait_timeout: WaitTimeout = WAIT_TIMEOUT_SECONDS, **inputs: Any) -> None:
    """Phase one: synth if needed, terraform init and plan, ask, apply with live progress, print
    outputs, then wait until the service's tasks run and pass health checks (or say why not).

    Inputs come from byoc.toml, then BYOC_<NAME> environment variables, then these flags
    (--container-image is required). They are kept in .byoc/inputs.tfvars.json for the later
    commands; a lockdown's reader list is kept across re-deploys unless you set it. While the
    secret has no value the service runs no tasks (start_tasks = false): `byoc secret put` starts them.
    """
    s = _session(project_dir, "deploy", endpoint_url, provider_mirror, env)
    explicit: set[str] = set()
    values = resolve(s.project, inputs, explicit)
    deploying.deploy(s, values, auto_approve=auto_approve, options=RollOptions(wait=not no_wait, timeout=wait_timeout),
                     start_tasks_set="start_tasks" in explicit)


@secret_app.command("put")
def secret_put(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
               provider_mirror: ProviderMirror = None, no_restart: NoRestart = False, no_wait: NoWait = False,
               wait_timeout: WaitTimeout = WAIT_TIMEOUT_SECONDS) -> None:
    """Store the Pinecone API key as {"PINECONE_API_KEY": "..."} and roll the service onto it.

    The value is read from stdin when piped (byoc secret put < key.txt) or from a hidden prompt,
    never from the command line, and is never printed. ECS reads a secret only when a task
    starts, so a new deployment follows (starting the service if phase one left it at zero
    tasks), and byoc waits for its tasks. Works before and after lockdown.
    """
    s = _session(project_dir, "secret", endpoint_url, provider_mirror, env=env)
    if sys.stdin is not None and not sys.stdin.isatty():
        value = secrets.read_piped_value(sys.stdin)
        s.deployed_inputs()
    else:
        s.deployed_inputs()  # before asking for a value when there is nothing to store it in
        value = secrets.check_secret_value(typer.prompt("Pinecone API key", hide_input=True, default="",
                                                        show_default=False))
    secrets.put_secret(s, value, RollOptions(restart=not no_restart, wait=not no_wait, timeout=wait_timeout))


@secret_app.command("rollback")
def secret_rollback(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
                    provider_mirror: ProviderMirror = None, no_restart: NoRestart = False, no_wait: NoWait = False,
                    wait_timeout: WaitTimeout = WAIT_TIMEOUT_SECONDS) -> None:
    """Make the previous value current again (AWSPREVIOUS -> AWSCURRENT) and roll the service onto it.

    The way back from a bad key: no value is read or typed. Fails when there is no previous version.
    """
    s = _session(project_dir, "secret", endpoint_url, provider_mirror, env=env)
    secrets.rollback_secret(s, RollOptions(restart=not no_restart, wait=not no_wait, timeout=wait_timeout))


@app.command()
def lockdown(project_dir: ProjectDir = Path("."), env: EnvName = None,
             principal: Annotated[Optional[list[str]], typer.Option(
                 "--principal", help="Another IAM principal ARN that may read the secret (repeatable).")] = None,
             auto_approve: AutoApprove = False, endpoint_url: EndpointUrl = None,
             provider_mirror: ProviderMirror = None,
             remove_principal: Annotated[Optional[list[str]], typer.Option(
                 "--remove-principal", help="Stop letting this earlier --principal read (repeatable).")] = None,
             reset: Annotated[bool, typer.Option(
                 "--reset", help="Drop every earlier --principal: only the stack's roles and this run's "
                                 "--principal read.")] = False,
             no_verify_start: Annotated[bool, typer.Option(
                 "--no-verify-start", help="Do not prove the change with new tasks (they read the secret at start).")]
             = False, wait_timeout: WaitTimeout = WAIT_TIMEOUT_SECONDS) -> None:
    """Phase two: allow only the task and execution roles (plus --principal) to read the secret.

    Re-applies the last deploy's inputs with app_reader_principal_arns set, reads the policy back
    from AWS and shows who may read and through which endpoint, then proves it: new tasks must
    start and read the secret under it. If they cannot, the previous reader list is restored and
    the command exits 1 with the reason. The execution role is always kept: ECS injects the
    secret with it. Earlier --principal readers are kept unless --remove-principal or --reset
    drops them (the list before and after is printed when it changes), so running it again
    changes nothing. A principal of another account is refused: the KMS key trusts only this one.
    """
    s = _session(project_dir, "lockdown", endpoint_url, provider_mirror, env)
    locking.lockdown(s, list(principal or []), auto_approve=auto_approve, verify_start=not no_verify_start,
                     options=RollOptions(timeout=wait_timeout), remove=list(remove_principal or []), reset=reset)


@app.command()
def status(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Show the outputs, whether the secret has a value (never the value), who may read it, and the
    service: running and desired tasks, the rollout, healthy targets, the last stopped reason."""
    s = _session(project_dir, "status", endpoint_url, env=env)
    info = statuses.status(s)
    if as_json:
        typer.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    print_outputs(info["outputs"])
    secret = info["secret"]
    typer.echo(f"Secret value: {'set' if secret['has_value'] else 'NOT SET — run `byoc secret put`'}")
    lock = info["lockdown"]
    if lock["locked"]:
        typer.echo("Locked down: only " + ", ".join(lock["readers"]) + " may read")
    else:
        typer.echo("Locked down: no — run `byoc lockdown` after `byoc secret put`")
    if lock["vpc_endpoints"]:
        typer.echo(f"Reads only through VPC endpoint {', '.join(lock['vpc_endpoints'])}")
    service = info["service"]
    if service is None:
        typer.echo("Service: not found (run `byoc deploy`)")
    else:
        typer.echo(f"Service: {service['running']} of {service['desired']} tasks running, rollout "
                   f"{service['rollout_state']}, {service['healthy_targets']} healthy targets")
        if service["last_stopped_reason"]:
            typer.echo(f"Last stopped task: {service['last_stopped_reason']}")


@app.command()
def logs(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
         follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until Ctrl-C.")] = False,
         since: Annotated[str, typer.Option("--since", help="How far back to start: 30s, 10m, 2h, 1d.")] = "10m") -> None:
    """Print the service's log lines (its awslogs group), oldest first; --follow for new ones."""
    from cli.logs import parse_since, show_logs

    seconds = parse_since(since)
    s = _session(project_dir, "logs", endpoint_url, env=env)
    values = s.deployed_inputs()
    target = s.target(values["aws_region"])
    target.require_credentials()
    try:
        show_logs(target, s.outputs(s.terraform(values["aws_region"])), since_seconds=seconds, follow=follow,
                  say=typer.echo)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@app.command()
def doctor(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
           static: Annotated[bool, typer.Option("--static", help="Only the checks on the synthesized JSON "
                                                "(no AWS calls).")] = False,
           check_value: Annotated[bool, typer.Option(
               "--check-value", help="Also read the secret's value to check it is JSON holding PINECONE_API_KEY "
                                     "(never printed; the read shows in CloudTrail). Off: DescribeSecret only.")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Check everything that makes tasks fail to start, the way AWS's runbook does.

    Static checks read cdktf.out (execution role grant, valueFrom JSON key, endpoints, security
    group, lock-down keeps the execution role, two roles, platform version). When a deployment
    exists, live checks read it with boto3, along a task start's path: endpoints and their DNS,
    AZs and security group; the task security group's egress, network ACLs and route tables; the
    execution role, valueFrom, the secret (has a current value; --check-value reads it), its
    policy and its KMS key; AWS's own verdicts (IAM policy simulator, Access Analyzer); the image,
    the service, its stopped tasks (each reason explained) and targets. Read-only. Exit 0 when
    nothing fails, 1 otherwise.
    """
    from cli.doctor import FAIL
    from cli.doctor.live import live_checks
    from cli.doctor import report
    from cli.doctor.static import static_checks
    from cli.synth import ensure_synth

    s = _session(project_dir, "doctor", endpoint_url, env=env)
    result = ensure_synth(s.project)
    # Evaluated with the inputs it is deployed with (else byoc.toml's): nat_mode, endpoint_set, ...
    static_results = static_checks(json.loads((result.stack_dir / "cdk.tf.json").read_text()),
                                   project_inputs(s.project)[0])
    live_results = None
    if not static and s.project.has_deployment():
        values = s.deployed_inputs()
        target = s.target(values["aws_region"])
        target.require_credentials()
        live_results = live_checks(target, s.outputs(s.terraform(values["aws_region"])), values,
                                   check_value=check_value)
    if as_json:
        typer.echo(report.as_json(static_results, live_results))
    else:
        typer.echo("Static checks (synthesized JSON):")
        for line in report.render(static_results):
            typer.echo("  " + line)
        if live_results is None:
            typer.echo("Live checks: skipped (" + ("--static" if static else "no deployment in this project") + ").")
        else:
            typer.echo("Live checks (deployed stack, read-only):")
            for line in report.render(live_results):
                typer.echo("  " + line)
    if any(c.result == FAIL for c in static_results + (live_results or [])):
        raise typer.Exit(1)


@app.command()
def destroy(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
            force_delete_secret: Annotated[bool, typer.Option(
                "--force-delete-secret",
                help="Delete the secret at once instead of after its recovery window. Irreversible.")] = False,
            endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None) -> None:
    """Destroy everything the last deploy created (asks first).

    The secret is scheduled for deletion with its recovery window (secret_recovery_window_days,
    7 by default) and can be restored until then, unless --force-delete-secret is given.
    """
    s = _session(project_dir, "destroy", endpoint_url, provider_mirror, env)
    destroying.destroy(s, auto_approve=auto_approve, force_delete_secret=force_delete_secret)


@backend_app.command("bootstrap")
def backend_bootstrap(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
                      endpoint_url: EndpointUrl = None) -> None:
    """Create the S3 state bucket named in byoc.toml's [backend], safely.

    Versioning on, default encryption (SSE-KMS with backend.kms_key_id, else SSE-S3), all public
    access blocked, object ownership enforced, HTTPS only. Run it again to check and complete the
    settings of an existing bucket.
    """
    s = _session(project_dir, "backend", endpoint_url, env=env)
    for line in state_backend.bootstrap_backend(s, auto_approve=auto_approve):
        typer.echo(f"  {line}")
    typer.echo(f"State bucket ready: {s.project.backend.bucket}.")


@backend_app.command("migrate")
def backend_migrate(project_dir: ProjectDir = Path("."), env: EnvName = None, auto_approve: AutoApprove = False,
                    endpoint_url: EndpointUrl = None, provider_mirror: ProviderMirror = None) -> None:
    """Move this environment's local state file into the S3 backend named in byoc.toml.

    Runs `terraform init -migrate-state`, checks that every resource arrived, and keeps the local
    file as terraform.<stack>.tfstate.migrated. Every later command uses the bucket.
    """
    s = _session(project_dir, "backend", endpoint_url, provider_mirror, env)
    state_backend.migrate_backend(s, auto_approve=auto_approve)


@app.command()
def emulator(port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = a free one).")] = 0) -> None:
    """Run the embedded AWS emulator (moto, gaps filled) in the foreground until Ctrl-C.

    Point other shells at it: export AWS_ENDPOINT_URL=<printed URL> plus any fake credentials.
    """
    import time

    from cli.emulator import EMULATOR_ENV, running

    if port and not 1 <= port <= 65535:
        raise InputError(f"--port: {port} is not a port; give 1-65535, or 0 for a free one.")
    with running(port or None) as emu:
        typer.echo(f"Emulator listening on {emu.endpoint_url} (Ctrl-C to stop). In another shell:")
        typer.echo(f"  export AWS_ENDPOINT_URL={emu.endpoint_url} " +
                   " ".join(f"{k}={v}" for k, v in EMULATOR_ENV.items() if k != "AWS_SESSION_TOKEN"))
        try:
            while True:  # short sleeps: a signal is acted on when the main thread next runs
                time.sleep(0.5)
        except KeyboardInterrupt as exc:
            typer.echo("Emulator stopped.")
            if isinstance(exc, Terminated):
                raise typer.Exit(143) from None


@app.command()
def demo(project_dir: Annotated[Optional[Path], typer.Option(
             "--project-dir", "-C", help="Keep the demo project here instead of a temporary folder.")] = None,
         provider_mirror: ProviderMirror = None) -> None:
    """Run the whole two-phase flow against the embedded emulator, no AWS account needed.

    synth -> deploy -> secret put (a generated dummy key) -> lockdown -> verify (the policy names
    the task and execution roles; a further plan shows no changes) -> outputs -> destroy.
    Exits 0 only if every step verified.
    """
    from cli.demo import run_demo

    mirror = check_mirror(provider_mirror.expanduser().resolve()) if provider_mirror else None
    run_demo(project_dir.resolve() if project_dir else None, mirror)


@app.command()
def cost(project_dir: ProjectDir = Path("."), env: EnvName = None,
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Estimated fixed monthly cost of the stack at list prices, before traffic, and what each cost option saves.

    Counts what cdktf.out/stacks/byoc/cdk.tf.json creates (NAT gateways, public IPv4, interface
    endpoints per AZ, load balancer, KMS key, secret, Fargate tasks) with the last deploy's inputs,
    else byoc.toml; prices come from the table shipped in cli/prices.json (its date and sources
    are printed). No AWS calls.
    """
    from cli import cost as costs

    estimate = costs.run(_session(project_dir, "cost", env=env).project)
    typer.echo(json.dumps(estimate.as_dict(), indent=2) if as_json else "\n".join(costs.render(estimate)))


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
