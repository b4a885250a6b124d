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
"""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import ipaddress
import re
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from inbound import model
from inbound.errors import ConfigError
from inbound.receiving.forced import Override, OverrideError
from inbound.rules.codec import load_rules
from inbound.store.engine import LEASE

if TYPE_CHECKING:
    from inbound.dns.zone import Zone

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_MAX_MESSAGE = 40 * 1024 * 1024  # SES's largest per-action limit (spec §9.1)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*\.?$")


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
            elif not _HOSTNAME.match(host):
                raise ValueError(host)
        except ValueError:
            raise ConfigError(file, key, f"expected HOST:PORT, got {text!r}") from None
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Key:
    """A key of a config file (`server.smtp` of inbound.toml), for parsers and their errors."""

    file: Path
    name: str

    def child(self, key: str) -> Key:
        return Key(self.file, f"{self.name}.{key}")

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.file, self.name, message)


Parser = Callable[[Any, Key], Any]


def toml(
    kind: type | tuple[type, ...], parse: Parser | None = None, *, key: str | None = None
) -> dict[str, Any]:
    """A section field's metadata: its TOML type, the parser (checks, converts) and TOML key."""
    return {"toml": kind, "parse": parse, "key": key}


@dataclass(frozen=True)
class Section:
    """A TOML table as a frozen dataclass; see the module docstring."""

    @classmethod
    def keys(cls) -> dict[str, dataclasses.Field[Any]]:
        """TOML key → field: the schema of this table."""
        return {
            f.metadata["key"] or f.name: f for f in dataclasses.fields(cls) if "toml" in f.metadata
        }

    @classmethod
    def check_types(cls, table: Mapping[str, Any], at: Key) -> None:
        keys = cls.keys()
        for key, value in table.items():
            found = keys.get(key)
            if found is None:
                raise at.child(key).error("unknown key")
            if not _has_type(value, found.metadata["toml"]):
                raise at.child(key).error(f"has the wrong type ({value!r})")

    @classmethod
    def values(cls, table: Mapping[str, Any], at: Key) -> dict[str, Any]:
        """Field name → value: each key of `table` parsed, the others at their defaults, then
        the section's `check` across them."""
        values = {}
        for key, f in cls.keys().items():
            if key in table:
                parse = f.metadata["parse"]
                values[f.name] = parse(table[key], at.child(key)) if parse else table[key]
            elif f.default is not dataclasses.MISSING:
                values[f.name] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                values[f.name] = f.default_factory()
        cls.check(values, at)
        return values

    @classmethod
    def from_toml(cls, table: Mapping[str, Any], at: Key) -> Self:
        return cls(**cls.values(table, at))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        """Checks across keys, on the parsed values; none by default."""


def _has_type(value: Any, kind: type | tuple[type, ...]) -> bool:
    """TOML's `true` is no number, though Python's bool is an int."""
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


# ── parsers: (TOML value, its key) → the field's value, or ConfigError ───────────────────────
def _address(value: str, at: Key) -> Address:
    return Address.parse(value, file=at.file, key=at.name)


def _optional_address(value: str, at: Key) -> Address | None:
    """HOST:PORT, or empty for a listener that is off."""
    return _address(value, at) if value else None


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _path(value: str, at: Key) -> Path:
    return Path(value)


def _beside_config(value: str, at: Key) -> Path | None:
    """A path relative to the config file; empty is unset."""
    return at.file.parent / value if value else None


def _existing_file(value: str, at: Key) -> Path | None:
    path = _beside_config(value, at)
    if path is not None and not path.is_file():
        raise at.error(f"file not found: {path}")
    return path


def _positive(value: float, at: Key) -> float:
    if not value > 0:
        raise at.error("must be positive")
    return value


MAX_WORKERS = 64


def _workers(value: int, at: Key) -> int:
    if not 1 <= value <= MAX_WORKERS:
        raise at.error(f"must be a whole number from 1 to {MAX_WORKERS}, not {value!r}")
    return value


def _seconds(value: float, at: Key) -> float:
    return float(_positive(value, at))


_quota = _seconds  # messages per second or per 24 hours: positive, as a float


def _choice(*options: str) -> Parser:
    listed = " or ".join(", ".join(repr(o) for o in options).rsplit(", ", 1))

    def parse(value: str, at: Key) -> str:
        if value not in options:
            raise at.error(f"must be {listed}, not {value!r}")
        return value

    return parse


