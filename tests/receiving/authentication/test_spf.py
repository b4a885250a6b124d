"""SPF through pyspf on a zone (RFC 7208 results, SES's verdicts and jSPF's comments), a
resolver that fails, and pyspf's DNS hook left as it was outside an evaluation."""

from __future__ import annotations

import pytest
import spf as pyspf
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound import config
from inbound.dns.resolver import ResolverSource
from inbound.dns.zone import Zone, ZoneSource
from inbound.receiving.authentication import spf
from inbound.receiving.verdicts import Status
from tests.api.test_identities import FakeDns

ZONE = ZoneSource(
    Zone.from_text(
        """\
$TTL 300
pass.test.          TXT   "v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 -all"
fail.test.          TXT   "v=spf1 -all"
softfail.test.      TXT   "v=spf1 ~all"
neutral.test.       TXT   "v=spf1 ?all"
other.test.         TXT   "not an SPF record"
unknown.test.       TXT   "v=spf1 ip4:192.0.2.1 bogus -all"
badip.test.         TXT   "v=spf1 ip4:192.0.2.300 -all"
two.test.           TXT   "v=spf1 -all"
two.test.           TXT   "v=spf1 +all"
loop.test.          TXT   "v=spf1 include:loop.test -all"
redirect.test.      TXT   "v=spf1 redirect=_spf.pass.test"
_spf.pass.test.     TXT   "v=spf1 ip4:192.0.2.0/24 -all"
include.test.       TXT   "v=spf1 include:_spf.pass.test -all"
mx.test.            TXT   "v=spf1 mx -all"
mx.test.            MX    10 mail.mx.test.
mail.mx.test.       A     192.0.2.7
a.test.             TXT   "v=spf1 a:host.a.test -all"
host.a.test.        A     192.0.2.8
cname.test.         CNAME pass.test.
temp.test.          CNAME temp2.test.
temp2.test.         CNAME temp.test.
helo.test.          TXT   "v=spf1 ip4:192.0.2.9 -all"
"""
    )
)

