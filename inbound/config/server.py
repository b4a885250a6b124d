"""`[server]`, `[account]`, `[tls]` and `[api]`: the listeners, the account, STARTTLS's
certificate and API authentication."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import (
    HOSTNAME,
    Address,
    address,
    as_path,
    beside_config,
    choice,
    positive,
)

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_MAX_MESSAGE = 40 * 1024 * 1024  # SES's largest per-action limit (spec §9.1)


MAX_WORKERS = 64


def _workers(value: int, at: Key) -> int:
    if not 1 <= value <= MAX_WORKERS:
        raise at.error(f"must be a whole number from 1 to {MAX_WORKERS}, not {value!r}")
    return value


def _allowed_hosts(values: list[Any], at: Key) -> tuple[str, ...]:
    """Host names (any port), lower-case; IPv6 literals in brackets, as a Host header has them."""
    hosts = []
    for value in values:
        host = value.lower().rstrip(".") if isinstance(value, str) else ""
        if host != "*" and not HOSTNAME.match(host):
            try:
                host = f"[{ipaddress.IPv6Address(host.strip('[]'))}]"
            except ValueError:
                raise at.error(f"not a host name without port: {value!r}") from None
        hosts.append(host)
    return tuple(hosts)


def _account_id(value: str, at: Key) -> str:
    if not (value.isascii() and value.isdigit() and len(value) == 12):
        raise at.error("must be 12 digits")
    return value


def _credentials(table: Mapping[str, Any], at: Key) -> dict[str, str]:
    for key, secret in table.items():
        if not isinstance(secret, str) or not secret:
            raise at.child(key).error("must be the secret access key")
    return dict(table)


def _token(value: str, at: Key) -> str:
    """The JSON API's and the web UI's bearer token: a secret, so long enough not to guess."""
    if value and not re.fullmatch(r"[\x21-\x7e]{16,256}", value):
        raise at.error("must be 16 to 256 printable ASCII characters without spaces")
    return value


@dataclass(frozen=True)
class ServerSettings(Section):
    """`[server]`."""

    smtp: Address = field(default=Address("127.0.0.1", 2525), metadata=toml(str, address))
    http: Address = field(default=Address("127.0.0.1", 4525), metadata=toml(str, address))
    # Host names the HTTP port answers to besides loopback names, the bound host and IP
    # literals ("*": any); see inbound/api/guard.py
    allowed_hosts: tuple[str, ...] = field(default=(), metadata=toml(list, _allowed_hosts))
    # empty: inbound-smtp.<region>.amazonaws.com
    hostname: str = field(default="", metadata=toml(str))
    data_dir: Path = field(default=Path(".inbound"), metadata=toml(str, as_path))
    max_message_size: int = field(default=DEFAULT_MAX_MESSAGE, metadata=toml(int, positive))
    # the log's form (docs/running.md, "Logs"): "text" lines or one JSON object per line
    log_format: str = field(default="text", metadata=toml(str, choice("text", "json")))
    # engine processes serving the same ports over the one store (docs/workers.md)
    workers: int = field(default=1, metadata=toml(int, _workers))
    # where `state` came from, for error messages (default: rules.json beside inbound.toml)
    rules_file: Path | None = field(default=None, metadata=toml(str, beside_config, key="rules"))


@dataclass(frozen=True)
class AccountSettings(Section):
    """`[account]`."""

    region: str = field(default=DEFAULT_REGION, metadata=toml(str))
    account_id: str = field(default=DEFAULT_ACCOUNT, metadata=toml(str, _account_id))


@dataclass(frozen=True)
class TlsSettings(Section):
    """`[tls]`: the STARTTLS certificate (a self-signed one is generated without it)."""

    tls_certificate: Path | None = field(
        default=None, metadata=toml(str, beside_config, key="certificate")
    )
    tls_private_key: Path | None = field(
        default=None, metadata=toml(str, beside_config, key="private_key")
    )

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if bool(values["tls_certificate"]) != bool(values["tls_private_key"]):
            raise at.error("certificate and private_key go together")


@dataclass(frozen=True)
class ApiSettings(Section):
    """`[api]`: "verify" checks SigV4 against `api_credentials` (access key id → secret), on
    the JSON API and the web UI too, where `token` is also accepted (api/access.py)."""

    api_auth: str = field(default="off", metadata=toml(str, choice("off", "verify"), key="auth"))
    api_credentials: Mapping[str, str] = field(
        default_factory=dict, repr=False, metadata=toml(dict, _credentials, key="credentials")
    )
    api_token: str = field(default="", repr=False, metadata=toml(str, _token, key="token"))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if values["api_auth"] == "verify" and not values["api_credentials"]:
            raise at.child("credentials").error("auth = 'verify' needs at least one key")
