"""`inbound.toml` (and the rules file it names) → `Settings`: the schema checked first, then
the environment's overrides, each section's values, and the checks across sections."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inbound import model
from inbound.config.backends import BACKEND_SERVICES, STRICT, BackendSettings
from inbound.config.environment import from_environment
from inbound.config.identities import DnsSettings
from inbound.config.limits import LimitSettings
from inbound.config.receiving import RetrySettings, ScanningSettings, verdict_overrides
from inbound.config.relay import RelaySettings
from inbound.config.section import Key
from inbound.config.sending import SendingSettings
from inbound.config.settings import NESTED, SERVER_WIDE, Settings
from inbound.config.store import StoreSettings
from inbound.errors import ConfigError
from inbound.rules.codec import load_rules


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
    for name, section in SERVER_WIDE.items():
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
        verdicts=verdict_overrides(raw.get("verdicts", {}), Key(path, "verdicts")),
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
    sections = {**SERVER_WIDE, **NESTED}
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
