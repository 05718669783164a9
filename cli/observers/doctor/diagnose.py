"""``byoc doctor`` as one call: the static checks on the synthesized JSON, then, when a deployment
exists, the live checks on it. Read-only towards AWS and the state; the one file it may write is
the synthesized JSON itself (a build artifact, made when the stack's code changed), which the
static checks read."""

from __future__ import annotations

from cli.core.config import project_inputs, read_json
from cli.core.session import Session
from cli.core.synth import ensure_synth
from cli.observers.doctor.live import live_checks
from cli.observers.doctor.report import DoctorReport
from cli.observers.doctor.static import static_checks


def diagnose(s: Session, *, static_only: bool = False, check_value: bool = False) -> DoctorReport:
    result = ensure_synth(s.project)
    # Evaluated with the inputs it is deployed with (else byoc.toml's): nat_mode, endpoint_set, ...
    static = static_checks(read_json(result.stack_dir / "cdk.tf.json"), project_inputs(s.project)[0])
    if static_only:
        return DoctorReport(static, None, "--static")
    if not s.project.has_deployment():
        return DoctorReport(static, None, "no deployment in this project")
    d = s.deployed()
    return DoctorReport(static, live_checks(d.target, d.outputs, d.values, check_value=check_value))
