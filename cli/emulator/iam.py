"""IAM: gap 1 (AWS-managed policies exist).

Gap 1 — moto does not load IAM's AWS-managed policies by default, so attaching
``AmazonECSTaskExecutionRolePolicy`` to the execution role fails with NoSuchEntity. moto's own
switch ``MOTO_IAM_LOAD_MANAGED_POLICIES`` loads them; it is read when the IAM backend is created,
so it is set before the server starts.

IAM's policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) is gap 11's:
``iam_simulator.py``.

AWS documentation followed:
- IAM User Guide, "Managed policies and inline policies" (AWS managed policies),
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
- Amazon ECS Developer Guide, "Amazon ECS task execution IAM role",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
"""

from __future__ import annotations

from cli.emulator.patching import installer, set_env

GAPS = (1,)


def patch_models() -> None:
    set_env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true", gap=1)  # read when the IAM backend is created


install = installer(patch_models)
