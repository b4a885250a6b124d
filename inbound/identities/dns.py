"""The DNS records SES looks for, asked of the server's DNS source (`[dns]`, inbound/dns/).

`[identities] verification = "dns"` asks the configured source: a zone file, the system's
resolver, or a named one (without caching, search domains or resolv.conf), so a test's zone or
a lab's DNS server decides. A lookup that gets no answer (NXDOMAIN, no record of that type) is
`False`; one that cannot be answered (timeout, SERVFAIL, refused) is `None`, which SES reports
as TemporaryFailure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inbound.dns import DnsSource


@dataclass(frozen=True)
class DnsChecker:
    source: DnsSource

    async def txt_token(self, domain: str, token: str) -> bool | None:
        """Domain verification: "a TXT record with the name `_amazonses.<domain>` and the
        value <token>" (DG, verifying a domain with the legacy TXT method)."""
        values = await self.source.records(f"_amazonses.{domain}", "TXT")
        return None if values is None else token in values

    async def dkim(self, domain: str, tokens: Sequence[str]) -> bool | None:
        """Easy DKIM: three CNAMEs `<token>._domainkey.<domain>` → `<token>.dkim.amazonses.com`;
        SES reports Success once all three are visible."""
        for token in tokens:
            values = await self.source.records(f"{token}._domainkey.{domain}", "CNAME")
            if values is None:
                return None
            if f"{token}.dkim.amazonses.com" not in values:
                return False
        return True

    async def byodkim(self, domain: str, selector: str, public_key: str) -> bool | None:
        """BYODKIM: "a TXT record with the name `<selector>._domainkey.<domain>`" and the value
        `p=<yourPublicKey>` (DG, BYODKIM, step 2); other tags (`v=DKIM1; k=rsa;`) may be
        there too, and whitespace inside the key is ignored (RFC 6376 §3.6.1)."""
        values = await self.source.records(f"{selector}._domainkey.{domain}", "TXT")
        if values is None:
            return None
        return any(_tag(value, "p") == public_key for value in values)

    async def mail_from_mx(self, domain: str, region: str) -> bool | None:
        """Custom MAIL FROM: an MX record `feedback-smtp.<region>.amazonses.com` (DG)."""
        values = await self.source.records(domain, "MX")
        return None if values is None else f"feedback-smtp.{region}.amazonses.com" in values


def _tag(record: str, name: str) -> str | None:
    """The value of tag `name` of a DKIM key record, whitespace removed."""
    for item in record.split(";"):
        key, equals, value = item.partition("=")
        if equals and key.strip() == name:
            return "".join(value.split())
    return None
