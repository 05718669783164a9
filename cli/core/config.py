"""Project inputs: byoc.toml, then environment, then flags, validated before anything runs.

byoc.toml holds the stack inputs at the top level, an optional ``[backend]`` table (S3 remote
state), an optional ``[pinecone]`` table (indexes managed with the Pinecone provider) and
optional ``[env.<name>]`` tables that override inputs per environment (``--env``).

A project is a folder holding ``byoc.toml`` (optional), ``cdktf.out/`` (generated, disposable),
``terraform.byoc.tfstate`` (local state) and ``.byoc/`` (what byoc keeps between commands). The
inputs of the last deploy are persisted in ``.byoc/inputs.tfvars.json`` — outside cdktf.out, so
lockdown, status and destroy use exactly what was deployed, and plain terraform can use them too
(``terraform plan -var-file=../../../.byoc/inputs.tfvars.json``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cli.core.errors import ByocError, InputError
from constructs_lib.catalog import READERS_INPUT, SECRET_VERSION_INPUT
from stacks import STACK_NAME, STATE_FILE
from stacks.backend import S3Backend, backend_from_config
from stacks.field_errors import FieldError
from stacks.inputs import BY_NAME, FARGATE_SIZES, INPUTS, Input, defaults, validate
from stacks.pinecone import PineconeIndexes, pinecone_from_config

CONFIG_FILE = "byoc.toml"
STATE_DIR = ".byoc"
INPUTS_FILE = "inputs.tfvars.json"
ENV_PREFIX = "BYOC_"


ENV_NAME_RE = r"^[a-z][a-z0-9-]{0,15}$"


class Unreadable(Exception):
    """A file that exists but cannot be read as what it should be; the message says why, in words
    that follow the file's name ("is a folder, not a file", "is not valid JSON, ...")."""


