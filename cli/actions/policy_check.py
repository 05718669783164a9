"""A plan whose secret and key policies are validated by AWS before anything is applied: what
``byoc deploy`` and ``byoc lockdown`` apply (each calls ``plan_validated`` once, in place of a
bare plan).

The documents come from the plan itself — ``terraform show -json`` of the saved plan, the
planned values terraform is about to write — never rebuilt by hand; the validators and their
rules are ``cli/observers/validation.py``'s. A finding that must stop the apply (an error, a
lock-out, public access) ends the command with exit 1 before apply, the plan file deleted:
nothing was changed. Only a plan that creates or updates one of the two policies is shown and
validated (``show`` costs a terraform process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.core.aws import aws_error, aws_errors
from cli.core.errors import ByocError
from cli.core.progress import PlanSummary
from cli.core.session import Session, say
from cli.core.terraform import Terraform
from cli.observers.validation import KINDS, planned, validate


def plan_validated(s: Session, tf: Terraform, values: dict[str, Any]) -> tuple[PlanSummary, Path]:
    """``s.plan`` to a file, then the policies it writes validated (raises ByocError to stop)."""
    summary, plan_file = s.plan(tf, values)
    touched = [addr for action, addr in summary.changes
               if action in ("create", "update", "replace") and addr.split("[")[0].split(".")[0] in KINDS]
    if not touched:
        return summary, plan_file
    try:
        plan = json.loads(tf.run("show", "-json", str(plan_file), log_stdout=False).stdout)
        result = validate(s.target(values["aws_region"]), planned(plan))
    except (ByocError, ValueError, *aws_errors()) as exc:
        plan_file.unlink(missing_ok=True)
        if isinstance(exc, ByocError):
            raise
        raise (aws_error(exc, "validating the planned policies") if isinstance(exc, aws_errors())
               else ByocError(f"terraform show -json gave no plan to validate ({exc}): nothing was applied; run the "
                              "command again")) from None
    say("Policies validated before apply (" + ", ".join(touched) + "):")
    for line in result.lines():
        say(line)
    if result.stops:
        plan_file.unlink(missing_ok=True)
        first = result.stops[0]
        more = f" (and {len(result.stops) - 1} more above)" if len(result.stops) > 1 else ""
        raise ByocError(f"nothing was applied: {first.line()}{more}. Fix the policy the plan would write, then run "
                        "the command again.")
    return summary, plan_file
