"""``byoc output [NAME] [--json | --raw]``: the deployment's outputs as ``terraform output`` prints
them, read from the state (local file or S3 object) without starting terraform.

The same four forms as terraform's (https://developer.hashicorp.com/terraform/cli/commands/output):
every output as ``name = value`` lines; one output's value; ``--json`` as terraform's
``output -json`` (each output's ``sensitive``, ``type`` and ``value``; one output's value alone
with a NAME); ``--raw`` one string, number or bool with no quotes and no newline, for scripts
such as ``aws secretsmanager describe-secret --secret-id "$(byoc output --raw byoc_secret_arn)"``.
"""

from __future__ import annotations

import json
from typing import Any

from cli.core.errors import ByocError, InputError
from cli.core.session import Session


def read_outputs(s: Session) -> dict[str, dict[str, Any]]:
    """The state's outputs as terraform records them; no deployment is an error saying so."""
    if not s.project.has_deployment():
        raise ByocError(f"no deployment found in {s.project.root}: run `byoc deploy` first "
                        "(or pass --project-dir to the project you deployed).")
    return {name: entry if isinstance(entry, dict) else {"value": entry}
            for name, entry in s.output_entries().items()}


#: How terraform writes a value of a collection type (``tolist([...])``); tuples and objects plain.
_CONVERSIONS = {"list": "tolist", "set": "toset", "map": "tomap"}


def _element_types(kind: Any, count: int, keys: list[str]) -> list[Any]:
    """The types of a collection's elements, from its type in the state (``["tuple", [...]]``)."""
    if not isinstance(kind, list) or len(kind) != 2:
        return [None] * count
    if kind[0] == "tuple":
        return list(kind[1])
    if kind[0] == "object":
        return [kind[1].get(k) for k in keys]
    return [kind[1]] * count


def _hcl(value: Any, kind: Any = None, indent: str = "") -> str:
    """A value written as ``terraform output`` writes it, by its type as the state records it."""
    inner = indent + "  "
    conversion = _CONVERSIONS.get(kind[0]) if isinstance(kind, list) and kind else None
    if isinstance(value, list):
        types = _element_types(kind, len(value), [])
        text = "[]" if not value else "[\n" + "".join(
            f"{inner}{_hcl(v, t, inner)},\n" for v, t in zip(value, types)) + f"{indent}]"
    elif isinstance(value, dict):
        keys = sorted(value)
        types = _element_types(kind, len(keys), keys)
        width = max((len(json.dumps(k)) for k in keys), default=0)
        text = "{}" if not value else "{\n" + "".join(
            f"{inner}{json.dumps(k):<{width}} = {_hcl(value[k], t, inner)}\n" for k, t in zip(keys, types)) + f"{indent}}}"
    else:
        return "null" if value is None else json.dumps(value)
    return f"{conversion}({text})" if conversion else text


def render(outputs: dict[str, dict[str, Any]], name: str | None, *, as_json: bool, raw: bool) -> str:
    """What ``byoc output`` prints (``--raw``: without a final newline)."""
    if as_json and raw:
        raise InputError("--raw: --raw and --json exclude each other; give one of them.")
    if name is None:
        if raw:
            raise InputError("--raw: needs an output NAME (e.g. `byoc output --raw byoc_secret_arn`).")
        if as_json:
            return json.dumps({n: {"sensitive": bool(e.get("sensitive")), "type": e.get("type"), "value": e.get("value")}
                               for n, e in sorted(outputs.items())}, indent=2)
        return "\n".join(f"{n} = {'<sensitive>' if e.get('sensitive') else _hcl(e.get('value'), e.get('type'))}"
                         for n, e in sorted(outputs.items()))
    if name not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise ByocError(f"no output {name!r} in the deployment's state; its outputs: {known}.")
    value, kind = outputs[name].get("value"), outputs[name].get("type")
    if as_json:
        return json.dumps(value, indent=2)
    if raw:
        if isinstance(value, (list, dict)) or value is None:
            raise ByocError(f"--raw: output {name!r} is a {type(value).__name__ if value is not None else 'null'}; "
                            "--raw prints only strings, numbers and bools: use --json for it.")
        return str(value).lower() if isinstance(value, bool) else str(value)
    return _hcl(value, kind)
