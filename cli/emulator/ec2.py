"""EC2: gap 5 (a security group rule keeps its description) and a network-interface fix for gap 4.

Gap 5 — (found here, moto 5.2.5) a security group rule that references another group loses its
description: moto reads a rule's description from its IP range only, so every plan shows a diff.
The description is read from the group pair too.

Gap 4 (the tasks of the ECS task model, ecs_tasks.py) — moto's ECS ``Task`` reads its network
interface's ``private_dns_name`` for the task's attachment, but moto sets that name only when
the VPC has DNS hostnames enabled; a task started in any other VPC fails with AttributeError.
A network interface without one gets the ``ip-<address>.ec2.internal`` name.

AWS documentation followed:
- Amazon EC2 API Reference, UserIdGroupPair (a referenced group's Description) and
  SecurityGroupRule,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_UserIdGroupPair.html,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_SecurityGroupRule.html
- Amazon EC2 API Reference, NetworkInterface (PrivateDnsName),
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html
- Amazon VPC User Guide, "DNS attributes for your VPC" (private DNS hostnames),
  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html
"""

from __future__ import annotations

from cli.emulator.patching import installer, replace

GAPS = (4, 5)


def patch_models() -> None:
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface
    from moto.ec2.models.security_groups import SecurityGroupRule

    replace(SecurityGroupRule, "description", gap=5)(property(
        lambda rule: rule.ip_range.get("Description") or rule.source_group.get("Description")))

    original_eni_init = NetworkInterface.__init__

    @replace(NetworkInterface, "__init__", gap=4)
    def eni_init(self, *args, **kwargs):  # moto's Task reads private_dns_name, which moto sets only sometimes
        original_eni_init(self, *args, **kwargs)
        if not hasattr(self, "private_dns_name"):
            self.private_dns_name = f"ip-{self.private_ip_address.replace('.', '-')}.ec2.internal"


install = installer(patch_models)