CASES = [
    # (client ip, MAIL FROM, HELO, result, verdict, comment)
    ("192.0.2.1", "a@pass.test", "h.test", "pass", Status.PASS,
     "domain of pass.test designates 192.0.2.1 as permitted sender"),
    ("2001:db8::1", "a@pass.test", "h.test", "pass", Status.PASS,
     "domain of pass.test designates 2001:db8::1 as permitted sender"),
    ("192.0.2.2", "a@pass.test", "h.test", "fail", Status.FAIL,
     "domain of pass.test does not designate 192.0.2.2 as permitted sender"),
    ("192.0.2.1", "a@fail.test", "h.test", "fail", Status.FAIL,
     "domain of fail.test does not designate 192.0.2.1 as permitted sender"),
    ("192.0.2.1", "a@softfail.test", "h.test", "softfail", Status.GRAY,
     "transitioning domain of softfail.test does not designate 192.0.2.1 as permitted sender"),
    ("192.0.2.1", "a@neutral.test", "h.test", "neutral", Status.GRAY,
     "192.0.2.1 is neither permitted nor denied by domain of neutral.test"),
    ("192.0.2.1", "a@nowhere.test", "h.test", "none", Status.GRAY,
     "192.0.2.1 is neither permitted nor denied by domain of nowhere.test"),
    ("192.0.2.1", "a@other.test", "h.test", "none", Status.GRAY,
     "192.0.2.1 is neither permitted nor denied by domain of other.test"),
    ("192.0.2.1", "a@unknown.test", "h.test", "permerror", Status.PROCESSING_FAILED,
     "Error in processing SPF Record"),
    ("192.0.2.1", "a@badip.test", "h.test", "permerror", Status.PROCESSING_FAILED,
     "Error in processing SPF Record"),
    ("192.0.2.1", "a@two.test", "h.test", "permerror", Status.PROCESSING_FAILED,
     "Error in processing SPF Record"),
    ("192.0.2.1", "a@loop.test", "h.test", "permerror", Status.PROCESSING_FAILED,
     "Error in processing SPF Record"),
    ("192.0.2.1", "a@temp.test", "h.test", "temperror", Status.PROCESSING_FAILED,
     "Error in retrieving data from DNS"),
    ("192.0.2.5", "a@redirect.test", "h.test", "pass", Status.PASS,
     "domain of _spf.pass.test designates 192.0.2.5 as permitted sender"),
    ("192.0.2.5", "a@include.test", "h.test", "pass", Status.PASS,
     "domain of include.test designates 192.0.2.5 as permitted sender"),
    ("198.51.100.1", "a@redirect.test", "h.test", "fail", Status.FAIL,
     "domain of _spf.pass.test does not designate 198.51.100.1 as permitted sender"),
    ("192.0.2.7", "a@mx.test", "h.test", "pass", Status.PASS,
     "domain of mx.test designates 192.0.2.7 as permitted sender"),
    ("192.0.2.8", "a@a.test", "h.test", "pass", Status.PASS,
     "domain of a.test designates 192.0.2.8 as permitted sender"),
    ("192.0.2.1", "a@cname.test", "h.test", "pass", Status.PASS,
     "domain of cname.test designates 192.0.2.1 as permitted sender"),
    ("192.0.2.9", "", "helo.test", "pass", Status.PASS,
     "domain of helo.test designates 192.0.2.9 as permitted sender"),
    ("192.0.2.1", "", "helo.test", "fail", Status.FAIL,
     "domain of helo.test does not designate 192.0.2.1 as permitted sender"),
    ("not-an-ip", "a@pass.test", "h.test", "permerror", Status.PROCESSING_FAILED,
     "Error in processing SPF Record"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ip", "mail_from", "helo", "result", "status", "comment"),
    CASES,
    ids=[f"{c[3]}-{c[1] or c[2]}-{c[0]}" for c in CASES],
)
def test_spf(ip, mail_from, helo, result, status, comment) -> None:
    found = spf.evaluate(ZONE, ip, mail_from, helo)
    assert (found.result, found.status, found.explanation) == (result, status, comment)


def test_a_failing_resolver_is_temperror() -> None:
    fake = FakeDns()
    try:
        fake.add("pass.test", "TXT", '"v=spf1 ip4:192.0.2.1 -all"')
        source = ResolverSource.configured(config.Address("127.0.0.1", fake.port), 2.0)
        assert spf.evaluate(source, "192.0.2.1", "a@pass.test", "h").result == "pass"
        fake.failing = True
        found = spf.evaluate(source, "192.0.2.1", "a@pass.test", "h")
        assert (found.result, found.status) == ("temperror", Status.PROCESSING_FAILED)
    finally:
        fake.close()


def test_pyspf_outside_an_evaluation_keeps_its_own_dns(monkeypatch) -> None:
    """Another pyspf user in the process is not sent to the zone: with no evaluation running,
    the hook calls pyspf's original lookup function."""
    asked = []

    def original(name, qtype, tcpfallback=True, timeout=30):
        asked.append((name, qtype))
        return [((name, qtype), [b"v=spf1 -all"])] if qtype == "TXT" else []

    monkeypatch.setattr(spf, "_PYSPF_LOOKUP", original)
    assert pyspf.check2(i="192.0.2.1", s="a@pass.test", h="h.test")[0] == "fail"
    assert ("pass.test", "TXT") in asked
    assert spf.evaluate(ZONE, "192.0.2.1", "a@pass.test", "h.test").result == "pass"


SPF_TEXT = st.text(
    alphabet=st.sampled_from("v=spf1 -~?+allip4:6/.0123456789abcdefmxptrincludeexistsredirect%{}_"),
    max_size=80,
)


@given(record=SPF_TEXT, ip=st.sampled_from(["192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"]))
@settings(max_examples=300, deadline=None)
def test_any_record_gets_an_spf_result(record: str, ip: str) -> None:
    """Whatever the TXT record says, the result is one of RFC 7208's words and its verdict."""
    source = ZoneSource(Zone({("any.test", "TXT"): ("v=spf1 " + record,)}))
    found = spf.evaluate(source, ip, "a@any.test", "h.test")
    assert found.status is spf.VERDICTS[found.result]
