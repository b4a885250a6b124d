"""`[retries]`, `[scanning]` and `[verdicts.*]`: the receiving side's retries of failed actions,
its content scanners and its forced verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import Address, address, positive, seconds
from inbound.errors import ConfigError
from inbound.receiving.forced import Override, OverrideError


@dataclass(frozen=True)
class RetrySettings(Section):
    """`[retries]`: failed actions (PublishFailure) are retried until the window ends, then
    PublishExpired and the sender gets the 451 4.3.0 DSN (spec receiving.md §8, docs/behaviour.md).

    SES retries "for up to four hours" [DG-metrics]; its schedule is not published, so the
    backoff bounds are ours: exponential from `initial_seconds`, capped at `max_seconds`.
    `fail_fast` sends the DSN at the first failure instead of retrying (spec §8 recommendation).
    """

    window_seconds: float = field(default=4 * 3600.0, metadata=toml((int, float), seconds))
    initial_seconds: float = field(default=60.0, metadata=toml((int, float), seconds))
    max_seconds: float = field(default=900.0, metadata=toml((int, float), seconds))
    fail_fast: bool = field(default=False, metadata=toml(bool))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if values["max_seconds"] < values["initial_seconds"]:
            raise at.child("max_seconds").error("is less than initial_seconds")


def _scanner(value: str, at: Key) -> Address | Path | None:
    """HOST:PORT, an absolute unix socket path, or empty for none."""
    if not value:
        return None
    if value.startswith("/"):
        return Path(value)
    try:
        return address(value, at)
    except ConfigError:
        raise at.error(f"expected HOST:PORT or an absolute socket path, got {value!r}") from None


@dataclass(frozen=True)
class ScanningSettings(Section):
    """`[scanning]` (docs/authentication.md, "Scanning"): the spamd and clamd a rule with
    ScanEnabled asks after the built-in GTUBE and EICAR scanners; no verdict within `timeout`
    is PROCESSING_FAILED. The size limits are spamc's default (`-s`, 500 KB) and clamd's
    default StreamMaxLength (25 MB)."""

    spamd: Address | Path | None = field(default=None, metadata=toml(str, _scanner))
    clamd: Address | Path | None = field(default=None, metadata=toml(str, _scanner))
    timeout: float = field(default=10.0, metadata=toml((int, float), seconds))
    spamd_max_size: int = field(default=500 * 1024, metadata=toml(int, positive))
    clamd_max_size: int = field(default=25 * 1024 * 1024, metadata=toml(int, positive))


_OVERRIDE_KEYS = {"rule_set": "ruleSet", "dmarc_policy": "dmarcPolicy", "sender": "sender"}
_OVERRIDE_KEYS |= {k: k for k in ("spam", "virus", "spf", "dkim", "dmarc")}


def verdict_overrides(tables: Mapping[str, Any], at: Key) -> tuple[Override, ...]:
    """`[verdicts.<name>]`: forced verdicts (receiving/forced.py), TOML keys in snake_case."""
    found = []
    for name, table in tables.items():
        for key in table:
            if key not in _OVERRIDE_KEYS:
                raise at.child(name).child(key).error("unknown key")
        fields = {_OVERRIDE_KEYS[k]: v for k, v in table.items()}
        try:
            found.append(Override.parse(name, "config", fields))
        except OverrideError as exc:
            raise at.child(name).error(str(exc)) from None
    return tuple(found)
