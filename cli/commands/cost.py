"""``byoc cost``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.commands.app import app
from cli.commands.options import AsJson, EnvName, ProjectDir, open_session


@app.command()
def cost(project_dir: ProjectDir = Path("."), env: EnvName = None, as_json: AsJson = False) -> None:
    """Estimated fixed monthly cost of the stack at list prices, before traffic, and what each cost option saves.

    Counts what cdktf.out/stacks/byoc/cdk.tf.json creates (NAT gateways, public IPv4, interface
    endpoints per AZ, load balancer, KMS key, secret, Fargate tasks) with the last deploy's inputs,
    else byoc.toml; prices come from the table shipped in cli/observers/cost/prices.json (its date
    and sources are printed). No AWS calls.
    """
    from cli.observers import cost as costs

    estimate = costs.run(open_session(project_dir, "cost", env=env, as_json=as_json).project)
    typer.echo(json.dumps(estimate.as_dict(), indent=2) if as_json else "\n".join(costs.render(estimate)))