def read_text(path: Path) -> str | None:
    """``path`` as UTF-8 text; None when there is no such file. Every file byoc reads can be
    damaged, and each caller says what that means for its own file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise Unreadable("is a folder, not a file") from None
    except OSError as exc:
        raise Unreadable(f"cannot be read ({exc.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"is not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})") from None


def read_json(path: Path) -> Any:
    """``path`` as JSON (None when there is no such file, or it is empty)."""
    text = read_text(path)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise Unreadable(f"is not valid JSON, perhaps cut short ({exc.msg} at character {exc.pos})") from None


@dataclass(frozen=True)
class Project:
    """One environment of a project folder: its stack, state and what byoc keeps for it.

    The default environment (``env`` None) is the stack ``byoc`` with ``terraform.byoc.tfstate``
    and ``.byoc/``; environment ``dev`` is the stack ``byoc-dev`` with
    ``terraform.byoc-dev.tfstate`` and ``.byoc/envs/dev/``, so environments never share a file.
    """

    root: Path
    env: str | None = None
    backend: S3Backend | None = None
    #: byoc.toml's [pinecone] table: the Pinecone provider and its indexes (a synth-time switch).
    pinecone: PineconeIndexes | None = None

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def stack_name(self) -> str:
        return STACK_NAME if self.env is None else f"{STACK_NAME}-{self.env}"

    @property
    def outdir(self) -> Path:
        return self.root / "cdktf.out"

    @property
    def stack_dir(self) -> Path:
        return self.outdir / "stacks" / self.stack_name

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR if self.env is None else self.root / STATE_DIR / "envs" / self.env

    @property
    def state_file(self) -> Path:
        """The local state file (with an S3 backend: where a not-yet-migrated local state lies)."""
        return self.root / (STATE_FILE if self.env is None else f"terraform.{self.stack_name}.tfstate")

    @property
    def inputs_file(self) -> Path:
        return self.state_dir / INPUTS_FILE

    def log_file(self, command: str) -> Path:
        return self.state_dir / "logs" / f"{command}.log"

    def has_deployment(self) -> bool:
        """True when there is something deployed to act on: a local state with resources, or, with
        an S3 backend, the inputs of a deploy (the state itself is in the bucket)."""
        if self.backend is not None:
            return self.inputs_file.exists()
        return self.has_local_resources()

    def has_local_resources(self) -> bool:
        """True when the local state file holds resources (with an S3 backend: not yet migrated)."""
        state = self.local_state()
        return bool(state and state.get("resources"))

    def local_state(self) -> dict[str, Any] | None:
        """The local state file, parsed; None when there is none (or it is empty, which terraform
        reads as no state). A file that exists but cannot be read is an error, never "nothing
        deployed": that answer would invite a second deployment next to the first."""
        try:
            state = read_json(self.state_file)  # empty: terraform reads it as no state too
        except Unreadable as exc:
            raise self._damaged_state(f"it {exc}") from None
        if state is None:
            return None
        if not isinstance(state, dict) or not isinstance(state.get("version"), int):
            raise self._damaged_state("it is JSON but not a Terraform state (no version)")
        if not isinstance(state.get("resources", []), list) or not isinstance(state.get("outputs", {}), dict):
            raise self._damaged_state("its resources or outputs are not what Terraform writes")
        return state

    def _damaged_state(self, why: str) -> ByocError:
        backup = self.state_file.with_name(self.state_file.name + ".backup")
        restore = (f"restore it: terraform keeps the previous state in {backup.name} "
                   f"(`cp {backup.name} {self.state_file.name}`, then check it with `terraform show`)"
                   if backup.is_file() else "restore it from your own backup of it")
        return ByocError(f"{self.state_file.name} cannot be read as a Terraform state: {why}. byoc will not guess "
                         f"whether something is deployed; {restore}, then run the command again.")

    def local_outputs(self) -> dict[str, Any] | None:
        """Outputs recorded in the local state file, or None when there is none to read."""
        if self.backend is not None:
            return None
        state = self.local_state()
        outputs = (state or {}).get("outputs")
        if not isinstance(outputs, dict) or not outputs:
            return None
        return {name: entry.get("value") if isinstance(entry, dict) else None for name, entry in outputs.items()}

    def saved_inputs(self) -> dict[str, Any] | None:
        """The inputs of the last deploy (``.byoc/inputs.tfvars.json``); None before the first."""
        path = self.inputs_file
        where = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        fix = ("restore it, or delete it and run `byoc deploy` again with the same inputs (then `byoc lockdown` "
               "again, whose reader list it kept)")
        if not path.exists():
            return None
        try:
            values = read_json(path)
        except Unreadable as exc:
            raise ByocError(f"{where} is damaged (it {exc}): {fix}.") from None
        if not isinstance(values, dict):
            raise ByocError(f"{where} is damaged (not a JSON object of inputs): {fix}.")
        problems = [p for p in validate({k: v for k, v in values.items() if k in BY_NAME}) if p.field in values]
        if problems:
            raise ByocError(f"{where} is damaged ({problems[0].field}: {problems[0].message}): {fix}.")
        # Every deploy saves every input. The region says where the deployment is, so it is never
        # guessed (a default would point every command at another region's empty account); an
        # input added to byoc after that deploy reads as its default, as terraform reads it.
        missing = [spec.name for spec in INPUTS if (spec.required or spec.name == "aws_region") and spec.name not in values]
        if missing:
            raise ByocError(f"{where} is damaged ({missing[0]} is missing): {fix}.")
        return {**defaults(), **values}

    def save_inputs(self, values: dict[str, Any]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.inputs_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(values, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.inputs_file)


def read_config(path: Path) -> dict[str, Any]:
    """byoc.toml as a whole: stack inputs at the top, optional ``[backend]`` and ``[env.<name>]``."""
    try:
        text = read_text(path)
    except Unreadable as exc:
        raise InputError(f"{path.name}: {exc}; fix it or remove it (byoc.toml is an optional TOML file of stack "
                         "inputs, in UTF-8).") from None
    if text is None:
        return {}
    if "\x00" in text:
        raise InputError(f"{path.name}: holds binary data (a NUL byte), not TOML; restore the file or delete it.")
    try:
        data = tomllib.loads(text)  # an empty file is valid TOML: every input at its default
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path.name}: not valid TOML ({exc}); fix the file or delete it.") from None
    for table in ("backend", "pinecone", "env"):
        if table in data and not isinstance(data[table], dict):
            raise InputError(f"{path.name}: {table} must be a table ([{table}]"
                             f"{'.<name>' if table == 'env' else ''}), not a {type(data[table]).__name__}.")
    tables = [data, *((data.get("env") or {}).values())]
    if any(isinstance(t, dict) and "pinecone_api_key" in t for t in tables):
        raise InputError(f"{path.name}: pinecone_api_key does not belong in a file: the service's key goes into "
                         "Secrets Manager with `byoc secret put`, the Pinecone provider's comes from the "
                         "PINECONE_API_KEY environment variable; remove it from the file.")
    unknown = sorted(set(data) - set(BY_NAME) - {"backend", "pinecone", "env"})
    if unknown:
        raise InputError(f"{path.name}: unknown key {unknown[0]!r}{_closest(unknown[0], [*BY_NAME, 'backend', 'pinecone', 'env'])}"
                         " byoc.toml takes the stack inputs (`byoc deploy --help` lists them), [backend], "
                         "[pinecone] and [env.<name>].")
    for name, table in (data.get("env") or {}).items():
        if not re.fullmatch(ENV_NAME_RE, name) or not isinstance(table, dict):
            raise InputError(f"{path.name}: [env.{name}] is not a valid environment; names are 1-16 characters "
                             "of a-z, 0-9 and '-', starting with a letter.")
        bad = sorted(set(table) - set(BY_NAME))
        if bad:
            raise InputError(f"{path.name}: unknown key {bad[0]!r} in [env.{name}]{_closest(bad[0], BY_NAME)} "
                             "environments override stack inputs only.")
    return data


