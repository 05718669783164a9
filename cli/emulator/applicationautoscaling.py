"""Application Auto Scaling: gap 2 (scalable targets can be tagged).

Gap 2 — moto has no ``ListTagsForResource`` / ``TagResource`` / ``UntagResource`` for
Application Auto Scaling: it answers HTTP 500, and the AWS provider retries
``aws_appautoscaling_target`` forever. The three operations are implemented here with a tag store
per scalable target ARN (``TAGS``), which ``RegisterScalableTarget``'s ``Tags`` also fill; the
store is emptied with the emulator's reset.

AWS documentation followed:
- Application Auto Scaling API Reference, ListTagsForResource, TagResource, UntagResource,
  RegisterScalableTarget (its Tags),
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ListTagsForResource.html,
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TagResource.html,
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_UntagResource.html,
  https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html
- Application Auto Scaling User Guide, "Tagging support for Application Auto Scaling",
  https://docs.aws.amazon.com/autoscaling/application/userguide/resource-tagging-support.html
"""

from __future__ import annotations

import json

from cli.emulator.patching import installer, replace

GAPS = (2,)

#: Application Auto Scaling tags by resource ARN (gap 2), emptied with the emulator's reset.
TAGS: dict[str, dict[str, str]] = {}


def reset() -> None:
    TAGS.clear()


def patch_responses() -> None:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Response

    tags = TAGS

    @replace(Response, "list_tags_for_resource", gap=2)
    def list_tags_for_resource(self) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    @replace(Response, "tag_resource", gap=2)
    def tag_resource(self) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    @replace(Response, "untag_resource", gap=2)
    def untag_resource(self) -> str:
        for key in self._get_param("TagKeys") or []:
            tags.get(self._get_param("ResourceARN"), {}).pop(key, None)
        return "{}"

    original_register = Response.register_scalable_target

    @replace(Response, "register_scalable_target", gap=2)
    def register_scalable_target(self) -> str:
        body = original_register(self)
        if self._get_param("Tags"):
            tags.setdefault(json.loads(body)["ScalableTargetARN"], {}).update(self._get_param("Tags"))
        return body


install = installer(patch_responses)
