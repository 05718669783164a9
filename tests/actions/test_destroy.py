"""``byoc destroy`` when it must stop: on the session's shared deployment (``deployed_stack``),
one security-group rule deleted by hand makes the deployment differ from the stack, so destroy
refuses before it destroys anything — and the load balancer's deletion protection, which it turns
off through ELBv2 before its plan, is on again. The emulator refuses to delete a protected load
balancer (gap 6), so a protection left off would let the next plain `terraform destroy` through.
The destroys that succeed are in tests/actions/test_environments_backend.py and
tests/observers/test_existing_vpc.py.
"""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.xdist_group("deployed_stack")]


def _protection(stack) -> str:
    elbv2 = stack.client("elbv2")
    (lb,) = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"]
             if lb["DNSName"] == stack.outputs["alb_dns_name"]]
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
    return next(a["Value"] for a in attributes if a["Key"] == "deletion_protection.enabled")


def test_a_destroy_that_refuses_leaves_the_load_balancer_protected_and_everything_in_place(deployed_stack):
    assert _protection(deployed_stack) == "true"
    ec2 = deployed_stack.client("ec2")
    (rule,) = [r for r in ec2.describe_security_group_rules()["SecurityGroupRules"]
               if r.get("Description") == "HTTPS to AWS endpoints and Pinecone"]
    before = len(deployed_stack.state()["resources"])
    ec2.revoke_security_group_egress(GroupId=rule["GroupId"], SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    try:
        result = deployed_stack.invoke("destroy", "-y")
        assert result.exit_code == 1, result.output
        (error,) = [line for line in result.output.splitlines() if line.startswith("byoc: error:")]
        assert error.startswith("byoc: error: nothing was destroyed: the deployment differs from this version of "
                                "the stack (create aws_vpc_security_group_egress_rule.service_https_out"), error
        assert _protection(deployed_stack) == "true"
        assert len(deployed_stack.state()["resources"]) == before
        assert (deployed_stack.project / ".byoc" / "inputs.tfvars.json").exists()
    finally:
        deployed_stack.redeploy()  # the rule back, as the stack has it
