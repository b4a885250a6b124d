"""A zone file in memory: the `[dns] source = "zone"` DNS of inbound/dns/__init__.py.

The file is standard master-file syntax (RFC 1035 §5), read by dnspython with the root as
origin, so one file may hold any number of domains (absolute names, or `$ORIGIN` blocks).
It is the whole DNS world: a name it does not hold does not exist. Each (name, type) answer is
built once when the file is loaded; a lookup is a dict access, cheap enough to make on the
event loop for every message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.zone

from inbound.dns import Answer

MAX_CNAME_HOPS = 8  # a chain longer than this (or a loop) is a temporary failure, as in BIND


class ZoneError(ValueError):
    """The zone file cannot be read or parsed; the message says where and why."""


def value(rdata: dns.rdata.Rdata) -> str:
    """One record as the source interface gives it (inbound/dns/__init__.py)."""
    strings = getattr(rdata, "strings", None)
    if strings is not None:  # TXT, SPF
        return b"".join(strings).decode("utf-8", "replace")
    for attribute in ("address", "exchange", "target"):  # A/AAAA, MX, CNAME/PTR/NS
        found = getattr(rdata, attribute, None)
        if found is not None:
            return str(found).rstrip(".").lower() if attribute != "address" else str(found)
    return str(rdata.to_text())


def key(name: str) -> str:
    return name.rstrip(".").lower()


@dataclass(frozen=True)
class Zone:
    """(name, type) → the records, as loaded from a zone file."""

    records: Mapping[tuple[str, str], tuple[str, ...]]

    @classmethod
    def from_text(cls, text: str, filename: str = "<zone>") -> Zone:
        try:
            zone = dns.zone.from_text(
                text,
                origin=dns.name.root,
                relativize=False,
                check_origin=False,
                filename=filename,
            )
        except dns.exception.DNSException as exc:  # dns.exception.SyntaxError names the line
            raise ZoneError(str(exc) or type(exc).__name__) from None
        records = {}
        for name, node in zone.nodes.items():
            for rdataset in node.rdatasets:
                rdtype = dns.rdatatype.to_text(rdataset.rdtype)
                records[(key(name.to_text()), rdtype)] = tuple(value(r) for r in rdataset)
        return cls(MappingProxyType(records))

    @classmethod
    def load(cls, path: Path) -> Zone:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ZoneError(f"cannot read {path}: {exc}") from None
        return cls.from_text(text, str(path))

    def lookup(self, name: str, rdtype: str) -> Answer:
        name, rdtype = key(name), rdtype.upper()
        for _ in range(MAX_CNAME_HOPS + 1):
            found = self.records.get((name, rdtype))
            if found is not None:
                return list(found)
            alias = self.records.get((name, "CNAME"))
            if alias is None or rdtype == "CNAME":
                return []
            name = alias[0]
        return None


class ZoneSource:
    """A `DnsSource` answering from a `Zone`, without any I/O."""

    blocking = False
    fixed = True  # loaded once, at start-up

    def __init__(self, zone: Zone) -> None:
        self.zone = zone

    def lookup(self, name: str, rdtype: str) -> Answer:
        return self.zone.lookup(name, rdtype)

    async def records(self, name: str, rdtype: str) -> Answer:
        return self.zone.lookup(name, rdtype)
