"""`inbound.toml` + `rules.json` → frozen `Settings`; every error names the file and the key.

Settings are immutable and change by `clone(**changes)`, like `email.policy` objects, so the
CLI's `--smtp/--http/--data` overrides and the pytest fixture derive variants without mutation.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import ipaddress
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound import model
from inbound.errors import ConfigError
from inbound.rules.codec import load_rules

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
class RelaySettings:
    """`[relay]`: deliver the outbox to a smarthost over SMTP (docs/relay.md)."""

    smarthost: Address
    starttls: str = "opportunistic"  # "off" | "opportunistic" | "required"
    username: str | None = None
    password: str | None = None
    allow_plain_auth: bool = False  # AUTH without TLS
    verify_certificate: bool = True
    ca_file: Path | None = None
    helo: str = ""  # empty: the server's hostname
    retry_initial_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    max_age_seconds: float = 5 * 86400.0  # Postfix's maximal_queue_lifetime
    timeout_seconds: float = 60.0  # connect and each SMTP command


@dataclass(frozen=True)
class RetrySettings:
    """`[retries]`: failed actions (PublishFailure) are retried until the window ends, then
    PublishExpired and the sender gets the 451 4.3.0 DSN (spec receiving.md §8, docs/behaviour.md).

    SES retries "for up to four hours" [DG-metrics]; its schedule is not published, so the
    backoff bounds are ours: exponential from `initial_seconds`, capped at `max_seconds`.
    `fail_fast` sends the DSN at the first failure instead of retrying (spec §8 recommendation).
    """

    window_seconds: float = 4 * 3600.0
    initial_seconds: float = 60.0
    max_seconds: float = 900.0
    fail_fast: bool = False


BACKEND_SERVICES = ("s3", "sns", "lambda", "kms")


@dataclass(frozen=True)
class BackendSettings:
    """`[backends.<service>]`: the embedded backend, or AWS (or moto, LocalStack) via boto3.

    Without explicit keys boto3's standard chain applies (environment, `profile`, instance
    role); `region` defaults to `[account] region`.
    """

    kind: str = "local"  # "local" | "aws"
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 35.0  # above SES's 30 s RequestResponse limit (spec §3.5)
    max_attempts: int = 3  # botocore "standard" retries (its max_attempts: after the first)


@dataclass(frozen=True)
class Settings:
    smtp: Address = Address("127.0.0.1", 2525)
    http: Address = Address("127.0.0.1", 4525)
    # `[server] allowed_hosts`: Host names the HTTP port answers to besides loopback names, the
    # bound host and IP literals ("*": any); see inbound/api/guard.py
    allowed_hosts: tuple[str, ...] = ()
    hostname: str = ""  # empty: inbound-smtp.<region>.amazonaws.com
    data_dir: Path = Path(".inbound")
    max_message_size: int = DEFAULT_MAX_MESSAGE
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT
    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    lambda_timeout: float = 30.0
    state: model.ReceiptState = model.ReceiptState()
    lambda_handlers: Mapping[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    sns_subscribers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    api_auth: str = "off"  # "off" | "verify" (SigV4 checked against api_credentials)
    api_credentials: Mapping[str, str] = field(default_factory=dict)  # access key id → secret
    rules_file: Path | None = None  # where `state` came from, for error messages
    relay: RelaySettings | None = None  # None: the outbox is kept, never relayed
    # `[identities]` (docs/identities.md): "auto" verifies API identities at once; "dns" asks
    # `identity_resolver` for SES's TXT/CNAME/MX records, on demand and every check interval.
    identity_verification: str = "auto"  # "auto" | "dns"
    identity_resolver: Address | None = None
    identity_check_interval: float = 60.0
    # `[backends.<service>]` (docs/aws.md): absent ⇒ the embedded ("local") backend.
    backends: Mapping[str, BackendSettings] = field(default_factory=dict)
    retries: RetrySettings = RetrySettings()  # `[retries]`

    def backend(self, service: str) -> BackendSettings:
        """The settings of `service` (`s3`, `sns`, `lambda`, `kms`); local when unset."""
        return self.backends.get(service) or BackendSettings()

    @property
    def smtp_hostname(self) -> str:
        return self.hostname or f"inbound-smtp.{self.region}.amazonaws.com"

    def clone(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


# ── inbound.toml ────────────────────────────────────────────────────────────────────────────
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "server": {
        "smtp": str,
        "http": str,
        "allowed_hosts": list,
        "hostname": str,
        "data_dir": str,
        "max_message_size": int,
        "rules": str,
    },
    "account": {"region": str, "account_id": str},
    "identities": {
        "verified": list,
        "verification": str,
        "resolver": str,
        "check_interval": (int, float),
    },
    "tls": {"certificate": str, "private_key": str},
    "lambda": {"functions": dict, "timeout": (int, float)},
    "sns": {"subscriptions": dict},
    "api": {"auth": str, "credentials": dict},
    "backends": {service: dict for service in BACKEND_SERVICES},
    "relay": {
        "smarthost": str,
        "starttls": str,
        "username": str,
        "password": str,
        "allow_plain_auth": bool,
        "verify_certificate": bool,
        "ca_file": str,
        "helo": str,
        "retry_initial_seconds": (int, float),
        "retry_max_seconds": (int, float),
        "max_age_seconds": (int, float),
        "timeout_seconds": (int, float),
    },
    "retries": {
        "window_seconds": (int, float),
        "initial_seconds": (int, float),
        "max_seconds": (int, float),
        "fail_fast": bool,
    },
}


def load(path: Path) -> Settings:
    """Read `inbound.toml` and the rules file it names (default `rules.json` beside it)."""
    try:
        with path.open("rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(path, "-", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "-", f"invalid TOML: {exc}") from None
    _check_schema(path, raw)
    base = path.parent
    server = raw.get("server", {})
    account = raw.get("account", {})
    tls = raw.get("tls", {})
    lambdas = raw.get("lambda", {})
    region = account.get("region", DEFAULT_REGION)
    account_id = account.get("account_id", DEFAULT_ACCOUNT)
    if not (account_id.isascii() and account_id.isdigit() and len(account_id) == 12):
        raise ConfigError(path, "account.account_id", "must be 12 digits")
    verified = frozenset(_identities(path, raw.get("identities", {}).get("verified", [])))
    rules_path = base / server.get("rules", "rules.json")
    state = load_rules(rules_path, verified)
    settings = Settings(
        smtp=Address.parse(server.get("smtp", "127.0.0.1:2525"), file=path, key="server.smtp"),
        http=Address.parse(server.get("http", "127.0.0.1:4525"), file=path, key="server.http"),
        allowed_hosts=_allowed_hosts(path, server.get("allowed_hosts", [])),
        hostname=server.get("hostname", ""),
        data_dir=Path(server.get("data_dir", ".inbound")),
        max_message_size=_positive(path, "server.max_message_size", server, DEFAULT_MAX_MESSAGE),
        region=region,
        account_id=account_id,
        tls_certificate=base / tls["certificate"] if tls.get("certificate") else None,
        tls_private_key=base / tls["private_key"] if tls.get("private_key") else None,
        lambda_timeout=_lambda_timeout(path, lambdas),
        state=state,
        lambda_handlers={
            arn: load_handler(spec, base, path, f"lambda.functions.{arn}")
            for arn, spec in lambdas.get("functions", {}).items()
        },
        sns_subscribers=_subscribers(path, raw.get("sns", {}).get("subscriptions", {})),
        api_auth=_api_auth(path, raw.get("api", {})),
        api_credentials=_credentials(path, raw.get("api", {}).get("credentials", {})),
        relay=_relay(path, raw.get("relay", {})),
        **_verification(path, raw.get("identities", {})),
        rules_file=rules_path,
        backends=_backends(path, raw.get("backends", {})),
        retries=_retries(path, raw.get("retries", {})),
    )
    if bool(settings.tls_certificate) != bool(settings.tls_private_key):
        raise ConfigError(path, "tls", "certificate and private_key go together")
    check_targets(settings, rules_path)
    return settings


def _check_schema(path: Path, raw: Mapping[str, Any]) -> None:
    for section, values in raw.items():
        allowed = _SCHEMA.get(section)
        if allowed is None:
            raise ConfigError(path, section, "unknown section")
        if not isinstance(values, dict):
            raise ConfigError(path, section, "must be a table")
        for key, value in values.items():
            expected = allowed.get(key)
            if expected is None:
                raise ConfigError(path, f"{section}.{key}", "unknown key")
            if not isinstance(value, expected) or (
                isinstance(value, bool) and expected is not bool
            ):
                raise ConfigError(path, f"{section}.{key}", f"has the wrong type ({value!r})")


def _positive(path: Path, key: str, table: Mapping[str, Any], default: int) -> int:
    value = table.get(key.rpartition(".")[2], default)
    if value <= 0:
        raise ConfigError(path, key, "must be positive")
    return int(value)


def _allowed_hosts(path: Path, values: list[Any]) -> tuple[str, ...]:
    """Host names (any port), lower-case; IPv6 literals in brackets, as a Host header has them."""
    hosts = []
    for value in values:
        host = value.lower().rstrip(".") if isinstance(value, str) else ""
        if host != "*" and not _HOSTNAME.match(host):
            try:
                host = f"[{ipaddress.IPv6Address(host.strip('[]'))}]"
            except ValueError:
                raise ConfigError(
                    path, "server.allowed_hosts", f"not a host name without port: {value!r}"
                ) from None
        hosts.append(host)
    return tuple(hosts)


def _identities(path: Path, values: list[Any]) -> list[str]:
    for value in values:
        if not isinstance(value, str) or not value or value.startswith(".") or " " in value:
            raise ConfigError(
                path, "identities.verified", f"not an email address or domain: {value!r}"
            )
    return [v.lower() for v in values]


def _verification(path: Path, table: Mapping[str, Any]) -> dict[str, Any]:
    """`[identities] verification / resolver / check_interval` as Settings fields."""
    mode = table.get("verification", "auto")
    if mode not in ("auto", "dns"):
        raise ConfigError(path, "identities.verification", f"must be 'auto' or 'dns', not {mode!r}")
    resolver = None
    if "resolver" in table:
        resolver = Address.parse(table["resolver"], file=path, key="identities.resolver")
        try:  # dnspython sends to an address, never a name
            ipaddress.ip_address(resolver.host)
        except ValueError:
            raise ConfigError(
                path, "identities.resolver", f"must be IP:PORT, not {table['resolver']!r}"
            ) from None
    elif mode == "dns":
        raise ConfigError(path, "identities.resolver", "verification = 'dns' needs a resolver")
    interval = float(table.get("check_interval", 60.0))
    if not interval > 0:
        raise ConfigError(path, "identities.check_interval", "must be more than 0 seconds")
    return {
        "identity_verification": mode,
        "identity_resolver": resolver,
        "identity_check_interval": interval,
    }


def _lambda_timeout(path: Path, table: Mapping[str, Any]) -> float:
    """At most SES's own 30 s RequestResponse limit (spec §3.5); shorter helps tests."""
    timeout = float(table.get("timeout", 30.0))
    if not 0 < timeout <= 30:
        raise ConfigError(path, "lambda.timeout", "must be more than 0 and at most 30 seconds")
    return timeout