def _closest(key: str, known) -> str:
    """"; did you mean 'nat_mode'?" for a mistyped key, or ";" when nothing is close."""
    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ";"


def load_config_file(path: Path, env: str | None = None, where: dict[str, str] | None = None) -> dict[str, Any]:
    """The stack inputs byoc.toml sets for ``env``: the top-level ones, then ``[env.<env>]``.
    ``where``, when given, receives each one's place ("byoc.toml key nat_mode (<path>)")."""
    data = read_config(path)
    values = {k: v for k, v in data.items() if k in BY_NAME}
    if where is not None:
        where.update({k: f"{path.name} key {k} ({path})" for k in values})
    if env is not None:
        table = (data.get("env") or {}).get(env, {})
        values.update(table)
        if where is not None:
            where.update({k: f"{path.name} key {k} in [env.{env}] ({path})" for k in table})
    return values


def open_project(root: Path, env: str | None) -> Project:
    """The project at ``root`` for environment ``env``, after checking that byoc.toml agrees."""
    data = read_config(root / CONFIG_FILE)
    envs = sorted(data.get("env") or {})
    if env is None and envs:
        raise InputError(f"--env: {CONFIG_FILE} defines environments {', '.join(envs)}; pass --env NAME "
                         "(or set BYOC_ENV).")
    if env is not None and env not in envs:
        known = f"known: {', '.join(envs)}" if envs else f"add an [env.{env}] table to {CONFIG_FILE} first"
        raise InputError(f"--env: no environment {env!r} in {CONFIG_FILE}; {known}.")
    try:
        backend = backend_from_config(data.get("backend"), env)
        pinecone = pinecone_from_config(data.get("pinecone"))
    except FieldError as exc:
        raise InputError(f"{CONFIG_FILE}: {exc}") from None
    project = Project(root, env=env, backend=backend, pinecone=pinecone)
    _check_state_folders(project)
    return project


