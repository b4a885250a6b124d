"""`[identities]` and `[dns]`: the verified identities, how identities are verified, and
where DNS records come from."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inbound.config.section import Key, Section, toml
from inbound.config.values import Address, address, choice, seconds

if TYPE_CHECKING:
    from inbound.dns.zone import Zone


def _identities(values: list[Any], at: Key) -> frozenset[str]:
    for value in values:
        if not isinstance(value, str) or not value or value.startswith(".") or " " in value:
            raise at.error(f"not an email address or domain: {value!r}")
    return frozenset(v.lower() for v in values)


def _resolver(value: str, at: Key) -> Address:
    resolver = address(value, at)
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


@dataclass(frozen=True)
class IdentitySettings(Section):
    """`[identities]` (docs/identities.md): `verified` seeds the receipt state's identities;
    "auto" verifies API identities at once, "dns" asks `identity_resolver` for SES's
    TXT/CNAME/MX records, on demand and every check interval."""

    verified: frozenset[str] = field(default=frozenset(), metadata=toml(list, _identities))
    identity_verification: str = field(
        default="auto", metadata=toml(str, choice("auto", "dns"), key="verification")
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

    source: str = field(default="zone", metadata=toml(str, choice("zone", "system", "resolver")))
    zone: Zone | None = field(default=None, repr=False, metadata=toml(str, _zone))
    resolver: Address | None = field(default=None, metadata=toml(str, _resolver))
    # seconds a resolver may take to answer one question
    timeout: float = field(default=2.0, metadata=toml((int, float), seconds))

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
