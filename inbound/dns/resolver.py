"""A resolver as the DNS source: the system's (`[dns] source = "system"`, /etc/resolv.conf) or
one named `IP:PORT` (`source = "resolver"`), asked with dnspython without search domains.

A named resolver gets every question as it is, without caching, so a test's or a lab's DNS
server decides each answer. See inbound/dns/__init__.py for the answers' shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dns.asyncresolver
import dns.exception
import dns.resolver

from inbound.dns import Answer
from inbound.dns.zone import value
from inbound.errors import ConfigError

if TYPE_CHECKING:
    from inbound.config import Address


class ResolverSource:
    """A `DnsSource` asking a resolver over the network; `lookup` blocks (run it off the loop)."""

    blocking = True
    fixed = False

    def __init__(self, sync: dns.resolver.Resolver, asynchronous: dns.asyncresolver.Resolver):
        self._sync, self._async = sync, asynchronous

    @classmethod
    def configured(cls, address: Address | None, timeout: float) -> ResolverSource:
        """`address`'s resolver, or the system's when None."""
        system = address is None
        try:
            sync = dns.resolver.Resolver(configure=system)
            asynchronous = dns.asyncresolver.Resolver(configure=system)
        except dns.exception.DNSException as exc:  # no /etc/resolv.conf, or no nameserver in it
            raise ConfigError("settings", "dns.source", f"no system resolver: {exc}") from None
        for resolver in (sync, asynchronous):
            if address is not None:
                resolver.nameservers = [address.host]
                resolver.port = address.port
            resolver.lifetime = resolver.timeout = timeout
        return cls(sync, asynchronous)

    def lookup(self, name: str, rdtype: str) -> Answer:
        try:
            answer = self._sync.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.DNSException, OSError):  # timeout, SERVFAIL, port unreachable
            return None
        return _values(answer)

    async def records(self, name: str, rdtype: str) -> Answer:
        try:
            answer = await self._async.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.DNSException, OSError):
            return None
        return _values(answer)


def _values(answer: dns.resolver.Answer) -> list[str]:
    return [] if answer.rrset is None else [value(rdata) for rdata in answer.rrset]
