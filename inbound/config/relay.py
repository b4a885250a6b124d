"""`[relay]`: delivery of the outbox to a smarthost over SMTP (docs/relay.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import Address, address, choice, existing_file, seconds


def _smarthost(value: str, at: Key) -> Address:
    smarthost = address(value, at)
    if not value.rpartition(":")[0].strip("[]") or smarthost.port == 0:
        raise at.error(f"expected HOST:PORT, got {value!r}")
    return smarthost


def _helo(value: str, at: Key) -> str:
    if any(c.isspace() for c in value) or not value.isascii():
        raise at.error(f"not a host name: {value!r}")
    return value


@dataclass(frozen=True)
class RelaySettings(Section):
    """`[relay]`: deliver the outbox to a smarthost over SMTP (docs/relay.md)."""

    smarthost: Address = field(metadata=toml(str, _smarthost))
    starttls: str = field(
        default="opportunistic", metadata=toml(str, choice("off", "opportunistic", "required"))
    )
    username: str | None = field(default=None, metadata=toml(str, lambda value, at: value or None))
    password: str | None = field(default=None, repr=False, metadata=toml(str))
    allow_plain_auth: bool = field(default=False, metadata=toml(bool))  # AUTH without TLS
    verify_certificate: bool = field(default=True, metadata=toml(bool))
    ca_file: Path | None = field(default=None, metadata=toml(str, existing_file))
    helo: str = field(default="", metadata=toml(str, _helo))  # empty: the server's hostname
    retry_initial_seconds: float = field(default=60.0, metadata=toml((int, float), seconds))
    retry_max_seconds: float = field(default=3600.0, metadata=toml((int, float), seconds))
    # Postfix's maximal_queue_lifetime
    max_age_seconds: float = field(default=5 * 86400.0, metadata=toml((int, float), seconds))
    # connect and each SMTP command
    timeout_seconds: float = field(default=60.0, metadata=toml((int, float), seconds))

    @classmethod
    def configured(cls, table: Mapping[str, Any], at: Key) -> RelaySettings | None:
        """Without `smarthost` nothing is relayed (the other keys are still checked)."""
        values = cls.values(table, at)
        return cls(**values) if "smarthost" in values else None

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        username, password = values["username"], values["password"]
        if password is not None and not username:
            raise at.child("password").error("a password needs relay.username")
        if username and password is None:
            raise at.child("username").error("AUTH needs relay.password too")
        if username and values["starttls"] == "off" and not values["allow_plain_auth"]:
            raise at.child("username").error(
                "AUTH is only sent over TLS: set starttls, or allow_plain_auth = true"
            )
        if values["retry_max_seconds"] < values["retry_initial_seconds"]:
            raise at.child("retry_max_seconds").error("is less than retry_initial_seconds")
