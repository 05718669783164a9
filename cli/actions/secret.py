"""``byoc secret put`` / ``rollback``: the API key into the secret, out of band — never through
Terraform, argv or any output — and the service's tasks moved onto it.

ECS injects a secret only when a task starts ("you must launch a new task or force a new
deployment"), so storing a value is half the job: both commands then pin the task definition to
the new version (a new revision: ECS's circuit breaker, if the new tasks fail, rolls back to the
previous revision and so to the previous key) and wait for its tasks (``cli/actions/rollout.py``).

Everything the roll needs is checked before the value is stored (the deployment, credentials,
the secret not scheduled for deletion, and every check Terraform's run makes first — e.g.
``PINECONE_API_KEY`` for byoc.toml's ``[pinecone]``), so a refusal stores nothing.
"""

from __future__ import annotations

import json

from cli.actions.rollout import RollOptions, pin_key
from cli.core.aws import aws_error, aws_errors
from cli.core.config import check, deploy_command
from cli.core.errors import ByocError, InputError, half_done
from cli.core.session import Deployment, Session, say
from cli.observers.secret import CURRENT, secret_state
from constructs_lib.catalog import SECRET_JSON_KEY, SECRET_VERSION_INPUT


#: Secrets Manager's limit on a SecretString (the stored JSON document, not only the key).
MAX_SECRET_BYTES = 65_536


def secret_document(value: str) -> str:
    """What the secret holds: the key under the JSON key that ``valueFrom`` names."""
    return json.dumps({SECRET_JSON_KEY: value})


def check_secret_value(value: str) -> str:
    """The key without surrounding whitespace (a pasted newline is not part of it), checked before
    any AWS call: not empty, one line of printable characters (an API key has no line break or
    control character: two lines are two keys, or a file that is not the key), and small enough
    for Secrets Manager once stored as {"PINECONE_API_KEY": "..."}. Messages name the rule, never
    the value."""
    value = value.strip()
    if not value:
        raise InputError("secret value: the input was empty or only whitespace; pipe the key on stdin "
                         "(byoc secret put < key.txt) or type it at the prompt.")
    bad = next((i for i, ch in enumerate(value) if not ch.isprintable()), None)
    if bad is not None:
        kind = "a line break" if value[bad] in "\r\n" else "a tab or control character"
        raise InputError(f"secret value: holds {kind} at character {bad + 1}; an API key is one line of printable "
                         "characters: pipe a file holding only the key (byoc secret put < key.txt).")
    size = len(secret_document(value).encode("utf-8"))
    if size > MAX_SECRET_BYTES:
        raise InputError(f"secret value: too long for Secrets Manager (stored as JSON it would be {size:,} bytes; "
                         f"a secret holds at most {MAX_SECRET_BYTES:,}); pipe only the API key.")
    return value


def read_piped_value(stream) -> str:
    """The value piped on stdin, as UTF-8 text (checked by ``check_secret_value``)."""
    raw = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
    if isinstance(raw, str):
        return check_secret_value(raw)
    try:
        return check_secret_value(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("secret value: the input is not UTF-8 text; pipe a text file holding only the key.") from None


def _secret_arn(d: Deployment) -> str:
    arn = d.outputs.get("byoc_secret_arn")
    if not arn:
        raise ByocError("the deployment has no byoc_secret_arn output: run `byoc deploy` and try again.")
    return arn


def _writable(d: Deployment, arn: str) -> None:
    """The secret exists and is not scheduled for deletion (Secrets Manager refuses a new value
    for such a secret, "You can't perform this operation on the secret because it was marked for
    deletion"): said before anything is stored."""
    state = secret_state(d.target, arn)
    if not state.exists or state.deleted_date is not None:
        why, fix = state.problem(arn) or ("", "")
        raise ByocError(f"nothing was stored: {why}: {fix}.")


def _prepared(s: Session, d: Deployment, options: RollOptions, version: str | None = None):
    """Terraform ready for the roll (the inputs it will apply checked, then synth, init and every
    check ``prepare`` makes), or None when the service is not to be rolled. ``version``: the key
    version to pin, when known before the change (a stored one's id is AWS's own)."""
    if not options.restart or not d.outputs.get("ecs_service_name"):
        return None
    pinned = {**d.values, "start_tasks": True}
    if version is not None:
        pinned[SECRET_VERSION_INPUT] = version
    check(pinned)
    return s.prepare(d.region)


def _deploy(s: Session, d: Deployment, version: str) -> str:
    """The one command that deploys key ``version``."""
    return f"`{deploy_command(s.project, d.values)} --secret-version-id {version}`"


def _not_deployed(s: Session, d: Deployment, version: str) -> None:
    say(f"Not deployed (--no-restart): the service's tasks go on reading the key version their task definition pins; "
        f"deploy this one with {_deploy(s, d, version)}.")


def put_secret(s: Session, value: str, options: RollOptions = RollOptions()) -> str:
    """Store {"PINECONE_API_KEY": value} and pin the service to it; returns the new version id.
    Never prints the value."""
    value = check_secret_value(value)
    d = s.deployed()
    arn = _secret_arn(d)
    _writable(d, arn)
    tf = _prepared(s, d, options)
    try:
        resp = d.target.client("secretsmanager").put_secret_value(
            SecretId=arn, SecretString=secret_document(value))
    except aws_errors() as exc:
        raise aws_error(exc, "storing the secret value") from None
    version = resp.get("VersionId", "?")
    _roll_onto(s, d, tf, version, options, done=f"the new key was stored as version {version} (AWSCURRENT)",
               said=f"Stored PINECONE_API_KEY in the secret (version {version}); the value was not printed.",
               why="they read the new key")
    return version


def _roll_onto(s: Session, d, tf, version: str, options: RollOptions, *, done: str, said: str, why: str) -> None:
    """After the secret changed (``done``): the service pinned to ``version`` and rolled onto it, or
    told how to, if it is not deployed; an interruption says what was done and how to finish."""
    with half_done(f"{done}; the service does not read it yet", _deploy(s, d, version)):
        say(said)
        if tf is None:
            _not_deployed(s, d, version)
            return
        pin_key(s, tf, d.values, d.outputs, version, options, why=why, done=done)


def rollback_secret(s: Session, options: RollOptions = RollOptions()) -> str:
    """Make the previous version current again (AWSPREVIOUS -> AWSCURRENT) and pin the service to
    it: the way back from a bad key. Returns the version now current. Reads no value."""
    d = s.deployed()
    arn = _secret_arn(d)
    state = secret_state(d.target, arn)
    current = state.current_version
    previous = next((v for v, labels in (state.stages or {}).items() if "AWSPREVIOUS" in labels), None)
    if previous is None or current is None:
        raise ByocError("the secret has no previous version to go back to (AWSPREVIOUS): store the right key with "
                        "`byoc secret put`.")
    _writable(d, arn)
    tf = _prepared(s, d, options, previous)
    try:  # Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT leaves
        d.target.client("secretsmanager").update_secret_version_stage(
            SecretId=arn, VersionStage=CURRENT, MoveToVersionId=previous, RemoveFromVersionId=current)
    except aws_errors() as exc:
        raise aws_error(exc, "making the previous version current") from None
    _roll_onto(s, d, tf, previous, options, done=f"version {previous} was made AWSCURRENT again",
               said=f"Made version {previous} current again (version {current} is now the previous one); no value "
                    "was read.", why="they read the previous key")
    return previous
