"""``byoc secret put``: the API key into the secret, out of band — never through Terraform,
argv or any output."""

from __future__ import annotations

import json

from cli.aws import aws_error
from cli.errors import ByocError, InputError
from cli.session import Session
from constructs_lib.catalog import SECRET_JSON_KEY


def check_secret_value(value: str) -> str:
    """The key without surrounding whitespace (a pasted newline is not part of it); never empty."""
    value = value.strip()
    if not value:
        raise InputError("secret value: the input was empty or only whitespace; pipe the key on stdin "
                         "(byoc secret put < key.txt) or type it at the prompt.")
    return value


def put_secret(s: Session, value: str) -> str:
    """Store {"PINECONE_API_KEY": value}; returns the new version id. Never prints the value."""
    value = check_secret_value(value)
    values = s.deployed_inputs()
    tf = s.terraform(values["aws_region"])
    target = s.target(values["aws_region"])
    target.require_credentials()
    arn = s.outputs(tf).get("byoc_secret_arn")
    if not arn:
        raise ByocError("the deployment has no byoc_secret_arn output: run `byoc deploy` and try again.")
    try:
        resp = target.client("secretsmanager").put_secret_value(
            SecretId=arn, SecretString=json.dumps({SECRET_JSON_KEY: value}))
    except Exception as exc:  # botocore errors -> one line
        raise aws_error(exc, "storing the secret value") from None
    return resp.get("VersionId", "?")