def _check_state_folders(project: Project) -> None:
    """``.byoc`` (and an environment's folder in it) must be folders: one that is a file would read
    as "nothing deployed yet" and every write into it would fail halfway."""
    folder = project.state_dir
    for path in [*reversed(folder.relative_to(project.root).parents), folder.relative_to(project.root)]:
        if str(path) == ".":
            continue
        full = project.root / path
        if full.exists() and not full.is_dir():
            raise ByocError(f"{path} in {project.root} is a file, not a folder: byoc keeps the inputs of the last "
                            "deploy, its synth record and logs there. Move that file away (e.g. `mv "
                            f"{path} {path}.file`), then run the command again.")


def flag_value(spec: Input, raw: Any) -> Any:
    """A flag's value as the input's type. Typed flags arrive typed (an INTEGER, a --x/--no-x); a
    list or map flag may be repeated and each value may be comma-separated."""
    if isinstance(raw, (list, tuple)):
        items = list(raw)
        if len(items) == 1:
            return parse_value(spec, items[0], spec.flag)
        if spec.tf_type.startswith("map("):
            merged: dict[str, str] = {}
            for item in items:
                merged.update(_parse_map(item, spec.flag))
            return merged
        return [part.strip() for item in items for part in item.split(",") if part.strip()]
    if isinstance(raw, str):
        return parse_value(spec, raw, spec.flag)
    return raw


def parse_value(spec: Input, raw: str, source: str) -> Any:
    """A flag or environment string as the input's type: numbers, or comma-separated lists."""
    if spec.tf_type == "number":
        try:
            number = float(raw)
        except ValueError:
            raise InputError(f"{source}: {raw!r} is not a number; {spec.name} takes a number "
                             f"(e.g. {spec.default}).") from None
        return int(number) if number.is_integer() else number
    if spec.tf_type == "bool":
        lowered = raw.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise InputError(f"{source}: {raw!r} is not true or false; {spec.name} takes true or false.")
    if spec.tf_type.startswith("list("):
        text = raw.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise InputError(f"{source}: {raw!r} is not a JSON list; give a comma-separated list "
                                 "or a JSON list of strings.") from None
            return value
        return [item.strip() for item in text.split(",") if item.strip()]
    if spec.tf_type.startswith("map("):
        return _parse_map(raw, source)
    return raw


def _parse_map(raw: str, source: str) -> dict[str, str]:
    """A map input from a flag or the environment: a JSON object, or ``key=value,key=value``."""
    text = raw.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    elif all("=" in item for item in text.split(",") if item.strip()):
        return dict(item.strip().split("=", 1) for item in text.split(",") if item.strip())
    raise InputError(f"{source}: {raw!r} is not a map; give key=value,key=value or a JSON object.")