def _allowed_hosts(values: list[Any], at: Key) -> tuple[str, ...]:
    """Host names (any port), lower-case; IPv6 literals in brackets, as a Host header has them."""
    hosts = []
    for value in values:
        host = value.lower().rstrip(".") if isinstance(value, str) else ""
        if host != "*" and not _HOSTNAME.match(host):
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


def _identities(values: list[Any], at: Key) -> frozenset[str]:
    for value in values:
        if not isinstance(value, str) or not value or value.startswith(".") or " " in value:
            raise at.error(f"not an email address or domain: {value!r}")
    return frozenset(v.lower() for v in values)


def _resolver(value: str, at: Key) -> Address:
    resolver = _address(value, at)
    try:  # dnspython sends to an address, never a name
        ipaddress.ip_address(resolver.host)
    except ValueError:
        raise at.error(f"must be IP:PORT, not {value!r}") from None
    return resolver


def _zone(value: str, at: Key) -> Zone:
    """A zone file beside the config, loaded now: a missing or broken one stops start-up.
    dnspython loads with the first zone: a config without DNS never needs it."""
    from inbound.dns.zone import Zone, ZoneError

    path = at.file.parent / value
    if not path.is_file():
        raise at.error(f"zone file not found: {path}")
    try:
        return Zone.load(path)
    except ZoneError as exc:
        raise at.error(f"bad zone file: {exc}") from None


def _check_interval(value: float, at: Key) -> float:
    if not value > 0:
        raise at.error("must be more than 0 seconds")
    return float(value)


def _lambda_timeout(value: float, at: Key) -> float:
    """At most SES's own 30 s RequestResponse limit (spec §3.5); shorter helps tests."""
    if not 0 < value <= 30:
        raise at.error("must be more than 0 and at most 30 seconds")
    return float(value)


def _handlers(table: Mapping[str, Any], at: Key) -> dict[str, HandlerSource]:
    return {
        arn: load_handler(spec, at.file.parent, at.file, at.child(arn).name)
        for arn, spec in table.items()
    }


def _subscribers(table: Mapping[str, Any], at: Key) -> dict[str, tuple[str, ...]]:
    result = {}
    for arn, urls in table.items():
        if not arn.startswith("arn:aws:sns:"):
            raise at.child(arn).error("not an SNS topic ARN")
        if not isinstance(urls, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
        ):
            raise at.child(arn).error("must be a list of http(s) URLs")
        result[arn] = tuple(urls)
    return result


def _delay_scale(value: float, at: Key) -> float:
    """1 is SNS's own timing; 0.001 makes its 20 s between retries 20 ms (tests)."""
    if not 0 < value <= 1:
        raise at.error("must be more than 0 and at most 1")
    return float(value)


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


def _smarthost(value: str, at: Key) -> Address:
    smarthost = _address(value, at)
    if not value.rpartition(":")[0].strip("[]") or smarthost.port == 0:
        raise at.error(f"expected HOST:PORT, got {value!r}")
    return smarthost


def _helo(value: str, at: Key) -> str:
    if any(c.isspace() for c in value) or not value.isascii():
        raise at.error(f"not a host name: {value!r}")
    return value


def _url(value: str, at: Key) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise at.error(f"not an http(s) URL: {value!r}")
    return value


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _aws_region(value: str, at: Key) -> str:
    if not _REGION.match(value):
        raise at.error(f"not an AWS Region: {value!r}")
    return value


# ── sections ─────────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class ServerSettings(Section):
    """`[server]`."""

    smtp: Address = field(default=Address("127.0.0.1", 2525), metadata=toml(str, _address))
    http: Address = field(default=Address("127.0.0.1", 4525), metadata=toml(str, _address))
    # Host names the HTTP port answers to besides loopback names, the bound host and IP
    # literals ("*": any); see inbound/api/guard.py
    allowed_hosts: tuple[str, ...] = field(default=(), metadata=toml(list, _allowed_hosts))
    # empty: inbound-smtp.<region>.amazonaws.com
    hostname: str = field(default="", metadata=toml(str))
    data_dir: Path = field(default=Path(".inbound"), metadata=toml(str, _path))
    max_message_size: int = field(default=DEFAULT_MAX_MESSAGE, metadata=toml(int, _positive))
    # the log's form (docs/running.md, "Logs"): "text" lines or one JSON object per line
    log_format: str = field(default="text", metadata=toml(str, _choice("text", "json")))
    # engine processes serving the same ports over the one store (docs/workers.md)
    workers: int = field(default=1, metadata=toml(int, _workers))
    # where `state` came from, for error messages (default: rules.json beside inbound.toml)
    rules_file: Path | None = field(default=None, metadata=toml(str, _beside_config, key="rules"))


