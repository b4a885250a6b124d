"""`inbound.toml` + `rules.json` → frozen `Settings`; every error names the file and the key.

Settings are immutable and change by `clone(**changes)`, like `email.policy` objects, so the
CLI's `--smtp/--http/--data` overrides and the pytest fixture derive variants without mutation.

Each TOML table is a section dataclass whose fields are its keys: a field's `toml()` metadata
gives the TOML type, the parser that checks and converts the value, and the key when it differs
from the field's name; a section's `check` does the checks across keys. The schema of allowed
keys is these fields, so a key is declared in one place. `Settings` is the flat union of the
server-wide sections plus the nested `[relay]`, `[retries]`, `[sending]`, `[limits]`,
`[scanning]`, `[backends.*]` and `[verdicts.*]`.
Secrets have `repr=False`, so neither `repr(settings)` nor a log line shows them.

The package: `loader.py` reads the file (`load`), `environment.py` the `INBOUND_*`
variables over it, `settings.py` is `Settings`; `section.py` is how a table is declared and
`values.py` the value types and parsers the sections share; then one module per section or
group of related sections: `server.py` (`[server]`, `[account]`, `[tls]`, `[api]`),
`identities.py` (`[identities]`, `[dns]`), `lambdas.py`, `sns.py`, `relay.py`, `receiving.py`
(`[retries]`, `[scanning]`, `[verdicts.*]`), `limits.py`, `sending.py`, `store.py`,
`backends.py`. A new key goes in its section's dataclass, and nowhere else. This module
re-exports what the rest of `inbound` uses.
"""

from __future__ import annotations

from inbound.config.backends import BACKEND_SERVICES, BackendSettings
from inbound.config.environment import ENV_ALIASES, environment_settings
from inbound.config.identities import DnsSettings
from inbound.config.lambdas import HandlerSource, load_handler
from inbound.config.limits import LimitSettings
from inbound.config.loader import check_targets, load
from inbound.config.receiving import RetrySettings, ScanningSettings
from inbound.config.relay import RelaySettings
from inbound.config.section import Key
from inbound.config.sending import SendingSettings
from inbound.config.server import ServerSettings
from inbound.config.settings import Settings
from inbound.config.store import StoreSettings
from inbound.config.values import Address

__all__ = [
    "BACKEND_SERVICES",
    "ENV_ALIASES",
    "Address",
    "BackendSettings",
    "DnsSettings",
    "HandlerSource",
    "Key",
    "LimitSettings",
    "RelaySettings",
    "RetrySettings",
    "ScanningSettings",
    "SendingSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "check_targets",
    "environment_settings",
    "load",
    "load_handler",
]
