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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import typer

from cli.core.aws import AwsTarget, aws_error, aws_errors
from cli.core.config import Project
from cli.core.errors import ByocError, InputError
from cli.core.progress import ApplyProgress, PlanSummary, summarize_plan
from cli.core.synth import ensure_synth
from cli.core.terraform import Terraform, terraform_binary
from constructs_lib.catalog import PINECONE_API_KEY_ENV as API_KEY_ENV


def say(text: str = "") -> None:
    typer.echo(text)


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
    confirm: Callable[[str], bool] = field(default=lambda prompt: typer.confirm(prompt, default=False))
    sleep: Callable[[float], None] = time.sleep

    def target(self, region: str) -> AwsTarget:
        return AwsTarget(region=region, endpoint_url=self.endpoint_url)

    def terraform(self, region: str) -> Terraform:
        return Terraform(self.project.stack_dir, self.target(region).terraform_env(),
                         log_path=self.project.log_file(self.command))

    # -- shared steps ---------------------------------------------------------------------
    def prepare(self, region: str) -> Terraform:
        """Synth when something changed, and ``terraform init`` when the folder needs it."""
        terraform_binary()  # fail before any work when terraform is missing
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
        """Go on only with a yes (or --auto-approve); no answer (no terminal) is a no."""
        if auto_approve:
            return
        try:
            ok = self.confirm(question)
        except (typer.Abort, EOFError):
            ok = False
        if not ok:
            raise ByocError("Nothing was changed (not confirmed). Pass --auto-approve to skip the question.")

    def outputs(self) -> Outputs:
        """The deployment's outputs, read from its state as ``terraform output`` does, without
        starting terraform (no synth, no init: reading never writes a file): the local state
        file, or the S3 backend's state object (``GetObject`` on the key terraform writes; the
        default workspace's state is at the key itself, per the S3 backend's documentation)."""
        if self.project.backend is None:
            return Outputs(self.project.local_outputs() or {})
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
        return Outputs({name: entry.get("value") if isinstance(entry, dict) else None
                        for name, entry in (state.get("outputs") or {}).items()})

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


def print_outputs(outputs: dict[str, Any]) -> None:
    for line in output_lines(outputs):
        say(line)