@dataclass(frozen=True)
class AccountSettings(Section):
    """`[account]`."""

    region: str = field(default=DEFAULT_REGION, metadata=toml(str))
    account_id: str = field(default=DEFAULT_ACCOUNT, metadata=toml(str, _account_id))


@dataclass(frozen=True)
class IdentitySettings(Section):
    """`[identities]` (docs/identities.md): `verified` seeds the receipt state's identities;
    "auto" verifies API identities at once, "dns" asks `identity_resolver` for SES's
    TXT/CNAME/MX records, on demand and every check interval."""

    verified: frozenset[str] = field(default=frozenset(), metadata=toml(list, _identities))
    identity_verification: str = field(
        default="auto", metadata=toml(str, _choice("auto", "dns"), key="verification")
    )
    identity_resolver: Address | None = field(
        default=None, metadata=toml(str, _resolver, key="resolver")
    )
    identity_check_interval: float = field(
        default=60.0, metadata=toml((int, float), _check_interval, key="check_interval")
    )


DEFAULT_ZONE = "dns.zone"


@dataclass(frozen=True)
class DnsSettings(Section):
    """`[dns]`: where identity verification, SPF, DKIM and DMARC get their records
    (docs/authentication.md, inbound/dns/__init__.py): a zone file beside the config (the
    default, `dns.zone`), the system's resolver, or the resolver at `resolver` (IP:PORT)."""

    source: str = field(default="zone", metadata=toml(str, _choice("zone", "system", "resolver")))
    zone: Zone | None = field(default=None, repr=False, metadata=toml(str, _zone))
    resolver: Address | None = field(default=None, metadata=toml(str, _resolver))
    # seconds a resolver may take to answer one question
    timeout: float = field(default=2.0, metadata=toml((int, float), _seconds))

    @classmethod
    def configured(cls, table: Mapping[str, Any] | None, at: Key) -> DnsSettings | None:
        """Without a `[dns]` table: the zone `dns.zone` beside the config when there is one,
        else no DNS (authentication verdicts say "not evaluated", as before `[dns]`)."""
        if table is None:
            if not (at.file.parent / DEFAULT_ZONE).is_file():
                return None
            table = {}
        if table.get("source", "zone") == "zone":
            table = {"zone": DEFAULT_ZONE, **table}
        return cls.from_toml(table, at)

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        source = values["source"]
        if source != "zone" and values["zone"] is not None:
            raise at.child("zone").error(f"a zone file goes with source = 'zone', not {source!r}")
        if (source == "resolver") != (values["resolver"] is not None):
            raise at.child("resolver").error("goes with source = 'resolver', and it needs one")

    @classmethod
    def at_resolver(cls, resolver: Address) -> DnsSettings:
        return cls(source="resolver", resolver=resolver)


@dataclass(frozen=True)
class TlsSettings(Section):
    """`[tls]`: the STARTTLS certificate (a self-signed one is generated without it)."""

    tls_certificate: Path | None = field(
        default=None, metadata=toml(str, _beside_config, key="certificate")
    )
    tls_private_key: Path | None = field(
        default=None, metadata=toml(str, _beside_config, key="private_key")
    )

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if bool(values["tls_certificate"]) != bool(values["tls_private_key"]):
            raise at.error("certificate and private_key go together")


@dataclass(frozen=True)
class LambdaSettings(Section):
    """`[lambda]`: the local handlers of Lambda ARNs and how long one may run."""

    lambda_timeout: float = field(
        default=30.0, metadata=toml((int, float), _lambda_timeout, key="timeout")
    )
    # execution environments (worker processes) per function at most; more invocations wait
    lambda_concurrency: int = field(default=4, metadata=toml(int, _positive, key="concurrency"))
    # a HandlerSource from the file; a callable passed in Python (the pytest plugin) runs in
    # the engine's process (backends/local_lambda.py)
    lambda_handlers: Mapping[str, HandlerSource | Callable[[Any, Any], Any]] = field(
        default_factory=dict, metadata=toml(dict, _handlers, key="functions")
    )


@dataclass(frozen=True)
class SnsSettings(Section):
    """`[sns]`: topic ARN → the http(s) URLs subscribed to it (confirmed from the start), and
    the factor on every delay of SNS's HTTP delivery retry policy (docs/aws-endpoints.md)."""

    # repr=False: a subscriber URL may carry Basic credentials (`https://user:password@...`)
    sns_subscribers: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, repr=False, metadata=toml(dict, _subscribers, key="subscriptions")
    )
    sns_retry_delay_scale: float = field(
        default=1.0, metadata=toml((int, float), _delay_scale, key="retry_delay_scale")
    )


