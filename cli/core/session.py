"""One command's session with a project: which AWS, the terraform runner, and the steps every
operation shares — synth-and-init (``prepare``), ``plan``, ``approve``, ``apply`` — and the
read-only view of what is deployed (``deployed``: the inputs of the last deploy, the AWS target,
the outputs read from the state without running terraform).

The actions (``cli/actions/``) and the observers (``cli/observers/``) take a session; the
commands (``cli/commands/``) make one, and so does ``byoc demo``, so the demo exercises exactly
what users run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import typer

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.config import Project
from cli.core.errors import ByocError, InputError
from cli.core.progress import ApplyProgress, PlanSummary, elapsed, notice, summarize_plan
from cli.core.synth import ensure_synth, is_fresh
from cli.core.terraform import Terraform
from cli.core.toolchain import require_node, terraform_binary
from constructs_lib.catalog import PINECONE_API_KEY_ENV as API_KEY_ENV


def say(text: str = "") -> None:
    """Narration — progress, questions' context, warnings: stderr, so that stdout holds only results."""
    notice(text)


def show(text: str = "") -> None:
    """A result (what a script may read): stdout."""
    typer.echo(text)


def ask_yes_no(prompt: str) -> bool:
    """A yes/no question on stderr (stdout stays for results); the answer from stdin."""
    return typer.confirm(prompt, default=False, err=True)


def require_answer(auto_approve: bool) -> None:
    """A command that asks before it changes anything needs a terminal to ask on, or
    ``--auto-approve``: without either it stops at once, before any terraform work (exit 2), as
    terraform's ``apply -input=false`` does without ``-auto-approve``."""
    if auto_approve or (sys.stdin is not None and sys.stdin.isatty()):
        return
    raise InputError("--auto-approve: there is no terminal to ask on (stdin is not a terminal) and nothing is "
                     "changed without a yes; pass --auto-approve (-y) to apply without asking.")


class Outputs(dict):
    """A deployment's outputs; one that is missing (a state from an older or hand-edited stack)
    is a one-line error saying how to bring it back, not a KeyError."""

    def __missing__(self, name: str):
        raise ByocError(f"the deployment has no output {name!r} (its state is older than this stack, or was "
                        "edited): run `byoc deploy` to bring it up to date, then run the command again.")


@dataclass(frozen=True)
class Deployment:
    """A deployment as the commands after ``byoc deploy`` find it."""

    values: dict[str, Any]
    target: AwsTarget
    outputs: Outputs

    @property
    def region(self) -> str:
        return self.values["aws_region"]


