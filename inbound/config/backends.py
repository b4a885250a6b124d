"""`[backends.<service>]` and `[backends] strict`: the embedded backend, or AWS via boto3
(docs/aws.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import choice, positive, seconds


def _url(value: str, at: Key) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise at.error(f"not an http(s) URL: {value!r}")
    return value


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _aws_region(value: str, at: Key) -> str:
    if not _REGION.match(value):
        raise at.error(f"not an AWS Region: {value!r}")
    return value


BACKEND_SERVICES = ("s3", "sns", "lambda", "kms", "cloudwatch", "firehose", "eventbridge")
STRICT = "strict"  # `[backends] strict`, beside the services' tables


@dataclass(frozen=True)
class BackendSettings(Section):
    """`[backends.<service>]`: the embedded backend, or AWS (or moto, LocalStack) via boto3.

    Without explicit keys boto3's standard chain applies (environment, `profile`, instance
    role); `region` defaults to `[account] region`.
    """

    kind: str = field(default="local", metadata=toml(str, choice("local", "aws")))
    endpoint_url: str | None = field(default=None, metadata=toml(str, _url))
    region: str | None = field(default=None, metadata=toml(str, _aws_region))
    profile: str | None = field(default=None, metadata=toml(str))
    access_key_id: str | None = field(default=None, metadata=toml(str))
    secret_access_key: str | None = field(default=None, repr=False, metadata=toml(str))
    session_token: str | None = field(default=None, repr=False, metadata=toml(str))
    connect_timeout: float = field(default=5.0, metadata=toml((int, float), seconds))
    # above SES's 30 s RequestResponse limit (spec §3.5)
    read_timeout: float = field(default=35.0, metadata=toml((int, float), seconds))
    # botocore "standard" retries (its max_attempts: after the first)
    max_attempts: int = field(default=3, metadata=toml(int, positive))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        key_id, secret = values["access_key_id"], values["secret_access_key"]
        if bool(key_id) != bool(secret):
            missing = "secret_access_key" if key_id else "access_key_id"
            raise at.child(missing).error("access keys go in pairs")
        if values["session_token"] and not key_id:
            raise at.child("session_token").error("needs access_key_id too")
        if values["profile"] and key_id:
            raise at.child("profile").error("give a profile or keys, not both")