@dataclass(frozen=True)
class ApiSettings(Section):
    """`[api]`: "verify" checks SigV4 against `api_credentials` (access key id → secret), on
    the JSON API and the web UI too, where `token` is also accepted (api/access.py)."""

    api_auth: str = field(default="off", metadata=toml(str, _choice("off", "verify"), key="auth"))
    api_credentials: Mapping[str, str] = field(
        default_factory=dict, repr=False, metadata=toml(dict, _credentials, key="credentials")
    )
    api_token: str = field(default="", repr=False, metadata=toml(str, _token, key="token"))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if values["api_auth"] == "verify" and not values["api_credentials"]:
            raise at.child("credentials").error("auth = 'verify' needs at least one key")


@dataclass(frozen=True)
class RelaySettings(Section):
    """`[relay]`: deliver the outbox to a smarthost over SMTP (docs/relay.md)."""

    smarthost: Address = field(metadata=toml(str, _smarthost))
    starttls: str = field(
        default="opportunistic", metadata=toml(str, _choice("off", "opportunistic", "required"))
    )
    username: str | None = field(default=None, metadata=toml(str, lambda value, at: value or None))
    password: str | None = field(default=None, repr=False, metadata=toml(str))
    allow_plain_auth: bool = field(default=False, metadata=toml(bool))  # AUTH without TLS
    verify_certificate: bool = field(default=True, metadata=toml(bool))
    ca_file: Path | None = field(default=None, metadata=toml(str, _existing_file))
    helo: str = field(default="", metadata=toml(str, _helo))  # empty: the server's hostname
    retry_initial_seconds: float = field(default=60.0, metadata=toml((int, float), _seconds))
    retry_max_seconds: float = field(default=3600.0, metadata=toml((int, float), _seconds))
    # Postfix's maximal_queue_lifetime
    max_age_seconds: float = field(default=5 * 86400.0, metadata=toml((int, float), _seconds))
    # connect and each SMTP command
    timeout_seconds: float = field(default=60.0, metadata=toml((int, float), _seconds))

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


@dataclass(frozen=True)
class RetrySettings(Section):
    """`[retries]`: failed actions (PublishFailure) are retried until the window ends, then
    PublishExpired and the sender gets the 451 4.3.0 DSN (spec receiving.md §8, docs/behaviour.md).

    SES retries "for up to four hours" [DG-metrics]; its schedule is not published, so the
    backoff bounds are ours: exponential from `initial_seconds`, capped at `max_seconds`.
    `fail_fast` sends the DSN at the first failure instead of retrying (spec §8 recommendation).
    """

    window_seconds: float = field(default=4 * 3600.0, metadata=toml((int, float), _seconds))
    initial_seconds: float = field(default=60.0, metadata=toml((int, float), _seconds))
    max_seconds: float = field(default=900.0, metadata=toml((int, float), _seconds))
    fail_fast: bool = field(default=False, metadata=toml(bool))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        if values["max_seconds"] < values["initial_seconds"]:
            raise at.child("max_seconds").error("is less than initial_seconds")


def _store_url(value: str, at: Key) -> str:
    """Empty: the SQLite file in the data dir; else a PostgreSQL connection URI, whose
    driver must be installed."""
    if not value:
        return value
    if not re.match(r"^postgres(ql)?://", value):
        raise at.error("must be empty (SQLite in the data dir) or a postgresql:// URL")
    if importlib.util.find_spec("psycopg") is None:
        raise at.error("needs psycopg: pip install 'inbound-ses[postgresql]'")
    return value


def _lease(value: float, at: Key) -> float:
    """At least a second: the heartbeat renews the lease every third of it, and an engine
    whose renewal comes later than the lease loses its work to the other engines."""
    if not value >= 1:
        raise at.error("must be at least 1 (second)")
    return float(value)


@dataclass(frozen=True)
class StoreSettings(Section):
    """`[store]`: where the engine keeps its state (docs/cluster.md)."""

    # empty: `inbound.sqlite3` in the data dir; "postgresql://...": that database, shared by
    # every engine configured with it (a password in it is a secret: not in reprs)
    url: str = field(default="", repr=False, metadata=toml(str, _store_url))
    # engines sharing the store (PostgreSQL, [server] workers): how long an engine's claims
    # outlive its last heartbeat; a killed engine's work is taken over within 1.5 times this
    lease_seconds: float = field(default=LEASE, metadata=toml((int, float), _lease))


