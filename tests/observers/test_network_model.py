"""One place for each network check: the existing-VPC checks before a deploy and byoc doctor read
the network through one model (cli/observers/vpc.py), never each their own copy, and the VPC's DNS
attributes are one table (constructs_lib/catalog.py) that the stack's own VPC, the existing VPC's
postcondition and the CLI all take. Read from the code (``ast``) and the synthesized JSON.

What the model finds, against moto servers: tests/observers/test_existing_vpc.py (before a deploy,
and doctor in an existing VPC) and tests/observers/test_doctor.py (doctor on the shared deployment).
"""

from __future__ import annotations

import ast
from pathlib import Path

from constructs_lib.catalog import VPC_DNS_ATTRIBUTES

REPO = Path(__file__).resolve().parents[2]
MODEL = "cli/observers/vpc.py"
#: The EC2 reads of a task's network path: made in the model only.
NETWORK_READS = ("describe_vpc_attribute", "describe_route_tables", "describe_network_acls",
                 "describe_security_groups", "describe_prefix_lists", "get_managed_prefix_list_entries",
                 "describe_vpc_endpoints")
#: The one other reader of an endpoint: the verdicts read the Secrets Manager endpoint's policy by its
#: id (DescribeVpcEndpoints, VpcEndpointIds) for the independent evaluator's whole-chain verdict.
ALSO_READS = {("cli/observers/verdicts.py", "describe_vpc_endpoints")}


def _byoc_sources() -> dict[str, ast.AST]:
    """Every module of byoc but the emulator (which is moto's side of these calls)."""
    found = {}
    for folder in ("cli", "stacks", "constructs_lib"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if not rel.startswith("cli/emulator/"):
                found[rel] = ast.parse(path.read_text())
    return found


SOURCES = _byoc_sources()


def _calls(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            # paginators: get_paginator("describe_route_tables"), the model's own _all("...")
            names |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return names


def test_each_network_read_is_made_in_the_network_model_only():
    elsewhere = sorted((rel, read) for rel, tree in SOURCES.items() if rel != MODEL
                       for read in _calls(tree) & set(NETWORK_READS) if (rel, read) not in ALSO_READS)
    assert elsewhere == []
    assert set(NETWORK_READS) <= _calls(SOURCES[MODEL])


def test_the_existing_vpc_checks_and_doctor_import_the_model_not_each_other():
    def imports(rel: str) -> set[str]:
        found = set()
        for node in ast.walk(SOURCES[rel]):
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        return found

    doctor = [rel for rel in SOURCES if rel.startswith("cli/observers/doctor/")]
    assert not [i for i in imports("cli/observers/existing_vpc.py") if i.startswith("cli.observers.doctor")]
    assert not [(rel, i) for rel in doctor for i in imports(rel) if i.startswith("cli.observers.existing_vpc")]
    assert "cli.observers.vpc" in imports("cli/observers/existing_vpc.py")
    assert "cli.observers.vpc" in imports("cli/observers/doctor/network.py") & imports("cli/observers/doctor/live.py")


def test_the_dns_attributes_are_named_in_the_catalogs_table_only():
    names = {n for a in VPC_DNS_ATTRIBUTES for n in (a.terraform, a.api, a.key, a.flag)}
    typed = sorted((rel, node.value) for rel, tree in SOURCES.items() if rel != "constructs_lib/catalog.py"
                   for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
                   for name in names if name in node.value)
    assert typed == []


def test_the_stacks_vpc_and_the_existing_vpcs_postcondition_take_the_same_table(stack_json):
    own = stack_json["resource"]["aws_vpc"]["main"]
    assert {a.terraform: own.get(a.terraform) for a in VPC_DNS_ATTRIBUTES} == dict.fromkeys(
        (a.terraform for a in VPC_DNS_ATTRIBUTES), True)
    (postcondition,) = stack_json["data"]["aws_vpc"]["existing"]["lifecycle"]["postcondition"]
    assert postcondition["condition"] == "${" + " && ".join(f"self.{a.terraform}" for a in VPC_DNS_ATTRIBUTES) + "}"
    assert all(a.api in postcondition["error_message"] and a.flag in postcondition["error_message"]
               for a in VPC_DNS_ATTRIBUTES)
