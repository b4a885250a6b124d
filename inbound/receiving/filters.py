"""Receipt IP filters: the first decision for every RCPT (spec receiving.md §2).

Allow beats Block whatever the prefix lengths: AWS's own recipe (block 0.0.0.0/0, allow the
trusted ranges) only works that way. IPv4 and IPv6 networks are kept apart, so a v4 client is
never compared with a v6 range. The SES-maintained block list is not simulated.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable

from inbound.model import FilterPolicy, ReceiptFilter

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
CACHE_SIZE = 4096


class FilterVerdict(enum.Enum):
    ALLOWED = "allowed"  # matched an Allow filter
    BLOCKED = "blocked"  # matched a Block filter and no Allow filter
    UNLISTED = "unlisted"  # matched no filter: mail goes through


class IpFilterTable:
    """The account's filters compiled to networks once, consulted for every RCPT."""

    def __init__(self, filters: Iterable[ReceiptFilter]) -> None:
        self._allow: list[IpNetwork] = []
        self._block: list[IpNetwork] = []
        self._cache: dict[str, FilterVerdict] = {}
        for f in filters:
            network = ipaddress.ip_network(f.ip_filter.cidr, strict=False)
            (self._allow if f.ip_filter.policy is FilterPolicy.ALLOW else self._block).append(
                network
            )

    def verdict(self, ip: str) -> FilterVerdict:
        """Cached per client address: a session asks once per RCPT (bounded, for many peers)."""
        found = self._cache.get(ip)
        if found is None:
            found = self._verdict(ip)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[ip] = found
        return found

    def _verdict(self, ip: str) -> FilterVerdict:
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            address = None  # not an IP (e.g. a Unix socket peer): no filter can match it
        if address is None:
            return FilterVerdict.UNLISTED
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # a v4 client seen through a dual-stack socket
        if any(address in n for n in self._allow if n.version == address.version):
            return FilterVerdict.ALLOWED
        if any(address in n for n in self._block if n.version == address.version):
            return FilterVerdict.BLOCKED
        return FilterVerdict.UNLISTED