def _api_auth(path: Path, table: Mapping[str, Any]) -> str:
    mode = table.get("auth", "off")
    if mode not in ("off", "verify"):
        raise ConfigError(path, "api.auth", f"must be 'off' or 'verify', not {mode!r}")
    if mode == "verify" and not table.get("credentials"):
        raise ConfigError(path, "api.credentials", "auth = 'verify' needs at least one key")
    return str(mode)


def _credentials(path: Path, table: Mapping[str, Any]) -> dict[str, str]:
    for key, secret in table.items():
        if not isinstance(secret, str) or not secret:
            raise ConfigError(path, f"api.credentials.{key}", "must be the secret access key")
    return dict(table)


def _relay(path: Path, table: Mapping[str, Any]) -> RelaySettings | None:
    """`[relay]`; without `smarthost` nothing is relayed (the other keys are still checked)."""
    starttls = table.get("starttls", "opportunistic")
    if starttls not in ("off", "opportunistic", "required"):
        raise ConfigError(
            path,
            "relay.starttls",
            f"must be 'off', 'opportunistic' or 'required', not {starttls!r}",
        )
    username, password = table.get("username"), table.get("password")
    if password is not None and not username:
        raise ConfigError(path, "relay.password", "a password needs relay.username")
    if username and password is None:
        raise ConfigError(path, "relay.username", "AUTH needs relay.password too")
    allow_plain = table.get("allow_plain_auth", False)
    if username and starttls == "off" and not allow_plain:
        raise ConfigError(
            path,
            "relay.username",
            "AUTH is only sent over TLS: set starttls, or allow_plain_auth = true",
        )
    seconds = {}
    for key, default in (
        ("retry_initial_seconds", 60.0),
        ("retry_max_seconds", 3600.0),
        ("max_age_seconds", 5 * 86400.0),
        ("timeout_seconds", 60.0),
    ):
        seconds[key] = float(table.get(key, default))
        if seconds[key] <= 0:
            raise ConfigError(path, f"relay.{key}", "must be positive")
    if seconds["retry_max_seconds"] < seconds["retry_initial_seconds"]:
        raise ConfigError(path, "relay.retry_max_seconds", "is less than retry_initial_seconds")
    ca_file = path.parent / table["ca_file"] if table.get("ca_file") else None
    if ca_file is not None and not ca_file.is_file():
        raise ConfigError(path, "relay.ca_file", f"file not found: {ca_file}")
    helo = table.get("helo", "")
    if any(c.isspace() for c in helo) or not helo.isascii():
        raise ConfigError(path, "relay.helo", f"not a host name: {helo!r}")
    if "smarthost" not in table:
        return None
    smarthost = Address.parse(table["smarthost"], file=path, key="relay.smarthost")
    if not table["smarthost"].rpartition(":")[0].strip("[]") or smarthost.port == 0:
        raise ConfigError(
            path, "relay.smarthost", f"expected HOST:PORT, got {table['smarthost']!r}"
        )
    return RelaySettings(
        smarthost=smarthost,
        starttls=starttls,
        username=username or None,
        password=password,
        allow_plain_auth=allow_plain,
        verify_certificate=table.get("verify_certificate", True),
        ca_file=ca_file,
        helo=helo,
        **seconds,
    )


