"""``byoc plan``: what ``byoc deploy`` would change, without changing it — ``terraform plan`` on the
inputs deploy would apply (``deploy_values``: the same existing-VPC endpoints, the same
start_tasks while the secret has no value), summarized as deploy shows it before asking.

It is an action by the layers' rule (it runs terraform: synth and init when needed, then plan,
which takes the state lock and reads AWS) although nothing in AWS or the state changes: the
saved plan file is deleted, and the inputs of the last deploy (``.byoc/inputs.tfvars.json``)
are left as they are.
"""

from __future__ import annotations

from typing import Any

from cli.actions.deploy import deploy_values
from cli.core.progress import PlanSummary
from cli.core.session import Session, say


def plan(s: Session, values: dict[str, Any], *, start_tasks_set: bool = False) -> PlanSummary:
    values, tf = deploy_values(s, values, start_tasks_set=start_tasks_set)
    say("Terraform: plan ...")
    summary, plan_file = s.plan(tf, values)
    plan_file.unlink(missing_ok=True)
    for line in summary.lines():
        s.show(line)
    if summary.empty:
        s.show("No changes: the deployment already matches these inputs.")
    return summary