def env_values(environ: dict[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    values = {}
    for spec in INPUTS:
        key = ENV_PREFIX + spec.name.upper()
        if key in environ:
            values[spec.name] = parse_value(spec, environ[key], key)
    return values


#: Inputs a command owns after the first deploy (lockdown: the readers; secret put/rollback: the key
#: version): a deploy keeps their saved value unless told otherwise.
OWNED_INPUTS = (READERS_INPUT, SECRET_VERSION_INPUT)


def resolve(project: Project, flags: dict[str, str | None], explicit: set[str] | None = None) -> dict[str, Any]:
    """Defaults < byoc.toml < BYOC_* environment < flags; then validated as a whole.

    ``app_reader_principal_arns`` is owned by ``byoc lockdown`` and ``secret_version_id`` by
    ``byoc secret put`` / ``rollback``: unless set explicitly, a new deploy keeps the value of the
    last deploy, so re-deploying never silently unlocks the secret, nor moves the tasks to another
    key (an empty pin would make them read AWSCURRENT: a new revision, with whatever value that is).
    ``explicit``, when given, receives the names the user set (not defaults).
    """
    values: dict[str, Any] = dict(defaults())
    where = {name: f"{name} (default {json.dumps(value)})" for name, value in values.items()}
    from_file = load_config_file(project.config_file, project.env, where)
    values.update(from_file)
    from_env = env_values()
    values.update(from_env)
    where.update({name: ENV_PREFIX + name.upper() for name in from_env})
    from_flags = {name: flag_value(BY_NAME[name], raw) for name, raw in flags.items() if raw is not None}
    values.update(from_flags)
    where.update({name: BY_NAME[name].flag for name in from_flags})
    if explicit is not None:
        explicit.update(from_file, from_env, from_flags)
    for owned in OWNED_INPUTS:
        if owned not in from_file and owned not in from_env and owned not in from_flags:
            saved = project.saved_inputs() or {}
            if saved.get(owned):
                values[owned] = saved[owned]
                where[owned] = f"{owned} (kept from the last deploy, {project.inputs_file})"
    check(values, where)
    return values


def check(values: dict[str, Any], where: dict[str, str] | None = None) -> None:
    """Refuse ``values`` with one line for the first problem, naming where the value came from
    (``where``: the flag, the ``BYOC_*`` variable, the byoc.toml key and its file, the default)."""
    errors = validate(values)
    if errors:
        first = errors[0]
        more = f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} after this one)" if len(errors) > 1 else ""
        source = (where or {}).get(first.field, first.field)
        raise InputError(f"{source}: {_explain(first.field, first.message, values)}{more}")


def _explain(field: str, message: str, values: dict[str, Any]) -> str:
    """The check's message, made exact where the value of another input decides what is valid."""
    sizes = FARGATE_SIZES.get(values.get("task_cpu"))
    if field == "task_memory" and sizes:
        return (f"task_memory {values.get('task_memory')} is not a Fargate size for task_cpu {values['task_cpu']}; "
                f"it takes {', '.join(map(str, sizes[:-1]))} or {sizes[-1]} (MiB).")
    return message


#: A valid image for reading the stack without a deployment (``byoc cost``, ``byoc doctor``) when
#: none is configured yet: neither depends on the image.
PLACEHOLDER_IMAGE = "public.ecr.aws/byoc/cost-estimate:latest"


def project_inputs(project: Project) -> tuple[dict[str, Any], str]:
    """The inputs the stack is read with, and where they came from: the last deploy's when a
    deployment exists, else byoc.toml/BYOC_*/defaults (with a placeholder image if none is set)."""
    saved = project.saved_inputs()
    if saved is not None and project.has_deployment():
        return saved, f"the last deploy ({project.inputs_file.relative_to(project.root)})"
    source = "byoc.toml, BYOC_* and defaults (no deployment yet)"
    try:
        return resolve(project, {}), source
    except InputError as exc:
        if not str(exc).startswith("container_image"):
            raise
    return resolve(project, {"container_image": PLACEHOLDER_IMAGE}), source


def deploy_command(project: Project, values: dict[str, Any]) -> str:
    """``byoc deploy`` as this project must be re-deployed from the shell: with the
    environment and, unless byoc.toml or BYOC_CONTAINER_IMAGE gives it, the image of the last
    deploy (``container_image`` is required and a deploy reads no saved inputs but the owned
    ones). For the one command a message tells to run."""
    words = ["byoc deploy"]
    if project.env:
        words.append(f"--env {project.env}")
    try:
        configured = "container_image" in load_config_file(project.config_file, project.env)
    except InputError:
        configured = False
    if not configured and ENV_PREFIX + "CONTAINER_IMAGE" not in os.environ and values.get("container_image"):
        words.append(f"--container-image {values['container_image']}")
    return " ".join(words)
