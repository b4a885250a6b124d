"""The configured DNS source (`[dns]`, inbound/dns/__init__.py)."""

from __future__ import annotations

from inbound.config import DnsSettings
from inbound.dns import DnsSource
from inbound.dns.resolver import ResolverSource
from inbound.dns.zone import ZoneSource


def open_source(settings: DnsSettings) -> DnsSource:
    """The source `[dns]` names: its zone (loaded with the config), or a resolver."""
    if settings.zone is not None:
        return ZoneSource(settings.zone)
    return ResolverSource.configured(settings.resolver, settings.timeout)