@dataclass(frozen=True)
class SendingSettings(Section):
    """`[sending]`: the account's sending status (docs/behaviour.md, "Sending").

    A new SES account is in the sandbox: "You can only send mail to verified email addresses
    and domains, or to the Amazon SES mailbox simulator", "a maximum of 200 messages per 24-hour
    period" and "a maximum of 1 message per second" (DG, "Moving out of the Amazon SES
    sandbox").
    `production = true` drops the recipient check; the quotas are what GetSendQuota reports and
    what sending is held to (`Throttling`).
    """

    production: bool = field(default=False, metadata=toml(bool))
    max_send_rate: float = field(default=1.0, metadata=toml((int, float), _quota))
    max_24_hour_send: float = field(default=200.0, metadata=toml((int, float), _quota))
    # The SMTP interface (email-smtp.<region>.amazonaws.com, docs/behaviour.md "The SMTP
    # interface"): STARTTLS on `smtp`, TLS from the first byte on `smtps`; empty: off.
    smtp: Address | None = field(
        default=Address("127.0.0.1", 2587), metadata=toml(str, _optional_address)
    )
    smtps: Address | None = field(default=None, metadata=toml(str, _optional_address))
    # AUTH (and mail) without STARTTLS on `smtp`, for tests; a loopback address only
    smtp_allow_plain_auth: bool = field(default=False, metadata=toml(bool))

    @classmethod
    def check(cls, values: Mapping[str, Any], at: Key) -> None:
        smtp = values["smtp"]
        if values["smtp_allow_plain_auth"] and not (smtp and _is_loopback(smtp.host)):
            raise at.child("smtp_allow_plain_auth").error(
                "AUTH without TLS is only allowed when sending.smtp is a loopback address"
            )


@dataclass(frozen=True)
class LimitSettings(Section):
    """`[limits]`: what one client may hold or send on both SMTP listeners (the receiving port
    and the SMTP interface's), each listener counting its own connections (docs/behaviour.md,
    "Limits and timeouts").

    SES documents the replies, not the figures: `421 Too many concurrent SMTP connections` and
    `451 Timeout waiting for data from client` (DG, "Amazon SES SMTP issues"). The defaults
    are Postfix's, whose texts SES's receiving endpoint uses (spec receiving.md §11), and RFC
    5321's: `smtpd_timeout` 300 s (RFC 5321 §4.5.3.2.7: at least 5 minutes), 100 recipients
    (§4.5.3.1.8, spec §11's recommendation), 1,000-octet lines (§4.5.3.1.6), `hopcount_limit`
    50 `Received:` headers; connections: `smtpd_client_connection_count_limit` is 50 beside
    100 processes, raised here because every local client shares one loopback address. The
    listen backlog is the kernel's maximum (`SOMAXCONN`, which the kernel caps at
    `net.core.somaxconn`): with asyncio's 100, a burst of 1,000 connections lost some
    (docs/reliability.md).
    """

    max_connections: int = field(default=1000, metadata=toml(int, _positive))
    max_connections_per_ip: int = field(default=100, metadata=toml(int, _positive))
    command_timeout: float = field(default=300.0, metadata=toml((int, float), _seconds))
    # the longest wait for more of the message between DATA's 354 and its final dot
    data_timeout: float = field(default=300.0, metadata=toml((int, float), _seconds))
    max_recipients: int = field(default=100, metadata=toml(int, _positive))
    # octets of a DATA line without its CRLF
    max_line_length: int = field(default=1000, metadata=toml(int, _positive))
    max_received_headers: int = field(default=50, metadata=toml(int, _positive))
    # connections the kernel queues before the server accepts them (listen(2)'s backlog)
    listen_backlog: int = field(default=socket.SOMAXCONN, metadata=toml(int, _positive))


def _scanner(value: str, at: Key) -> Address | Path | None:
    """HOST:PORT, an absolute unix socket path, or empty for none."""
    if not value:
        return None
    if value.startswith("/"):
        return Path(value)
    try:
        return _address(value, at)
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
    timeout: float = field(default=10.0, metadata=toml((int, float), _seconds))
    spamd_max_size: int = field(default=500 * 1024, metadata=toml(int, _positive))
    clamd_max_size: int = field(default=25 * 1024 * 1024, metadata=toml(int, _positive))


_OVERRIDE_KEYS = {"rule_set": "ruleSet", "dmarc_policy": "dmarcPolicy", "sender": "sender"}
_OVERRIDE_KEYS |= {k: k for k in ("spam", "virus", "spf", "dkim", "dmarc")}