@dataclass
class Session:
    """One command's view of a project: where, which AWS, how to get the provider."""

    project: Project
    endpoint_url: str | None = None
    provider_mirror: Path | None = None
    command: str = "byoc"
    confirm: Callable[[str], bool] = ask_yes_no
    sleep: Callable[[float], None] = time.sleep
    #: ``--json``: the command prints its result as JSON at the end, so the human-readable results
    #: (``show``) go to stderr with the narration and stdout holds the JSON alone.
    as_json: bool = False

    def show(self, text: str = "") -> None:
        (say if self.as_json else show)(text)

    def target(self, region: str) -> AwsTarget:
        return AwsTarget(region=region, endpoint_url=self.endpoint_url)

    def terraform(self, region: str) -> Terraform:
        return Terraform(self.project.stack_dir, self.target(region).terraform_env(),
                         log_path=self.project.log_file(self.command))

    # -- shared steps ---------------------------------------------------------------------
    def preflight(self) -> None:
        """The programs this command runs, checked before any work: terraform (1.10 or newer),
        and Node.js when the stack must be synthesized again."""
        terraform_binary()
        if not is_fresh(self.project):
            require_node()

    def prepare(self, region: str) -> Terraform:
        """Synth when something changed, and ``terraform init`` when the folder needs it."""
        self.preflight()  # fail before any work when terraform or Node.js is missing or too old
        self.target(region).require_credentials()
        if self.project.pinecone is not None and not os.environ.get(API_KEY_ENV, "").strip():
            # The Pinecone provider reads its key from the environment only: never argv, never state.
            raise InputError(f"{API_KEY_ENV}: not set, and byoc.toml's [pinecone] manages indexes with the Pinecone "
                             f"provider, which reads the key from the environment: export {API_KEY_ENV} "
                             "(e.g. `read -s PINECONE_API_KEY && export PINECONE_API_KEY`), never pass it as an argument.")
        if self.project.backend is not None and self.project.has_local_resources():
            raise ByocError(f"the state is still local ({self.project.state_file.name}) but byoc.toml names the "
                            f"S3 backend {self.project.backend.url}: run `byoc backend migrate` first.")
        result = ensure_synth(self.project)
        if result.cached:
            say("Synth: up to date (nothing changed since the last synth).")
        else:
            say(f"Synth: wrote {self.project.stack_dir.relative_to(self.project.root)} in {result.seconds:.1f}s.")
        tf = self.terraform(region)
        if not result.cached or not (self.project.stack_dir / ".terraform").is_dir():
            if self.project.pinecone is not None:
                say("Pinecone indexes: managed with pinecone-io/pinecone, which terraform init downloads from "
                    "registry.terraform.io (needs registry access).")
            with elapsed("Terraform: init ...", keep=True) as live:
                if not live:
                    say("Terraform: init ...")
                tf.init(self.provider_mirror, on_notice=say)
        return tf

    def _var_file(self, values: dict[str, Any]) -> Path:
        """The inputs of this run as a -var-file (deleted by the caller when terraform is done)."""
        self.project.state_dir.mkdir(parents=True, exist_ok=True)
        var_file = self.project.state_dir / "pending.tfvars.json"
        var_file.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        return var_file

    def plan(self, tf: Terraform, values: dict[str, Any], *, destroy: bool = False) -> tuple[PlanSummary, Path]:
        var_file = self._var_file(values)
        plan_file = self.project.state_dir / "byoc.tfplan"
        args = ["plan", "-json", "-input=false", "-lock-timeout=0s", f"-var-file={var_file}", f"-out={plan_file}"]
        if destroy:
            args.append("-destroy")
        try:
            summary = summarize_plan(tf.stream(*args, on_notice=say))
        finally:
            var_file.unlink(missing_ok=True)
        return summary, plan_file

    def apply(self, tf: Terraform, plan_file: Path, summary: PlanSummary) -> None:
        progress = ApplyProgress(summary.total)
        try:
            tf.stream("apply", "-json", "-input=false", "-lock-timeout=0s", str(plan_file),
                      on_message=progress.handle, on_notice=say)
        finally:
            plan_file.unlink(missing_ok=True)
        progress.finish()

    def apply_now(self, tf: Terraform, values: dict[str, Any], *, destroy: bool = False,
                  show_plan: bool = True) -> PlanSummary:
        """Plan and apply in one terraform process (``apply -auto-approve``), for runs where nobody
        reads the plan before it is applied (``--auto-approve``, or a step already approved). The
        plan's summary is printed as it arrives (unless ``show_plan`` is off), then the progress.

        Why not plan to a file and apply that, as with a question: every terraform process that
        loads the AWS provider spends ~8 s of CPU before it does anything, so one process instead
        of two makes every unattended destroy, rollout and undo that much faster. Deploy and
        lockdown do plan to a file, even unattended: the policies a plan writes are validated by
        AWS before it is applied (``cli/actions/policy_check.py``).
        """
        var_file = self._var_file(values)
        summary = PlanSummary()
        progress: ApplyProgress | None = None

        def on_message(msg: dict) -> None:
            nonlocal progress
            if progress is not None:
                progress.handle(msg)
            elif summary.take(msg):
                if show_plan:
                    for line in summary.lines():
                        say(line)
                if not summary.empty:
                    progress = ApplyProgress(summary.total)

        args = ["apply", "-json", "-input=false", "-lock-timeout=0s", "-auto-approve", f"-var-file={var_file}"]
        try:
            tf.stream(*args, *(["-destroy"] if destroy else []), on_message=on_message, on_notice=say)
        finally:
            var_file.unlink(missing_ok=True)
        if progress is not None:
            progress.finish()
        return summary

    def approve(self, summary: PlanSummary, auto_approve: bool, question: str) -> None:
        for line in summary.lines():
            say(line)
        self.ask(question, auto_approve)

    def ask(self, question: str, auto_approve: bool) -> None:
        """Go on only with a yes (or --auto-approve); no terminal to ask on is refused (exit 2)."""
        if auto_approve:
            return
        if self.confirm is ask_yes_no:
            require_answer(auto_approve)
        try:
            ok = self.confirm(question)
        except (typer.Abort, EOFError):
            ok = False
        if not ok:
            raise ByocError("Nothing was changed (not confirmed). Pass --auto-approve to skip the question.")

    def outputs(self) -> Outputs:
        """The deployment's outputs, read from its state as ``terraform output`` does, without
        starting terraform (no synth, no init: reading never writes a file)."""
        return Outputs({name: entry.get("value") if isinstance(entry, dict) else None
                        for name, entry in self.output_entries().items()})

    def output_entries(self) -> dict[str, Any]:
        """The state's outputs as terraform records them (``value``, ``type``, ``sensitive``): the
        local state file, or the S3 backend's state object (``GetObject`` on the key terraform
        writes; the default workspace's state is at the key itself, per the S3 backend's
        documentation)."""
        if self.project.backend is None:
            state = self.project.local_state() or {}
            return dict(state.get("outputs") or {})
        backend = self.project.backend
        target = AwsTarget(region=backend.region, endpoint_url=self.endpoint_url)
        try:
            body = target.client("s3").get_object(Bucket=backend.bucket, Key=backend.key)["Body"].read()
        except aws_errors() as exc:
            raise aws_error(exc, f"reading the state {backend.url}") from None
        try:
            state = json.loads(body)
        except ValueError:
            raise ByocError(f"the state {backend.url} is not a Terraform state (not JSON): check the bucket's "
                            "object history (versioning keeps every state version).") from None
        if not isinstance(state, dict) or not isinstance(state.get("outputs") or {}, dict):
            raise ByocError(f"the state {backend.url} is not a Terraform state (no outputs object): check the "
                            "bucket's object history (versioning keeps every state version).")
        return dict(state.get("outputs") or {})

    def deployed(self) -> "Deployment":
        """What is deployed, for a command that reads it or acts on it: the inputs of the last
        deploy (none: "run `byoc deploy` first"), AWS credentials checked, and the outputs."""
        values = self.deployed_inputs()
        target = self.target(values["aws_region"])
        target.require_credentials()
        return Deployment(values, target, self.outputs())

    def deployed_inputs_raw(self) -> dict[str, Any]:
        saved = self.project.saved_inputs()
        if saved is None:
            raise ByocError(f"no deployment inputs found in {self.project.state_dir}: run `byoc deploy` first.")
        return saved

    def deployed_inputs(self) -> dict[str, Any]:
        saved = self.project.saved_inputs()
        if saved is None or not self.project.has_deployment():
            raise ByocError(f"no deployment found in {self.project.root}: run `byoc deploy` first "
                            "(or pass --project-dir to the project you deployed).")
        return saved


def output_lines(outputs: dict[str, Any]) -> list[str]:
    """A deployment's outputs as ``byoc deploy`` and ``byoc status`` show them."""
    lines = ["Outputs:"]
    for name in sorted(outputs):
        value = outputs[name]
        shown = ", ".join(value) if isinstance(value, list) else ("(none)" if value is None else value)
        lines.append(f"  {name} = {shown}")
    return lines


def print_outputs(outputs: dict[str, Any], out: Callable[[str], None] = show) -> None:
    for line in output_lines(outputs):
        out(line)
