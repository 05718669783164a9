"""Optional management of Pinecone indexes with the ``pinecone-io/pinecone`` Terraform provider.

Pure data here; the construct is ``constructs_lib/pinecone_indexes.py``. The setting comes from
byoc.toml's ``[pinecone]`` table and is a *synth-time* switch, unlike the stack inputs: a
provider must be named in ``required_providers`` before ``terraform init``, and an init that
needs a provider it cannot download fails for every user, so the stack names the Pinecone
provider only when asked to. The index definitions become the default of the Terraform variable
``pinecone_indexes``, so plain-terraform users can still override them with ``-var``.

The provider reads the API key from ``PINECONE_API_KEY`` in the environment: the key never
appears in the JSON, argv or the state (the index resources hold names, hosts and specs).

    [pinecone]
    manage_indexes = true
    [pinecone.indexes.agent-memory]
    dimension = 1536
    metric = "cosine"                 # cosine (default), euclidean or dotproduct
    deletion_protection = "enabled"   # enabled (default) or disabled
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.catalog import (PINECONE_DELETION_PROTECTION as DELETION_PROTECTION,
                                    PINECONE_INDEX_NAME_RE as INDEX_NAME_RE, PINECONE_MAX_DIMENSION as MAX_DIMENSION,
                                    PINECONE_METRICS as METRICS)
from stacks.field_errors import FieldError, reject_unknown

TABLE_FIELDS = {"manage_indexes", "indexes"}
INDEX_FIELDS = {"dimension", "metric", "deletion_protection"}


@dataclass(frozen=True)
class PineconeIndexes:
    #: name -> {"dimension": int, "metric": str, "deletion_protection": str}
    indexes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"indexes": self.indexes}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "PineconeIndexes":
        return cls(**json.loads(text))


def pinecone_from_config(table: dict[str, Any] | None) -> PineconeIndexes | None:
    """byoc.toml's ``[pinecone]`` table as settings, or None when index management is off."""
    if not table:
        return None
    reject_unknown(table, TABLE_FIELDS, "pinecone")
    manage = table.get("manage_indexes", False)
    if not isinstance(manage, bool):
        raise FieldError("pinecone.manage_indexes", "pinecone.manage_indexes must be true or false.")
    raw = table.get("indexes", {})
    if not isinstance(raw, dict):
        raise FieldError("pinecone.indexes", "pinecone.indexes must be a table of [pinecone.indexes.<name>] "
                                                      "tables.")
    if not manage:
        return None
    indexes: dict[str, dict[str, Any]] = {}
    for name, spec in raw.items():
        where = f"pinecone.indexes.{name}"
        if not re.fullmatch(INDEX_NAME_RE, name):
            raise FieldError(where, f"[{where}]: index names are 1-45 characters of a-z, 0-9 and '-', "
                                             "starting and ending with a letter or digit.")
        if not isinstance(spec, dict):
            raise FieldError(where, f"[{where}] must be a table with dimension (and optional metric, "
                                             "deletion_protection).")
        reject_unknown(spec, INDEX_FIELDS, where)
        dimension = spec.get("dimension")
        if not isinstance(dimension, int) or isinstance(dimension, bool) or not 1 <= dimension <= MAX_DIMENSION:
            raise FieldError(f"{where}.dimension", f"{where}.dimension must be a whole number from 1 to "
                                                            f"{MAX_DIMENSION} (your embedding model's, e.g. 1536).")
        metric = spec.get("metric", METRICS[0])
        if metric not in METRICS:
            raise FieldError(f"{where}.metric", f"{where}.metric must be one of {', '.join(METRICS)}.")
        protection = spec.get("deletion_protection", DELETION_PROTECTION[0])
        if protection not in DELETION_PROTECTION:
            raise FieldError(f"{where}.deletion_protection",
                                      f"{where}.deletion_protection must be enabled or disabled.")
        indexes[name] = {"dimension": dimension, "metric": metric, "deletion_protection": protection}
    return PineconeIndexes(indexes)