def _verdict_overrides(tables: Mapping[str, Any], at: Key) -> tuple[Override, ...]:
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


BACKEND_SERVICES = ("s3", "sns", "lambda", "kms", "cloudwatch", "firehose", "eventbridge")
STRICT = "strict"  # `[backends] strict`, beside the services' tables


@dataclass(frozen=True)
class BackendSettings(Section):
    """`[backends.<service>]`: the embedded backend, or AWS (or moto, LocalStack) via boto3.

    Without explicit keys boto3's standard chain applies (environment, `profile`, instance
    role); `region` defaults to `[account] region`.
    """

    kind: str = field(default="local", metadata=toml(str, _choice("local", "aws")))
    endpoint_url: str | None = field(default=None, metadata=toml(str, _url))
    region: str | None = field(default=None, metadata=toml(str, _aws_region))
    profile: str | None = field(default=None, metadata=toml(str))
    access_key_id: str | None = field(default=None, metadata=toml(str))
    secret_access_key: str | None = field(default=None, repr=False, metadata=toml(str))
    session_token: str | None = field(default=None, repr=False, metadata=toml(str))
    connect_timeout: float = field(default=5.0, metadata=toml((int, float), _seconds))
    # above SES's 30 s RequestResponse limit (spec §3.5)
    read_timeout: float = field(default=35.0, metadata=toml((int, float), _seconds))
    # botocore "standard" retries (its max_attempts: after the first)
    max_attempts: int = field(default=3, metadata=toml(int, _positive))

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


# The sections whose keys are `Settings` attributes themselves, in the order they are read.
_SERVER_WIDE: dict[str, type[Section]] = {
    "server": ServerSettings,
    "account": AccountSettings,
    "identities": IdentitySettings,
    "tls": TlsSettings,
    "lambda": LambdaSettings,
    "sns": SnsSettings,
    "api": ApiSettings,
}
_NESTED: dict[str, type[Section]] = {
    "relay": RelaySettings,
    "retries": RetrySettings,
    "sending": SendingSettings,
    "limits": LimitSettings,
    "scanning": ScanningSettings,
    "dns": DnsSettings,
    "store": StoreSettings,
}


