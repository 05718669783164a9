"""(optional) Pinecone indexes managed by the ``pinecone-io/pinecone`` provider.

Only in the JSON when byoc.toml's ``[pinecone]`` turns it on (see ``stacks/pinecone.py`` for why
that is a synth-time switch). Serverless indexes on AWS in the stack's region — the region whose
PrivateLink endpoint ``pinecone_privatelink_region`` creates. There are no prebuilt cdktf bindings
for this provider, so the provider and resource are declared through cdktf's generic classes
with their attributes written as overrides; the rendered JSON is the same as generated bindings'.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cdktf import (TerraformIterator, TerraformOutput, TerraformProvider, TerraformProviderGeneratorMetadata,
                   TerraformResource, TerraformVariable, TerraformVariableValidationConfig, Token)
from constructs import Construct

from constructs_lib.catalog import (PINECONE_DELETION_PROTECTION as DELETION_PROTECTION,
                                    PINECONE_INDEX_NAME_RE as INDEX_NAME_RE, PINECONE_MAX_DIMENSION as MAX_DIMENSION,
                                    PINECONE_METRICS as METRICS, PINECONE_PROVIDER_SOURCE as PROVIDER_SOURCE,
                                    PINECONE_PROVIDER_VERSION as PROVIDER_VERSION)

_METADATA = TerraformProviderGeneratorMetadata(provider_name="pinecone", provider_version_constraint=PROVIDER_VERSION)
_INDEX_TYPE = "map(object({dimension = number, metric = optional(string, \"cosine\"), " \
              "deletion_protection = optional(string, \"enabled\")}))"


class _PineconeProvider(TerraformProvider):
    """``provider "pinecone" { api_key = <pinecone_api_key, or null> }``: with the variable empty
    (byoc's way) the provider reads the key from PINECONE_API_KEY."""

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id, terraform_resource_type="pinecone", terraform_generator_metadata=_METADATA,
                         terraform_provider_source=PROVIDER_SOURCE)


@dataclass(frozen=True)
class PineconeIndexesProps:
    #: name -> {"dimension": int, "metric": str, "deletion_protection": str} (byoc.toml's
    #: [pinecone.indexes], checked by stacks/pinecone.py).
    indexes: dict[str, dict[str, Any]]
    #: The aws_region variable: serverless indexes live in the stack's region.
    region: str
    #: The pinecone_api_key variable (ephemeral, sensitive): the seed's way for plain terraform;
    #: "" = the provider reads PINECONE_API_KEY from the environment.
    api_key: str = ""


class PineconeIndexesConstruct(Construct):
    """Handles: ``variable`` (pinecone_indexes), ``indexes`` (pinecone_index.index, for_each)."""

    def __init__(self, scope: Construct, id: str, props: PineconeIndexesProps) -> None:
        super().__init__(scope, id)
        provider = _PineconeProvider(self, "pinecone")
        if props.api_key:
            # An ephemeral variable may be a provider argument: it stays out of state and plans.
            provider.add_override("api_key", f'${{{props.api_key} == "" ? null : {props.api_key}}}')
        names = ", ".join(f'"{m}"' for m in METRICS)
        protections = ", ".join(f'"{p}"' for p in DELETION_PROTECTION)
        self.variable = TerraformVariable(
            self, "pinecone_indexes", type=_INDEX_TYPE, nullable=False,
            description="Pinecone serverless indexes to manage (name -> dimension, metric, deletion_protection); "
                        "defaults to byoc.toml's [pinecone.indexes].",
            validation=[TerraformVariableValidationConfig(condition=f'${{alltrue([for n, i in var.pinecone_indexes : can(regex("{INDEX_NAME_RE}", n)) '
                                      f'&& i.dimension >= 1 && i.dimension <= {MAX_DIMENSION} && floor(i.dimension) == i.dimension '
                                      f'&& contains([{names}], i.metric) && contains([{protections}], i.deletion_protection)])}}',
                         error_message="every pinecone_indexes entry needs a Pinecone index name (1-45 of a-z 0-9 -), "
                                          f"a whole dimension from 1 to {MAX_DIMENSION}, metric {'/'.join(METRICS)} and "
                                          "deletion_protection enabled/disabled.")])
        # As an override: jsii would rewrite the map's keys ("agent-memory" -> "agent_memory").
        self.variable.add_override("default", props.indexes)
        each = TerraformIterator.from_map(Token.as_any_map(self.variable.value))
        self.indexes = TerraformResource(self, "index", terraform_resource_type="pinecone_index",
                                         terraform_generator_metadata=_METADATA, provider=provider, for_each=each)
        for attribute, value in {
            "name": "${each.key}",
            "dimension": "${each.value.dimension}",
            "metric": "${each.value.metric}",
            "deletion_protection": "${each.value.deletion_protection}",
            # Serverless, on AWS, in the VPC's region (where the PrivateLink endpoint is).
            "spec": {"serverless": {"cloud": "aws", "region": props.region}},
        }.items():
            self.indexes.add_override(attribute, value)
        TerraformOutput(self, "pinecone_index_hosts", value=f"${{{{for k, i in {self.indexes.fqn} : k => i.host}}}}",
                        description="Host of each managed Pinecone index (data plane; reach it over PrivateLink "
                                    "with pinecone_privatelink_region).")
