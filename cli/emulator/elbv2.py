"""Elastic Load Balancing: gap 6 (deletion protection holds) and the target health of gap 4.

Gap 6 — (found here, moto 5.2.5) moto's ``DeleteLoadBalancer`` ignores the load balancer's
deletion protection, so a destroy that would fail in AWS passes against moto. It is refused with
AWS's ``OperationNotPermitted``, so the tests prove that every destroy path turns protection off
first.

Gap 4 (the tasks of the ECS task model, ecs_tasks.py) — moto knows nothing of the model's tasks
in its target groups. ``DescribeTargetHealth`` advances the task model to now and reports the
state it holds for a task's address (``initial``, ``healthy``, ``unhealthy`` with AWS's reason
codes); any other target keeps moto's own answer.

AWS documentation followed:
- Elastic Load Balancing API Reference, DeleteLoadBalancer ("You can't delete a load balancer if
  deletion protection is enabled"; error OperationNotPermitted, HTTP 400) and LoadBalancerAttribute
  (``deletion_protection.enabled``),
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DeleteLoadBalancer.html,
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerAttribute.html
- Elastic Load Balancing API Reference, DescribeTargetHealth and TargetHealth (states, reason
  codes),
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_DescribeTargetHealth.html,
  https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html
- User Guide for Application Load Balancers, "Health checks for Application Load Balancer target
  groups",
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
"""

from __future__ import annotations

from cli.emulator import ecs_tasks
from cli.emulator.patching import installer, replace

GAPS = (4, 6)


def patch_responses() -> None:
    from moto.elbv2.responses import ELBV2Response

    original_describe_target_health = ELBV2Response.describe_target_health

    @replace(ELBV2Response, "describe_target_health", gap=4)
    def describe_target_health(self):
        from moto.ecs.models import ecs_backends

        ecs_tasks.tick(ecs_backends[self.current_account][self.region])
        return original_describe_target_health(self)


def patch_models() -> None:
    from moto.elbv2.exceptions import ELBClientError
    from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeTargetGroup

    original_health_for = FakeTargetGroup.health_for

    @replace(FakeTargetGroup, "health_for", gap=4)
    def health_for(self, target, ec2_backend):  # the task model's target states
        state = ecs_tasks.target_health(self, target["Id"])
        if state is None or target["Id"] not in self.targets:
            return original_health_for(self, target, ec2_backend)
        return FakeHealthStatus(target["Id"], self.targets[target["Id"]]["Port"], self.health_check_port, *state)

    original_delete_load_balancer = ELBv2Backend.delete_load_balancer

    @replace(ELBv2Backend, "delete_load_balancer", gap=6)
    def delete_load_balancer(self, arn: str) -> None:
        balancer = self.load_balancers.get(arn)
        if balancer is not None and balancer.attrs.get("deletion_protection.enabled") == "true":
            raise ELBClientError("OperationNotPermitted", f"Load balancer '{arn}' cannot be deleted because "
                                                          "deletion protection is enabled")
        original_delete_load_balancer(self, arn)


install = installer(patch_responses, patch_models)
