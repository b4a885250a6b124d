"""Which messages are authenticated off the event loop (docs/authentication.md, "Cost and
caches"): signed mail (OpenSSL's RSA check and the body hash let go of the GIL) and any mail
when lookups wait for the network; unsigned mail against a zone stays on the loop."""

from __future__ import annotations

from inbound.config import Address
from inbound.dns.resolver import ResolverSource
from inbound.headers import SplitMessage
from inbound.receiving.authentication import DnsAuthenticator
from inbound.receiving.verdicts import AuthInput
from tests.api.test_identities import FakeDns
from tests.receiving.authentication.signing import DOMAIN, Keys, message
from tests.receiving.authentication.test_caches import REJECT, SPF_PASS, zone


def auth_input(raw: bytes) -> AuthInput:
    split = SplitMessage.parse(raw)
    return AuthInput("127.0.0.1", "client.test", f"bob@{DOMAIN}", split.headers, split.raw)


def test_with_a_zone_only_signed_mail_goes_to_a_thread(keys: Keys) -> None:
    authenticator = DnsAuthenticator(zone(keys.records["rsa"], SPF_PASS, REJECT))
    unsigned = message(sender=f"bob@{DOMAIN}")
    assert authenticator.threaded(auth_input(keys.sign(unsigned)))
    assert not authenticator.threaded(auth_input(unsigned))
    # a body that only mentions the header is not signed
    assert not authenticator.threaded(auth_input(unsigned + b"DKIM-Signature: v=1\r\n"))


def test_with_a_resolver_all_mail_goes_to_a_thread(fake_dns: FakeDns) -> None:
    source = ResolverSource.configured(Address("127.0.0.1", fake_dns.port), timeout=2)
    assert DnsAuthenticator(source).threaded(auth_input(message(sender=f"bob@{DOMAIN}")))