@dataclass(frozen=True)
class Settings(  # listed last to first: a dataclass's fields start with its last base's
    ApiSettings,
    SnsSettings,
    LambdaSettings,
    TlsSettings,
    IdentitySettings,
    AccountSettings,
    ServerSettings,
):
    """Everything `InboundServer` runs with: the server-wide sections' keys as attributes, the
    receipt state loaded from `rules_file`, and the nested sections."""

    state: model.ReceiptState = model.ReceiptState()
    relay: RelaySettings | None = None  # None: the outbox is kept, never relayed
    # `[backends.<service>]` (docs/aws.md): absent ⇒ the embedded ("local") backend.
    backends: Mapping[str, BackendSettings] = field(default_factory=dict)
    # `[backends] strict`: a rule naming a bucket or topic nobody made is refused, as on AWS;
    # false (the sandbox): the first use makes it (docs/aws-endpoints.md)
    strict: bool = False
    retries: RetrySettings = RetrySettings()
    store: StoreSettings = StoreSettings()
    sending: SendingSettings = SendingSettings()
    limits: LimitSettings = LimitSettings()
    scanning: ScanningSettings = ScanningSettings()
    verdicts: tuple[Override, ...] = ()  # `[verdicts.<name>]`, forced verdicts
    dns: DnsSettings | None = None  # None: no DNS, authentication is not evaluated

    @property
    def dns_settings(self) -> DnsSettings | None:
        """`[dns]`, or the resolver of `[identities] resolver`, the key `[dns]` replaced."""
        if self.dns is None and self.identity_resolver is not None:
            return DnsSettings.at_resolver(self.identity_resolver)
        return self.dns

    def backend(self, service: str) -> BackendSettings:
        """The settings of `service` (BACKEND_SERVICES); local when unset."""
        return self.backends.get(service) or BackendSettings()

    @property
    def smtp_hostname(self) -> str:
        return self.hostname or f"inbound-smtp.{self.region}.amazonaws.com"

    def clone(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# ── inbound.toml ────────────────────────────────────────────────────────────────────────────
def load(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `inbound.toml` and the rules file it names (default `rules.json` beside it); the
    `INBOUND_*` variables of `environ` (the CLI passes `os.environ`) override its keys."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "-", f"invalid TOML: {exc}") from None
    _check_schema(path, raw)
    for (table, key), value in from_environment(path, environ or {}).items():
        raw.setdefault(table, {})[key] = value
    values: dict[str, Any] = {}
    for name, section in _SERVER_WIDE.items():
        values |= section.values(raw.get(name, {}), Key(path, name))
    rules_file = values["rules_file"] or path.parent / "rules.json"
    settings = Settings(
        **values | {"rules_file": rules_file},
        state=load_rules(rules_file, values["verified"], values["region"]),
        relay=RelaySettings.configured(raw.get("relay", {}), Key(path, "relay")),
        backends={
            service: BackendSettings.from_toml(table, Key(path, f"backends.{service}"))
            for service, table in raw.get("backends", {}).items()
            if service != STRICT
        },
        strict=raw.get("backends", {}).get(STRICT, False),
        retries=RetrySettings.from_toml(raw.get("retries", {}), Key(path, "retries")),
        store=StoreSettings.from_toml(raw.get("store", {}), Key(path, "store")),
        sending=SendingSettings.from_toml(raw.get("sending", {}), Key(path, "sending")),
        limits=LimitSettings.from_toml(raw.get("limits", {}), Key(path, "limits")),
        scanning=ScanningSettings.from_toml(raw.get("scanning", {}), Key(path, "scanning")),
        verdicts=_verdict_overrides(raw.get("verdicts", {}), Key(path, "verdicts")),
        dns=None
        if "dns" not in raw and values["identity_resolver"]  # the old form's resolver
        else DnsSettings.configured(raw.get("dns"), Key(path, "dns")),
    )
    _check_dns(settings, path, "dns" in raw)
    check_targets(settings, rules_file)
    return settings


def _check_dns(settings: Settings, path: Path, has_dns: bool) -> None:
    """`[identities] resolver` is the old form of `[dns] source = "resolver"`: not both."""
    resolver = Key(path, "identities").child("resolver")
    if has_dns and settings.identity_resolver is not None:
        raise resolver.error("replaced by [dns] (source = 'resolver'): give one of them")
    if settings.identity_verification == "dns" and settings.dns_settings is None:
        raise resolver.error("verification = 'dns' needs a DNS source: [dns] or a resolver")


def _check_schema(path: Path, raw: Mapping[str, Any]) -> None:
    """Unknown sections and keys, and values of the wrong TOML type, before any value check."""
    sections = {**_SERVER_WIDE, **_NESTED}
    for name, table in raw.items():
        at = Key(path, name)
        if name not in sections and name not in ("backends", "verdicts"):
            raise at.error("unknown section")
        if not isinstance(table, dict):
            raise at.error("must be a table")
        if name == "verdicts":
            for key, override in table.items():
                if not isinstance(override, dict):
                    raise at.child(key).error(f"has the wrong type ({override!r})")
            continue
        if name != "backends":
            sections[name].check_types(table, at)
            continue
        for service, backend in table.items():
            if service == STRICT and isinstance(backend, bool):
                continue
            if service == STRICT:
                raise at.child(service).error(f"has the wrong type ({backend!r}): true or false")
            if service not in BACKEND_SERVICES:
                raise at.child(service).error("unknown key")
            if not isinstance(backend, dict):
                raise at.child(service).error(f"has the wrong type ({backend!r})")
            BackendSettings.check_types(backend, at.child(service))


# ── environment variables: INBOUND_<SECTION>_<KEY> over the file's keys ──────────────────────
ENV_PREFIX = "INBOUND_"
# Short names for the settings everyone changes first; each is the same as its long name.
ENV_ALIASES = {
    "INBOUND_SMTP": ("server", "smtp"),
    "INBOUND_HTTP": ("server", "http"),
    "INBOUND_DATA": ("server", "data_dir"),
}


@dataclass(frozen=True)
class EnvSetting:
    """A key of inbound.toml that an environment variable can set."""

    variable: str
    section: str
    key: str
    field: dataclasses.Field[Any]


def environment_settings() -> list[EnvSetting]:
    """Every key of the plain sections (not `[backends.*]`, `[verdicts.*]`), in file order."""
    return [
        EnvSetting(f"{ENV_PREFIX}{name}_{key}".upper(), name, key, f)
        for name, section in {**_SERVER_WIDE, **_NESTED}.items()
        for key, f in section.keys().items()
    ]


def from_environment(path: Path, environ: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    """(section, key) → TOML value of the `INBOUND_*` variables that name a setting; other
    `INBOUND_*` variables (a test's, a benchmark's) are not ours to judge, unless they start
    with a section's name. A string key takes the text as it is; any other type is written as
    in TOML (`50`, `true`, `["a.example"]`, `{ "arn:..." = "file.py:f" }`). Each value is
    checked as the file's would be, and an error names the variable."""
    known = {s.variable: s for s in environment_settings()}
    sections = {**_SERVER_WIDE, **_NESTED}
    found: dict[tuple[str, str], Any] = {}
    for variable, text in sorted(environ.items()):
        if not variable.startswith(ENV_PREFIX):
            continue
        setting = known.get(variable)
        target = ENV_ALIASES.get(variable) or ((setting.section, setting.key) if setting else None)
        if target is None:
            section = variable[len(ENV_PREFIX) :].partition("_")[0].lower()
            if section in sections:
                raise ConfigError(f"${variable}", "-", "no such setting (docs/running.md)")
            continue
        section, key = target
        at = Key(path, f"{section}.{key} (from ${variable})")
        if target in found:
            raise at.error("set twice, by its short and its long name")
        field_ = sections[section].keys()[key]
        value = _env_value(text, field_.metadata["toml"], at)
        if not _has_type(value, field_.metadata["toml"]):
            raise at.error(f"has the wrong type ({value!r})")
        if field_.metadata["parse"]:
            field_.metadata["parse"](value, at)
        found[target] = value
    return found


def _env_value(text: str, kind: type | tuple[type, ...], at: Key) -> Any:
    if kind is str:
        return text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        raise at.error(f"not a TOML value: {text!r}") from None


@dataclass(frozen=True)
class HandlerSource:
    """A handler named in `[lambda.functions]`: it runs in worker processes of its own, each
    started with the environment Lambda gives a function (backends/local_lambda.py), so this is
    only where to find it. `module.function` is its `_HANDLER`, imported by name as Lambda
    does, from `task_root` (a `file.py` handler's folder, Lambda's LAMBDA_TASK_ROOT: its sibling
    modules import as on Lambda) or, for `package.module`, from the engine's own path."""

    module: str
    function: str
    task_root: Path | None

    @property
    def handler(self) -> str:
        return f"{self.module}.{self.function}"


def load_handler(spec: Any, base: Path, path: Path, key: str) -> HandlerSource:
    """`package.module:function` or `file.py:function` (relative to the config file).

    The module is read, not run (only the packages above a `package.module` are imported, to
    find it): it runs in its own processes, with Lambda's environment. What its top level binds
    is checked, so a misspelt file or function stops start-up instead of failing every
    invocation (Lambda itself only finds out on the first one: Runtime.HandlerNotFound).
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(path, key, "expected 'module:function' or 'file.py:function'")
    target, _, name = spec.rpartition(":")
    try:
        file: Path | None
        if target.endswith(".py"):
            file = (base / target).resolve()
            if not file.is_file():
                raise ImportError(f"no such file: {file}")
            source = HandlerSource(file.stem, name, file.parent)
        else:
            found = importlib.util.find_spec(target)
            if found is None:
                raise ImportError(f"no module named {target!r}")
            file = Path(found.origin) if found.origin and found.origin.endswith(".py") else None
            source = HandlerSource(target, name, None)
        if file is not None and not _binds(file, name):
            raise AttributeError(f"{file.name} defines no {name!r}")
    except (ImportError, AttributeError, SyntaxError, ValueError, OSError) as exc:
        raise ConfigError(path, key, f"cannot load handler {spec!r}: {exc}") from None
    return source


def _binds(file: Path, name: str) -> bool:
    """Whether the module's top level binds `name` (def, class, assignment, import), or may
    (a star import, a module `__getattr__`)."""
    bound: set[str] = set()
    for node in ast.parse(file.read_bytes(), str(file)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return bool(bound & {name, "*", "__getattr__"})


def check_targets(settings: Settings, rules_path: Path) -> None:
    """Every Lambda ARN in any rule set needs a local handler (spec §3.5: the sandbox cannot
    invoke a function it does not have). With `[backends.lambda] kind = "aws"` the function
    is looked up when the rules are loaded through the API instead."""
    if settings.backend("lambda").kind == "aws":
        return
    for rule_set in settings.state.rule_sets:
        for rule in rule_set.rules:
            for i, action in enumerate(rule.actions, start=1):
                if (
                    isinstance(action, model.LambdaAction)
                    and action.function_arn not in settings.lambda_handlers
                ):
                    raise ConfigError(
                        rules_path,
                        f"{rule_set.name}.{rule.name}.Actions.{i}.LambdaAction.FunctionArn",
                        f"no local handler for {action.function_arn} "
                        "(add it under [lambda.functions] in inbound.toml)",
                    )
