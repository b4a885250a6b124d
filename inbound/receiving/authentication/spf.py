"""SPF (RFC 7208): pyspf evaluates the client IP against the MAIL FROM domain (the HELO name when
MAIL FROM is empty) on the server's DNS source; SES's verdict and its `Received-SPF` words.

pyspf has one module-level DNS function, `spf.DNSLookup`, and no per-query hook. It is replaced
once, at import, by `_lookup`, which asks the source that `evaluate` set in a context variable
for the duration of its query, and the original function otherwise (so any other pyspf user in
the process, e.g. a test's independent check, keeps its own resolver). The context variable
follows a query into `asyncio.to_thread`, where a resolver source's evaluation runs.

The header comments are those of Apache James jSPF, whose wording every SES `Received-SPF` shows
(`spfCheck: domain of … designates … as permitted sender`, `spfCheck: Error in processing SPF
Record`; spec receiving.md §5 item 5). Like jSPF, the domain named is the one whose record gave
the result, after `redirect=` (SES writes `domain of _spf.google.com` for gmail.com's mail).
"""

from __future__ import annotations

import contextvars
import ipaddress
from dataclasses import dataclass
from typing import Any

import spf

from inbound.dns import DnsSource
from inbound.receiving.verdicts import Status

# RFC 7208 §4.6.4: at most 10 mechanisms that ask DNS; pyspf enforces it. A query's own time
# limit (§4.6.4's "at least 20 seconds") is pyspf's; each lookup has the source's timeout.
QUERY_SECONDS = 20

# Suggested map of spec receiving.md §6: softfail and permerror OBSERVED, the rest chosen.
VERDICTS = {
    "pass": Status.PASS,
    "fail": Status.FAIL,
    "softfail": Status.GRAY,
    "neutral": Status.GRAY,
    "none": Status.GRAY,
    "temperror": Status.PROCESSING_FAILED,
    "permerror": Status.PROCESSING_FAILED,
}


@dataclass(frozen=True)
class SpfResult:
    status: Status
    result: str  # RFC 7208 §2.6 word, as Received-SPF and Authentication-Results carry it
    explanation: str  # the comment inside `(spfCheck: …)`


def explanation(result: str, domain: str, ip: str) -> str:
    """jSPF's comment for `result` (see the module docstring)."""
    if result == "pass":
        return f"domain of {domain} designates {ip} as permitted sender"
    if result == "fail":
        return f"domain of {domain} does not designate {ip} as permitted sender"
    if result == "softfail":
        return f"transitioning domain of {domain} does not designate {ip} as permitted sender"
    if result == "permerror":
        return "Error in processing SPF Record"
    if result == "temperror":
        return "Error in retrieving data from DNS"
    return f"{ip} is neither permitted nor denied by domain of {domain}"  # neutral, none


_SOURCE: contextvars.ContextVar[DnsSource | None] = contextvars.ContextVar("spf_dns")
_PYSPF_LOOKUP = spf.DNSLookup


def _lookup(name: str, qtype: str, tcpfallback: bool = True, timeout: float = 30) -> list[Any]:
    """pyspf's DNS function on the evaluating query's source: ((name, type), value) pairs, the
    forms pyspf's own dnspython function gives (TXT as a list of byte strings, MX as
    (preference, exchange)); None from the source is pyspf's TempError."""
    source = _SOURCE.get(None)
    if source is None:
        return _PYSPF_LOOKUP(name, qtype, tcpfallback, timeout)  # type: ignore[no-any-return]
    values = source.lookup(name, qtype)
    if values is None:
        raise spf.TempError(f"DNS {qtype} lookup of {name} failed")
    if qtype in ("TXT", "SPF"):
        return [((name, qtype), [v.encode("utf-8")]) for v in values]
    if qtype == "MX":  # pyspf sorts MX names and looks up every one: the order is not used
        return [((name, qtype), (0, v)) for v in values]
    return [((name, qtype), v) for v in values]


spf.DNSLookup = _lookup


class _Query(spf.query):  # type: ignore[misc]
    """A pyspf query that remembers the domain whose record decides: a `redirect=` of the top
    record is evaluated at the same recursion level 0, an `include:` one level down."""

    domain = ""

    def check1(self, record: Any, domain: str, recursion: int) -> Any:
        if recursion == 0:
            self.domain = domain
        return super().check1(record, domain, recursion)


def evaluate(source: DnsSource, client_ip: str, mail_from: str, helo: str) -> SpfResult:
    """RFC 7208 `check_host()` of the MAIL FROM identity (HELO's when MAIL FROM is empty); a
    client address that is not an IP address (pyspf would fail on it) is a permerror."""
    result, domain = "permerror", mail_from.rpartition("@")[2] or helo
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        return SpfResult(VERDICTS[result], result, explanation(result, domain, client_ip))
    token = _SOURCE.set(source)
    try:
        query = _Query(i=client_ip, s=mail_from, h=helo, querytime=QUERY_SECONDS)
        result = query.check()[0]
        domain = query.domain or query.o
    finally:
        _SOURCE.reset(token)
    return SpfResult(VERDICTS[result], result, explanation(result, domain, client_ip))
