"""``byoc doctor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.commands.app import app
from cli.commands.options import AsJson, EndpointUrl, EnvName, ProjectDir, open_session
from cli.observers.doctor.diagnose import diagnose


@app.command()
def doctor(project_dir: ProjectDir = Path("."), env: EnvName = None, endpoint_url: EndpointUrl = None,
           static: Annotated[bool, typer.Option("--static", help="Only the checks on the synthesized JSON "
                                                "(no AWS calls).")] = False,
           check_value: Annotated[bool, typer.Option(
               "--check-value", help="Also read the secret's value to check it is JSON holding PINECONE_API_KEY "
                                     "(never printed; the read shows in CloudTrail). Off: DescribeSecret only.")] = False,
           as_json: AsJson = False) -> None:
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
    report = diagnose(open_session(project_dir, "doctor", endpoint_url, env=env, as_json=as_json), static_only=static,
                      check_value=check_value)
    typer.echo(report.as_json() if as_json else "\n".join(report.human()))
    if not report.ok:
        raise typer.Exit(1)
