"""SPF and DMARC as rule actions see them: real SMTP (smtplib) into an S3 and an SNS action, the
headers SES prepends and the `receipt` verdicts, on a zone and on a resolver."""

from __future__ import annotations

import email

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound import config
from inbound.dns.zone import Zone, ZoneSource
from inbound.receiving.authentication import DnsAuthenticator
from inbound.receiving.verdicts import AuthInput, Status
from tests.api.test_identities import FakeDns
from tests.rulesets import message, rule, rules, s3, sns

ZONE = """\
$TTL 300
sender.test.         TXT "v=spf1 ip4:127.0.0.0/8 -all"
_dmarc.sender.test.  TXT "v=DMARC1; p=reject"
forged.test.         TXT "v=spf1 -all"
_dmarc.forged.test.  TXT "v=DMARC1; p=quarantine"
"""

SPF_PASS = (
    "pass (spfCheck: domain of sender.test designates 127.0.0.1 as permitted sender) "
    "client-ip=127.0.0.1; envelope-from=bob@sender.test; helo=client.test;"
)
SPF_FAIL = (
    "fail (spfCheck: domain of forged.test does not designate 127.0.0.1 as permitted sender) "
    "client-ip=127.0.0.1; envelope-from=x@forged.test; helo=client.test;"
)

CASES = [
    # (MAIL FROM, From, Received-SPF, dmarc clause, verdicts, dmarcPolicy)
    ("bob@sender.test", "Bob <bob@sender.test>", SPF_PASS, "dmarc=pass header.from=sender.test;",
     ("PASS", "GRAY", "PASS"), None),
    ("x@forged.test", "x@forged.test", SPF_FAIL, "dmarc=fail header.from=forged.test;",
     ("FAIL", "GRAY", "FAIL"), "quarantine"),
    ("bob@sender.test", "CEO <ceo@forged.test>", SPF_PASS, "dmarc=fail header.from=forged.test;",
     ("PASS", "GRAY", "FAIL"), "quarantine"),
]  # fmt: skip


def received(server, mail_from: str, sender: str):
    server.send(mail_from, ["user@example.com"], message(sender=sender))
    [note] = server.notifications()
    [entry] = server.messages()
    stored = server.get(f"/api/s3/bucket/in/{entry['messageId']}")
    return note["message"], email.message_from_bytes(stored)


@pytest.mark.parametrize(
    ("mail_from", "sender", "received_spf", "dmarc", "verdicts", "policy"),
    CASES,
    ids=["aligned-pass", "spf-fail", "unaligned-from"],
)
def test_headers_and_receipt(
    inbound_factory, mail_from, sender, received_spf, dmarc, verdicts, policy
) -> None:
    server = inbound_factory(
        rules(rule("r", s3("bucket", "in/"), sns())),
        dns=config.DnsSettings(zone=Zone.from_text(ZONE)),
    )
    note, stored = received(server, mail_from, sender)
    assert stored["Received-SPF"] == received_spf
    assert stored["Authentication-Results"] == f"amazonses.com; spf={received_spf} {dmarc}"
    headers = {h["name"]: h["value"] for h in note["mail"]["headers"]}
    assert headers["Received-SPF"] == received_spf
    assert headers["Authentication-Results"] == stored["Authentication-Results"]
    receipt = note["receipt"]
    found = tuple(receipt[k]["status"] for k in ("spfVerdict", "dkimVerdict", "dmarcVerdict"))
    assert found == verdicts
    assert receipt.get("dmarcPolicy") == policy
    assert ("dmarcPolicy" in receipt) == (policy is not None)


def test_a_resolver_source_is_asked_off_the_event_loop(inbound_factory) -> None:
    fake = FakeDns()
    try:
        fake.add("sender.test", "TXT", '"v=spf1 ip4:127.0.0.1 -all"')
        fake.add("_dmarc.sender.test", "TXT", '"v=DMARC1; p=reject"')
        server = inbound_factory(
            rules(rule("r", s3("bucket", "in/"), sns())),
            dns=config.DnsSettings.at_resolver(config.Address("127.0.0.1", fake.port)),
        )
        assert server.server.dns is not None and server.server.dns.blocking
        note, stored = received(server, "bob@sender.test", "bob@sender.test")
        assert stored["Received-SPF"] == SPF_PASS
        assert note["receipt"]["dmarcVerdict"] == {"status": "PASS"}
    finally:
        fake.close()


def test_without_dns_nothing_is_claimed(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", s3("bucket", "in/"), sns())))
    note, stored = received(server, "bob@sender.test", "bob@sender.test")
    assert stored["Received-SPF"].startswith(
        "temperror (spfCheck: SPF evaluation requires DNS, which is not configured)"
    )
    assert note["receipt"]["spfVerdict"] == {"status": "PROCESSING_FAILED"}


AUTH_ZONE = Zone(
    {
        ("any.test", "TXT"): ("v=spf1 a mx ptr exists:%{l}.%{d} include:%{h} -all",),
        ("_dmarc.any.test", "TXT"): ("v=DMARC1; p=reject",),
    }
)
TEXT = st.text(max_size=40)


@given(
    ip=st.one_of(TEXT, st.ip_addresses().map(str)),
    mail_from=st.one_of(TEXT, TEXT.map("{}@any.test".format), TEXT.map("a@".__add__)),
    helo=TEXT,
    sender=st.one_of(TEXT, TEXT.map("a@{}".format)),
)
@settings(max_examples=300, deadline=None)
def test_any_envelope_gets_verdicts(ip: str, mail_from: str, helo: str, sender: str) -> None:
    """Whatever the client sent (an empty or odd HELO, MAIL FROM, From; a message that came in
    without a client IP), SPF and DMARC give a result and never raise into the pipeline."""
    result = DnsAuthenticator(ZoneSource(AUTH_ZONE)).evaluate(
        AuthInput(client_ip=ip, helo=helo, mail_from=mail_from, headers=[("From", sender)])
    )
    assert result.spf in Status and result.dmarc in Status
