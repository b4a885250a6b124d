"""Where DNS records come from: one source per server, chosen by `[dns]` (docs/authentication.md).

Everything that asks DNS (identity verification, SPF, DKIM keys, DMARC policies) asks a
`DnsSource`, so a test's zone file, a lab's resolver or the system's decides every answer:

* `await source.records(name, rdtype)` from coroutines, and
* `source.lookup(name, rdtype)` from synchronous code (pyspf's and dkimpy's DNS hooks).
  A zone source answers from memory; a resolver source blocks for the network round trip,
  so its `blocking` is true and callers on the event loop run such work in a thread.
  A zone's answers are `fixed`: what is computed from them alone may be cached.

Both answer a list of strings, or None:

* `None`: the question could not be answered (timeout, SERVFAIL, refused): a temporary
  failure (SES's TemporaryFailure, SPF's temperror);
* `[]`: the name does not exist or has no record of that type;
* otherwise one string per record: TXT strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2) and
  decoded as UTF-8; A/AAAA the address; MX, CNAME, PTR, NS the target host, lower case, without
  the final dot. CNAMEs are followed for the other types, as a resolver does.

`name` is any case, with or without the final dot. `rdtype` is the type's name ("TXT").
`inbound.dns.factory.open_source` builds the configured source.
"""

from __future__ import annotations

from typing import Protocol

Answer = list[str] | None


class DnsSource(Protocol):
    blocking: bool  # whether `lookup` waits for the network
    fixed: bool  # whether answers never change while the server runs (results may be kept)

    def lookup(self, name: str, rdtype: str) -> Answer: ...

    async def records(self, name: str, rdtype: str) -> Answer: ...
