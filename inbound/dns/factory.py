"""The configured DNS source (`[dns]`, inbound/dns/__init__.py)."""

from __future__ import annotations

from inbound.config import DnsSettings
from inbound.dns import DnsSource


def open_source(settings: DnsSettings) -> DnsSource:
    """The source `[dns]` names: its zone (loaded with the config), or a resolver. Each
    source's module (dnspython's zone or resolver side) loads only when it is the one named."""
    if settings.zone is not None:
        from inbound.dns.zone import ZoneSource

        return ZoneSource(settings.zone)
    from inbound.dns.resolver import ResolverSource

    return ResolverSource.configured(settings.resolver, settings.timeout)
