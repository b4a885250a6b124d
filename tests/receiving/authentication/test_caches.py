"""What the authenticator keeps between messages (docs/authentication.md, "Cost and caches")
never outlives the DNS it was computed from: a zone loaded again with a changed record (a
server restarted on an edited zone file) gives the new verdicts in the same process, and a
resolver's changed answer counts from the next message."""

from __future__ import annotations

from inbound.config import Address
from inbound.dns.resolver import ResolverSource
from inbound.dns.zone import Zone, ZoneSource
from inbound.headers import SplitMessage
from inbound.receiving.authentication import DnsAuthenticator
from inbound.receiving.verdicts import AuthInput, AuthResult, Status
from tests.api.test_identities import FakeDns  # the fake_dns fixture's (conftest.py)
from tests.receiving.authentication.signing import DOMAIN, Keys, message, public_rsa, txt

SPF_PASS = f'{DOMAIN}. TXT "v=spf1 ip4:127.0.0.1 -all"'
SPF_FAIL = f'{DOMAIN}. TXT "v=spf1 -all"'
REJECT = f'_dmarc.{DOMAIN}. TXT "v=DMARC1; p=reject"'
QUARANTINE = f'_dmarc.{DOMAIN}. TXT "v=DMARC1; p=quarantine"'


def evaluate(authenticator: DnsAuthenticator, raw: bytes) -> AuthResult:
    split = SplitMessage.parse(raw)
    return authenticator.evaluate(
        AuthInput("127.0.0.1", "client.test", f"bob@{DOMAIN}", split.headers, split.raw)
    )


def verdicts(result: AuthResult) -> tuple[Status, Status, Status, str | None]:
    return result.spf, result.dkim, result.dmarc, result.dmarc_policy


def zone(key: str, *records: str) -> ZoneSource:
    """`DOMAIN`'s zone with `key` (a DKIM key record) under the selector "rsa"."""
    lines = ["$TTL 300", f"rsa._domainkey.{DOMAIN}. TXT {txt(key)}", *records]
    return ZoneSource(Zone.from_text("\n".join(lines) + "\n"))


def test_a_zone_loaded_again_with_changed_records_changes_every_verdict(keys: Keys) -> None:
    signed = keys.sign(message(sender=f"bob@{DOMAIN}"))
    before = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    for _ in range(2):  # the second time from what the first kept
        assert verdicts(evaluate(before, signed)) == (Status.PASS,) * 3 + (None,)
    # Another key under the same selector, SPF failing, DMARC quarantining: every record the
    # evaluations above read (and kept what they computed from) has changed.
    other_key = f"v=DKIM1; k=rsa; p={public_rsa(keys.other_rsa)}"
    after = DnsAuthenticator(zone(other_key, SPF_FAIL, QUARANTINE))
    assert verdicts(evaluate(after, signed)) == (Status.FAIL,) * 3 + ("quarantine",)
    assert verdicts(evaluate(before, signed)) == (Status.PASS,) * 3 + (None,)  # kept apart


def test_a_resolvers_changed_answer_counts_from_the_next_message(fake_dns: FakeDns) -> None:
    fake_dns.add(DOMAIN, "TXT", '"v=spf1 ip4:127.0.0.1 -all"')
    source = ResolverSource.configured(Address("127.0.0.1", fake_dns.port), timeout=2)
    authenticator = DnsAuthenticator(source)
    raw = message(sender=f"bob@{DOMAIN}")
    assert evaluate(authenticator, raw).spf is Status.PASS
    fake_dns.records[(DOMAIN, "TXT")] = ['"v=spf1 -all"']
    assert evaluate(authenticator, raw).spf is Status.FAIL
