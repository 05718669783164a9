"""boto3 for the calls byoc makes itself, pointed at AWS or at any endpoint (moto, LocalStack)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cli.core.errors import ByocError, InputError


@dataclass(frozen=True)
class Caller:
    account: str
    partition: str
    arn: str


@dataclass(frozen=True)
class AwsTarget:
    region: str
    #: ``--endpoint-url`` / ``AWS_ENDPOINT_URL``: every AWS call (boto3 and terraform) goes there.
    endpoint_url: str | None = None

    def terraform_env(self) -> dict[str, str]:
        env = {"AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region}
        if self.endpoint_url:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
            # Terraform's S3 backend reads only the per-service variables, not AWS_ENDPOINT_URL.
            for service in ("S3", "STS", "IAM", "DYNAMODB"):
                env[f"AWS_ENDPOINT_URL_{service}"] = self.endpoint_url
        return env

    def client(self, service: str, *, attempts: int | None = None, retry: bool = True):
        """A boto3 client; ``attempts`` caps retries (for calls whose failure is an answer);
        ``retry=False``: one attempt per call, for a caller that backs off itself (and says so)."""
        import boto3

        config = None
        if attempts is not None or not retry:
            from botocore.config import Config

            # botocore: max_attempts counts retries after the first request, total_max_attempts all.
            config = Config(retries={"max_attempts": attempts, "mode": "standard"} if retry else
                            {"total_max_attempts": 1, "mode": "standard"})
        return boto3.session.Session(region_name=self.region).client(service, endpoint_url=self.endpoint_url,
                                                                     config=config)

    def emulator_info(self) -> dict | None:
        """What byoc's embedded emulator says of itself at ``/byoc-emulator/info`` (whether it
        evaluates policies, what its validators answer), or None: AWS itself, or an endpoint that
        is not byoc's emulator."""
        if not self.endpoint_url:
            return None
        import json
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.endpoint_url.rstrip("/") + "/byoc-emulator/info", timeout=10) as answer:
                info = json.loads(answer.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return info if isinstance(info, dict) else None

    def policies_not_evaluated(self) -> str | None:
        """Why requests to this target are not judged by policies the way AWS judges them, or None
        when they are: AWS itself, or byoc's emulator with its policy evaluator on (it says so at
        ``/byoc-emulator/info``). Any other endpoint may not enforce policies at all."""
        if not self.endpoint_url:
            return None
        info = self.emulator_info()
        if info is None:
            return f"{self.endpoint_url} is not AWS, and byoc cannot tell whether it evaluates policies"
        if info.get("policies") != "evaluated":
            return f"the emulator at {self.endpoint_url} does not evaluate policies ({info.get('why_not')})"
        return None

    def caller(self) -> Caller:
        """Who these credentials are, from STS GetCallerIdentity (STS API Reference: the caller's
        Account and ARN; no permission is needed to call it). The partition (``aws``, ``aws-cn``,
        ``aws-us-gov``) is the ARN's: the ARNs byoc writes itself (a bucket policy's resources, a
        role it judges) must carry it, or they name nothing outside the commercial partition."""
        identity = self.client("sts").get_caller_identity()
        return Caller(identity["Account"], identity["Arn"].split(":")[1], identity["Arn"])

    def require_credentials(self) -> None:
        import boto3

        if boto3.session.Session(region_name=self.region).get_credentials() is None:
            where = f" (endpoint {self.endpoint_url})" if self.endpoint_url else ""
            raise ByocError(f"no AWS credentials found{where}: run `aws configure` or `aws sso login`, or set "
                            "AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run the command again.")


def endpoint_from(flag: str | None) -> str | None:
    """``--endpoint-url``, else ``$AWS_ENDPOINT_URL``: an http(s) URL with a host, or bad input."""
    from urllib.parse import urlsplit

    url, source = (flag, "--endpoint-url") if flag else (os.environ.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL")
    if not url:
        return None
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port is None or parts.port > 0)
    except ValueError:  # a port that is not a number
        ok = False
    if not ok:
        raise InputError(f"{source}: {url!r} is not an http(s) URL; give one such as http://127.0.0.1:5000 "
                         "(or leave it unset for AWS).")
    return url


def aws_errors() -> tuple[type[Exception], ...]:
    """What a boto3 call raises when AWS (or the way to it) fails: botocore's own exception types,
    so that a bug in byoc is never reported as something AWS said."""
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

    return ClientError, BotoCoreError, ResponseParserError


def aws_error(exc: Exception, doing: str) -> ByocError:
    """One line for a botocore failure, with what to do next."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return ByocError(f"{doing}: no AWS credentials found; configure credentials and run the command again.")
    if isinstance(exc, EndpointConnectionError):
        return ByocError(f"{doing}: cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}; "
                         "check the network or --endpoint-url and run the command again.")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return ByocError(f"{doing}: AWS said {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": "))
    return ByocError(f"{doing}: {' '.join(str(exc).split())}")  # one line, whatever botocore wrapped