def _retries(path: Path, table: Mapping[str, Any]) -> RetrySettings:
    """`[retries]`: every duration positive, and `max_seconds` not below `initial_seconds`."""
    default = RetrySettings()
    seconds = {}
    for key in ("window_seconds", "initial_seconds", "max_seconds"):
        seconds[key] = float(table.get(key, getattr(default, key)))
        if not seconds[key] > 0:
            raise ConfigError(path, f"retries.{key}", "must be positive")
    if seconds["max_seconds"] < seconds["initial_seconds"]:
        raise ConfigError(path, "retries.max_seconds", "is less than initial_seconds")
    return RetrySettings(**seconds, fail_fast=table.get("fail_fast", False))


_BACKEND_KEYS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "endpoint_url": str,
    "region": str,
    "profile": str,
    "access_key_id": str,
    "secret_access_key": str,
    "session_token": str,
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "max_attempts": int,
}
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _backends(path: Path, tables: Mapping[str, Any]) -> dict[str, BackendSettings]:
    """`[backends.s3]`, `[backends.sns]`, `[backends.lambda]`, `[backends.kms]`."""
    result = {}
    for service, table in tables.items():
        where = f"backends.{service}"
        for key, value in table.items():
            expected = _BACKEND_KEYS.get(key)
            if expected is None:
                raise ConfigError(path, f"{where}.{key}", "unknown key")
            if not isinstance(value, expected) or isinstance(value, bool):
                raise ConfigError(path, f"{where}.{key}", f"has the wrong type ({value!r})")
        kind = table.get("kind", "local")
        if kind not in ("local", "aws"):
            raise ConfigError(path, f"{where}.kind", f"must be 'local' or 'aws', not {kind!r}")
        endpoint = table.get("endpoint_url")
        if endpoint is not None and not re.match(r"^https?://[^/\s]+", endpoint):
            raise ConfigError(path, f"{where}.endpoint_url", f"not an http(s) URL: {endpoint!r}")
        region = table.get("region")
        if region is not None and not _REGION.match(region):
            raise ConfigError(path, f"{where}.region", f"not an AWS Region: {region!r}")
        key_id, secret = table.get("access_key_id"), table.get("secret_access_key")
        if bool(key_id) != bool(secret):
            missing = "secret_access_key" if key_id else "access_key_id"
            raise ConfigError(path, f"{where}.{missing}", "access keys go in pairs")
        if table.get("session_token") and not key_id:
            raise ConfigError(path, f"{where}.session_token", "needs access_key_id too")
        if table.get("profile") and key_id:
            raise ConfigError(path, f"{where}.profile", "give a profile or keys, not both")
        for key in ("connect_timeout", "read_timeout", "max_attempts"):
            if key in table and not table[key] > 0:
                raise ConfigError(path, f"{where}.{key}", "must be positive")
        result[service] = BackendSettings(
            **{k: float(v) if k.endswith("timeout") else v for k, v in table.items()}
        )
    return result


