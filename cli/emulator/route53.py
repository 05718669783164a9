"""Route 53: gap 8 (a hosted zone created with a VPC is private).

Gap 8 — (found here, moto 5.2.5) moto's ``CreateHostedZone`` with a VPC makes a *public* zone
unless ``HostedZoneConfig.PrivateZone`` is also sent; AWS makes it private (the VPC is what makes
a zone private, and the AWS provider sends only the VPC). The next plan then tries to associate
the VPC again and fails (PublicZoneVPCAssociation). A VPC in the request makes the zone private.

AWS documentation followed:
- Route 53 API Reference, CreateHostedZone (VPC: private hosted zones only) and HostedZoneConfig,
  https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html,
  https://docs.aws.amazon.com/Route53/latest/APIReference/API_HostedZoneConfig.html
- Route 53 Developer Guide, "Creating a private hosted zone",
  https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/hosted-zone-private-creating.html
"""

from __future__ import annotations

from cli.emulator.patching import installer, replace

GAPS = (8,)


def patch_responses() -> None:
    from moto.route53.responses import Route53

    original_create_hosted_zone = Route53.create_hosted_zone

    @replace(Route53, "create_hosted_zone", gap=8)
    def create_hosted_zone(self):
        if self._get_param("VPC.VPCId") is None or self._get_param("HostedZoneConfig.PrivateZone") is not None:
            return original_create_hosted_zone(self)
        read_bool = self._get_bool_param
        self._get_bool_param = lambda name, if_none=None: (
            True if name == "HostedZoneConfig.PrivateZone" else read_bool(name, if_none))
        try:
            return original_create_hosted_zone(self)
        finally:
            del self._get_bool_param


install = installer(patch_responses)
