"""Pinecone's PrivateLink services by region, loaded from ``pinecone_privatelink.json`` (the
table is data, with its source and date). Pure Python: no jsii."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

_TABLE = json.loads((Path(__file__).with_name("pinecone_privatelink.json")).read_text())

SOURCE: str = _TABLE["source"]
AS_OF: str = _TABLE["as_of"]


@dataclass(frozen=True)
class PrivateLinkService:
    region: str
    #: The endpoint service to create an interface endpoint for.
    service_name: str
    #: The zone of Pinecone's private hostnames in this region (records: *.<dns_zone>).
    dns_zone: str


PINECONE_PRIVATELINK: dict[str, PrivateLinkService] = {
    region: PrivateLinkService(region, row["service_name"], row["dns_zone"])
    for region, row in _TABLE["regions"].items()
}
