"""Value types and parsers the sections share: (TOML value, its key) → the field's value, or
ConfigError naming the file and the key."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from inbound.config.section import Key, Parser
from inbound.errors import ConfigError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, *, file: Path | str = "<command line>", key: str = "") -> Address:
        host, sep, port = text.rpartition(":")
        try:
            if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
                raise ValueError(text)
            host = host.strip("[]") or "127.0.0.1"
            if host[0].isdigit() or ":" in host:
                ipaddress.ip_address(host)
            elif not HOSTNAME.match(host):
                raise ValueError(host)
        except ValueError:
            raise ConfigError(file, key, f"expected HOST:PORT, got {text!r}") from None
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def address(value: str, at: Key) -> Address:
    return Address.parse(value, file=at.file, key=at.name)


def optional_address(value: str, at: Key) -> Address | None:
    """HOST:PORT, or empty for a listener that is off."""
    return address(value, at) if value else None


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def as_path(value: str, at: Key) -> Path:
    return Path(value)


def beside_config(value: str, at: Key) -> Path | None:
    """A path relative to the config file; empty is unset."""
    return at.file.parent / value if value else None


def existing_file(value: str, at: Key) -> Path | None:
    path = beside_config(value, at)
    if path is not None and not path.is_file():
        raise at.error(f"file not found: {path}")
    return path


def positive(value: float, at: Key) -> float:
    if not value > 0:
        raise at.error("must be positive")
    return value


def seconds(value: float, at: Key) -> float:
    return float(positive(value, at))


quota = seconds  # messages per second or per 24 hours: positive, as a float


def choice(*options: str) -> Parser:
    listed = " or ".join(", ".join(repr(o) for o in options).rsplit(", ", 1))

    def parse(value: str, at: Key) -> str:
        if value not in options:
            raise at.error(f"must be {listed}, not {value!r}")
        return value

    return parse