def _subscribers(path: Path, table: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    result = {}
    for arn, urls in table.items():
        key = f"sns.subscriptions.{arn}"
        if not arn.startswith("arn:aws:sns:"):
            raise ConfigError(path, key, "not an SNS topic ARN")
        if not isinstance(urls, list) or not all(
            isinstance(u, str) and u.startswith(("http://", "https://")) for u in urls
        ):
            raise ConfigError(path, key, "must be a list of http(s) URLs")
        result[arn] = tuple(urls)
    return result


def load_handler(spec: Any, base: Path, path: Path, key: str) -> Callable[[Any, Any], Any]:
    """`package.module:function` or `file.py:function` (relative to the config file).

    This is the only configured code the engine runs: the Lambda handlers a user names.
    """
    if not isinstance(spec, str) or ":" not in spec:
        raise ConfigError(path, key, "expected 'module:function' or 'file.py:function'")
    target, _, name = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            file = (base / target).resolve()
            module_name = f"inbound_handler_{abs(hash(str(file)))}"
            loader_spec = importlib.util.spec_from_file_location(module_name, file)
            if loader_spec is None or loader_spec.loader is None or not file.exists():
                raise ImportError(f"no such file: {file}")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[module_name] = module
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
        handler = getattr(module, name)
    except Exception as exc:
        raise ConfigError(path, key, f"cannot load handler {spec!r}: {exc}") from None
    if not callable(handler):
        raise ConfigError(path, key, f"{spec!r} is not callable")
    return handler  # type: ignore[no-any-return]


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
