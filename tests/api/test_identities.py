"""The 21 identity operations through a real boto3 client; verification in both modes.

DNS mode runs against a real DNS server on 127.0.0.1 (an ephemeral UDP port): `FakeDns` below,
built on dnspython's own message classes, answers from a dict the test edits, so a test can
publish the `_amazonses` TXT record or the DKIM CNAMEs halfway through.
"""

from __future__ import annotations

import json
import re
import smtplib
import socketserver
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from botocore.exceptions import ClientError

from inbound import config
from inbound.errors import ConfigError
from inbound.identities import rules as ident
from tests.rulesets import TOPIC, rule, rules

CATCH_ALL = rules(rule("catch-all"))  # empty Recipients: every verified domain
MAIL = "From: a@sender.test\r\nTo: x@y\r\nSubject: hi\r\n\r\nhello\r\n"
POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            }
        ],
    }
)


def error(call, *args, **kwargs) -> dict:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value.response["Error"]


def accepted(server, recipient: str) -> bool:
    try:
        server.send("a@sender.test", [recipient], MAIL)
    except smtplib.SMTPRecipientsRefused:
        return False
    return True


@pytest.fixture
def server(inbound_factory):
    return inbound_factory(CATCH_ALL, verified=["example.com"])


@pytest.fixture
def ses(server):
    return server.ses()


# ── verification, listing, deleting (auto mode) ────────────────────────────────────────────
def test_verify_list_and_attributes(ses) -> None:
    ses.verify_email_identity(EmailAddress="User@Mail.test")
    ses.verify_email_address(EmailAddress="user@mail.test")  # case-sensitive: a second one
    token = ses.verify_domain_identity(Domain="Mail.TEST.")["VerificationToken"]
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", token)
    assert ses.verify_domain_identity(Domain="mail.test")["VerificationToken"] == token
    listed = ses.list_identities()["Identities"]
    assert listed == ["User@Mail.test", "example.com", "mail.test", "user@mail.test"]
    assert ses.list_identities(IdentityType="Domain")["Identities"] == ["example.com", "mail.test"]
    assert ses.list_identities(IdentityType="EmailAddress")["Identities"] == [
        "User@Mail.test",
        "user@mail.test",
    ]
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == [
        "User@Mail.test",
        "user@mail.test",
    ]
    attributes = ses.get_identity_verification_attributes(
        Identities=["MAIL.test", "User@Mail.test", "nobody@mail.test", "example.com", "no.test"]
    )["VerificationAttributes"]
    assert attributes == {
        "MAIL.test": {"VerificationStatus": "Success", "VerificationToken": token},
        "User@Mail.test": {"VerificationStatus": "Success"},
        "example.com": {"VerificationStatus": "Success"},  # configured
    }
    unknown = ses.get_identity_verification_attributes(Identities=["no.test"])
    assert unknown["VerificationAttributes"] == {}
    ses.get_waiter("identity_exists").wait(Identities=["mail.test"])


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        ("verify_email_identity", {"EmailAddress": "no-at-sign"}),
        ("verify_email_identity", {"EmailAddress": "two words@example.com"}),
        ("verify_email_address", {"EmailAddress": "a@-bad-.test"}),
        ("verify_domain_identity", {"Domain": "localhost"}),
        ("verify_domain_identity", {"Domain": "under_score.test"}),
        ("verify_domain_identity", {"Domain": "a@b.test"}),
        ("verify_domain_dkim", {"Domain": "bad..test"}),
    ],
    ids=["no-at", "space", "bad-domain", "single-label", "underscore", "address", "empty-label"],
)
def test_invalid_names(ses, operation: str, kwargs: dict[str, str]) -> None:
    assert error(getattr(ses, operation), **kwargs)["Code"] == "InvalidParameterValue"


def test_list_identities_pages(ses) -> None:
    for i in range(23):
        ses.verify_domain_identity(Domain=f"d{i:02d}.test")
    ses.verify_email_identity(EmailAddress="someone@d00.test")
    seen, token, pages = [], None, 0
    while True:
        page = ses.list_identities(IdentityType="Domain", MaxItems=10, **token or {})
        seen += page["Identities"]
        pages += 1
        if "NextToken" not in page:
            break
        token = {"NextToken": page["NextToken"]}
    assert pages == 3 and seen == sorted([f"d{i:02d}.test" for i in range(23)] + ["example.com"])
    everything = [
        i
        for p in ses.get_paginator("list_identities").paginate(PaginationConfig={"PageSize": 7})
        for i in p["Identities"]
    ]
    assert len(everything) == 25 and "someone@d00.test" in everything
    # a deletion between pages does not skip or repeat anything
    first = ses.list_identities(MaxItems=5)
    ses.delete_identity(Identity=first["Identities"][-1])
    rest = ses.list_identities(NextToken=first["NextToken"])["Identities"]
    assert rest[0] == everything[5] and len(first["Identities"]) + len(rest) == 25
    for bad in (0, 1001):
        assert error(ses.list_identities, MaxItems=bad)["Code"] == "InvalidParameterValue"
    assert error(ses.list_identities, NextToken="%%%")["Code"] == "InvalidParameterValue"


def test_delete_identity(ses) -> None:
    ses.verify_email_identity(EmailAddress="a@mail.test")
    ses.verify_domain_identity(Domain="mail.test")
    ses.delete_identity(Identity="MAIL.test")
    ses.delete_identity(Identity="never.test")  # unknown: succeeds
    ses.delete_verified_email_address(EmailAddress="a@mail.test")
    ses.delete_verified_email_address(EmailAddress="a@mail.test")
    assert ses.list_identities()["Identities"] == ["example.com"]
    # configured identities stay verified; what the API set on them goes
    ses.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=True)
    ses.put_identity_policy(Identity="example.com", PolicyName="p", Policy=POLICY)
    ses.delete_identity(Identity="example.com")
    assert ses.list_identities()["Identities"] == ["example.com"]
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == []


# ── DKIM ────────────────────────────────────────────────────────────────────────────────────
def test_dkim(ses) -> None:
    tokens = ses.verify_domain_dkim(Domain="mail.test")["DkimTokens"]
    assert len(tokens) == 3 and all(re.fullmatch(r"[a-z0-9]{32}", t) for t in tokens)
    assert ses.verify_domain_dkim(Domain="MAIL.test")["DkimTokens"] == tokens
    assert "mail.test" in ses.list_identities()["Identities"]  # created with its DKIM
    ses.verify_email_identity(EmailAddress="a@mail.test")
    ses.verify_domain_identity(Domain="plain.test")
    found = ses.get_identity_dkim_attributes(
        Identities=["mail.test", "a@mail.test", "plain.test", "gone.test"]
    )["DkimAttributes"]
    assert found == {
        "mail.test": {
            "DkimEnabled": True,
            "DkimVerificationStatus": "Success",
            "DkimTokens": tokens,
        },
        "a@mail.test": {
            "DkimEnabled": True,
            "DkimVerificationStatus": "Success",
            "DkimTokens": tokens,
        },
        "plain.test": {"DkimEnabled": False, "DkimVerificationStatus": "NotStarted"},
    }
    ses.set_identity_dkim_enabled(Identity="a@mail.test", DkimEnabled=False)
    found = ses.get_identity_dkim_attributes(Identities=["a@mail.test", "mail.test"])
    assert [a["DkimEnabled"] for a in found["DkimAttributes"].values()] == [False, True]
    ses.set_identity_dkim_enabled(Identity="plain.test", DkimEnabled=False)
    err = error(ses.set_identity_dkim_enabled, Identity="plain.test", DkimEnabled=True)
    assert err["Code"] == "InvalidParameterValue" and "Easy DKIM" in err["Message"]
    err = error(ses.set_identity_dkim_enabled, Identity="nope.test", DkimEnabled=False)
    assert err == {
        "Type": "Sender",
        "Code": "InvalidParameterValue",
        "Message": "Identity nope.test does not exist.",
    }


# ── MAIL FROM ───────────────────────────────────────────────────────────────────────────────
def test_mail_from_domain(inbound_factory) -> None:
    receiving = rules(rule("r", recipients=["bounce.example.com", "x@in.example.com"]))
    ses = inbound_factory(receiving, verified=["example.com"]).ses()
    ses.verify_email_identity(EmailAddress="me@example.com")
    ses.set_identity_mail_from_domain(
        Identity="example.com",
        MailFromDomain="Mail.Example.com",
        BehaviorOnMXFailure="RejectMessage",
    )
    ses.set_identity_mail_from_domain(Identity="me@example.com", MailFromDomain="m.example.com")
    found = ses.get_identity_mail_from_domain_attributes(
        Identities=["example.com", "me@example.com", "unknown.test"]
    )["MailFromDomainAttributes"]
    assert found == {
        "example.com": {
            "MailFromDomain": "mail.example.com",
            "MailFromDomainStatus": "Success",
            "BehaviorOnMXFailure": "RejectMessage",
        },
        "me@example.com": {
            "MailFromDomain": "m.example.com",
            "MailFromDomainStatus": "Success",
            "BehaviorOnMXFailure": "UseDefaultValue",
        },
    }
    for bad in ("example.com", "other.test", "mail.example.com.evil.test", "bounce.example.com"):
        err = error(ses.set_identity_mail_from_domain, Identity="example.com", MailFromDomain=bad)
        assert err["Code"] == "InvalidParameterValue", bad
    err = error(ses.set_identity_mail_from_domain, Identity="in.example.com")
    assert err["Code"] == "InvalidParameterValue"  # not an identity
    err = error(ses.set_identity_mail_from_domain, Identity="example.com", BehaviorOnMXFailure="X")
    assert err["Code"] == "ValidationError"
    ses.set_identity_mail_from_domain(Identity="example.com")  # no domain: disable
    found = ses.get_identity_mail_from_domain_attributes(Identities=["example.com"])
    assert found["MailFromDomainAttributes"] == {
        "example.com": {"BehaviorOnMXFailure": "UseDefaultValue"}
    }


# ── notifications ───────────────────────────────────────────────────────────────────────────
def test_notifications(ses) -> None:
    ses.verify_domain_identity(Domain="mail.test")
    base = {
        "ForwardingEnabled": True,
        "HeadersInBounceNotificationsEnabled": False,
        "HeadersInComplaintNotificationsEnabled": False,
        "HeadersInDeliveryNotificationsEnabled": False,
    }
    found = ses.get_identity_notification_attributes(Identities=["mail.test", "x.test"])
    assert found["NotificationAttributes"] == {"mail.test": base}
    # forwarding can only be disabled once bounces and complaints go to SNS
    err = error(
        ses.set_identity_feedback_forwarding_enabled, Identity="mail.test", ForwardingEnabled=False
    )
    assert err["Code"] == "InvalidParameterValue"
    for kind in ("Bounce", "Complaint", "Delivery"):
        ses.set_identity_notification_topic(
            Identity="mail.test", NotificationType=kind, SnsTopic=TOPIC
        )
    ses.set_identity_feedback_forwarding_enabled(Identity="mail.test", ForwardingEnabled=False)
    ses.set_identity_headers_in_notifications_enabled(
        Identity="mail.test", NotificationType="Bounce", Enabled=True
    )
    ses.set_identity_notification_topic(Identity="mail.test", NotificationType="Delivery")
    found = ses.get_identity_notification_attributes(Identities=["mail.test"])
    assert found["NotificationAttributes"]["mail.test"] == {
        **base,
        "BounceTopic": TOPIC,
        "ComplaintTopic": TOPIC,
        "ForwardingEnabled": False,
        "HeadersInBounceNotificationsEnabled": True,
    }
    err = error(
        ses.set_identity_notification_topic, Identity="mail.test", NotificationType="Bounce"
    )
    assert err["Code"] == "InvalidParameterValue"  # would leave bounces nowhere
    for topic in ("not-an-arn", TOPIC.replace("us-east-1", "eu-west-1")):
        err = error(
            ses.set_identity_notification_topic,
            Identity="mail.test",
            NotificationType="Complaint",
            SnsTopic=topic,
        )
        assert err["Code"] == "InvalidParameterValue"
    err = error(
        ses.set_identity_headers_in_notifications_enabled,
        Identity="x.test",
        NotificationType="Bounce",
        Enabled=True,
    )
    assert err["Code"] == "InvalidParameterValue"


# ── policies ────────────────────────────────────────────────────────────────────────────────
def test_policies(ses) -> None:
    arn = "arn:aws:ses:us-east-1:123456789012:identity/example.com"
    ses.put_identity_policy(Identity="example.com", PolicyName="send-1", Policy=POLICY)
    ses.put_identity_policy(Identity=arn, PolicyName="Other_2", Policy=POLICY)
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == [
        "Other_2",
        "send-1",
    ]
    got = ses.get_identity_policies(Identity=arn, PolicyNames=["send-1", "missing"])
    assert got["Policies"] == {"send-1": POLICY}
    assert ses.get_identity_policies(Identity="example.com", PolicyNames=["x"])["Policies"] == {}
    ses.delete_identity_policy(Identity="example.com", PolicyName="send-1")
    ses.delete_identity_policy(Identity="example.com", PolicyName="send-1")  # idempotent
    assert ses.list_identity_policies(Identity="example.com")["PolicyNames"] == ["Other_2"]
    err = error(ses.list_identity_policies, Identity="unknown.test")
    assert err["Code"] == "InvalidParameterValue"
    err = error(ses.get_identity_policies, Identity="example.com", PolicyNames=["a"] * 21)
    assert err["Code"] == "InvalidParameterValue"


@pytest.mark.parametrize(
    ("name", "policy", "code"),
    [
        ("p", "{not json", "InvalidPolicy"),
        ("p", "[]", "InvalidPolicy"),
        ("p", json.dumps({"Statement": []}), "InvalidPolicy"),
        ("p", json.dumps({"Version": "2012-10-17", "Statement": []}), "InvalidPolicy"),
        (
            "p",
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}),
            "InvalidPolicy",
        ),
        (
            "p",
            json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow"}}),
            "InvalidPolicy",
        ),
        ("p", POLICY[:-1] + ',"Padding":"' + "x" * 4096 + '"}', "InvalidPolicy"),
        ("bad name", POLICY, "ValidationError"),
        ("p.q", POLICY, "ValidationError"),
        ("x" * 65, POLICY, "ValidationError"),
    ],
    ids=[
        "json",
        "array",
        "version",
        "no-statement",
        "effect",
        "principal",
        "4kb",
        "space",
        "dot",
        "long-name",
    ],
)
def test_invalid_policies(ses, name: str, policy: str, code: str) -> None:
    err = error(ses.put_identity_policy, Identity="example.com", PolicyName=name, Policy=policy)
    assert err["Code"] == code
    if code == "InvalidPolicy":
        with pytest.raises(ses.exceptions.InvalidPolicyException):
            ses.put_identity_policy(Identity="example.com", PolicyName=name, Policy=policy)


# ── receiving: verified domains drive catch-all rules (receiving.md §1.4) ───────────────────
def test_verified_domain_opens_catch_all(server, ses) -> None:
    assert accepted(server, "x@example.com")
    assert not accepted(server, "x@new.test")
    ses.verify_domain_identity(Domain="New.Test")
    assert accepted(server, "x@new.test") and accepted(server, "y@sub.new.test")
    ses.verify_email_identity(EmailAddress="only@other.test")  # addresses do not open a domain
    assert not accepted(server, "only@other.test")
    ses.delete_identity(Identity="new.test")
    assert not accepted(server, "x@new.test")


def test_identities_survive_restart(inbound_factory, tmp_path: Path) -> None:
    data = tmp_path / "kept"
    first = inbound_factory(CATCH_ALL, verified=["example.com"], data_dir=data)
    ses = first.ses()
    token = ses.verify_domain_identity(Domain="kept.test")["VerificationToken"]
    tokens = ses.verify_domain_dkim(Domain="kept.test")["DkimTokens"]
    ses.put_identity_policy(Identity="kept.test", PolicyName="p", Policy=POLICY)
    ses.set_identity_notification_topic(
        Identity="kept.test", NotificationType="Bounce", SnsTopic=TOPIC
    )
    first.stop()
    second = inbound_factory(CATCH_ALL, verified=["example.com"], data_dir=data)
    ses = second.ses()
    assert accepted(second, "x@kept.test")
    attributes = ses.get_identity_verification_attributes(Identities=["kept.test"])
    assert attributes["VerificationAttributes"]["kept.test"]["VerificationToken"] == token
    assert ses.verify_domain_dkim(Domain="kept.test")["DkimTokens"] == tokens
    assert ses.list_identity_policies(Identity="kept.test")["PolicyNames"] == ["p"]
    found = ses.get_identity_notification_attributes(Identities=["kept.test"])
    assert found["NotificationAttributes"]["kept.test"]["BounceTopic"] == TOPIC


# ── DNS mode ────────────────────────────────────────────────────────────────────────────────
class FakeDns:
    """A UDP DNS server on 127.0.0.1: answers from `records`, or SERVFAIL when `failing`."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.failing = False
        fake = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                query = dns.message.from_wire(data)
                response = dns.message.make_response(query)
                question = query.question[0]
                name = question.name.to_text().rstrip(".").lower()
                rdtype = dns.rdatatype.to_text(question.rdtype)
                values = fake.records.get((name, rdtype))
                if fake.failing:
                    response.set_rcode(dns.rcode.SERVFAIL)
                elif values:
                    response.answer.append(
                        dns.rrset.from_text_list(question.name, 60, "IN", rdtype, values)
                    )
                elif not any(n == name for n, _ in fake.records):
                    response.set_rcode(dns.rcode.NXDOMAIN)
                sock.sendto(response.to_wire(), self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def add(self, name: str, rdtype: str, value: str) -> None:
        self.records.setdefault((name, rdtype), []).append(value)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_dns() -> Iterator[FakeDns]:
    server = FakeDns()
    yield server
    server.close()


def dns_server(inbound_factory, fake_dns: FakeDns, interval: float = 3600.0):
    return inbound_factory(
        CATCH_ALL,
        verified=["example.com"],
        identity_verification="dns",
        identity_resolver=config.Address("127.0.0.1", fake_dns.port),
        identity_check_interval=interval,
    )


def status(ses, name: str) -> str:
    found = ses.get_identity_verification_attributes(Identities=[name])
    return found["VerificationAttributes"][name]["VerificationStatus"]


def test_dns_txt_verification(inbound_factory, fake_dns) -> None:
    server = dns_server(inbound_factory, fake_dns)
    ses = server.ses()
    token = ses.verify_domain_identity(Domain="dns.test")["VerificationToken"]
    assert status(ses, "dns.test") == "Pending"
    assert status(ses, "example.com") == "Success"  # configured: always
    assert not accepted(server, "x@dns.test")
    fake_dns.add("_amazonses.dns.test", "TXT", '"some-other-token"')
    assert status(ses, "dns.test") == "Pending"
    err = error(ses.put_identity_policy, Identity="dns.test", PolicyName="p", Policy=POLICY)
    assert err["Code"] == "InvalidParameterValue"  # not verified yet
    fake_dns.add("_amazonses.dns.test", "TXT", f'"{token}"')
    assert status(ses, "dns.test") == "Success"
    assert accepted(server, "x@dns.test")
    ses.put_identity_policy(Identity="dns.test", PolicyName="p", Policy=POLICY)


def test_dns_dkim_verification(inbound_factory, fake_dns) -> None:
    server = dns_server(inbound_factory, fake_dns)
    ses = server.ses()
    tokens = ses.verify_domain_dkim(Domain="dkim.test")["DkimTokens"]

    def dkim() -> str:
        found = ses.get_identity_dkim_attributes(Identities=["dkim.test"])
        return found["DkimAttributes"]["dkim.test"]["DkimVerificationStatus"]

    assert dkim() == "Pending" and status(ses, "dkim.test") == "Pending"
    for token in tokens[:2]:
        fake_dns.add(f"{token}._domainkey.dkim.test", "CNAME", f"{token}.dkim.amazonses.com.")
    assert dkim() == "Pending"
    fake_dns.add(f"{tokens[2]}._domainkey.dkim.test", "CNAME", "elsewhere.test.")
    assert dkim() == "Pending"
    fake_dns.records[(f"{tokens[2]}._domainkey.dkim.test", "CNAME")] = [
        f"{tokens[2]}.dkim.amazonses.com."
    ]
    assert dkim() == "Success"
    assert status(ses, "dkim.test") == "Success"  # "also changes to Success when DKIM verified"
    assert accepted(server, "x@dkim.test")


def test_dns_mail_from_and_temporary_failure(inbound_factory, fake_dns) -> None:
    server = dns_server(inbound_factory, fake_dns)
    ses = server.ses()
    ses.set_identity_mail_from_domain(Identity="example.com", MailFromDomain="bounce.example.com")

    def mail_from() -> str:
        found = ses.get_identity_mail_from_domain_attributes(Identities=["example.com"])
        return found["MailFromDomainAttributes"]["example.com"]["MailFromDomainStatus"]

    assert mail_from() == "Pending"
    fake_dns.add("bounce.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com.")
    assert mail_from() == "Success"
    ses.verify_domain_identity(Domain="flaky.test")
    fake_dns.failing = True
    assert status(ses, "flaky.test") == "TemporaryFailure"
    fake_dns.failing = False
    assert status(ses, "flaky.test") == "Pending"


def test_dns_background_check(inbound_factory, fake_dns) -> None:
    server = dns_server(inbound_factory, fake_dns, interval=0.1)
    token = server.ses().verify_domain_identity(Domain="later.test")["VerificationToken"]
    fake_dns.add("_amazonses.later.test", "TXT", f'"{token}"')
    deadline = time.monotonic() + 5
    while not accepted(server, "x@later.test"):  # no API call: the periodic check did it
        assert time.monotonic() < deadline
        time.sleep(0.05)


def post(server, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(server.api_url + path, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_dns_mode_email_needs_confirmation(inbound_factory, fake_dns) -> None:
    server = dns_server(inbound_factory, fake_dns)
    ses = server.ses()
    ses.verify_email_identity(EmailAddress="Me+x@mail.test")
    assert status(ses, "Me+x@mail.test") == "Pending"
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == []
    assert post(server, "/api/identities/nobody@mail.test/confirm")[0] == 404
    ses.verify_domain_identity(Domain="mail.test")
    assert post(server, "/api/identities/mail.test/confirm")[0] == 400
    code, body = post(server, "/api/identities/Me+x@mail.test/confirm")
    assert (code, body) == (200, {"identity": "Me+x@mail.test", "verificationStatus": "Success"})
    assert status(ses, "Me+x@mail.test") == "Success"
    assert ses.list_verified_email_addresses()["VerifiedEmailAddresses"] == ["Me+x@mail.test"]
    listed = {i["name"]: i["status"] for i in server.get("/api/identities")}
    assert listed == {"Me+x@mail.test": "Success", "mail.test": "Pending", "example.com": "Success"}
    with urllib.request.urlopen(server.api_url + "/api/identities?limit=2") as response:
        first, total = json.loads(response.read()), response.headers["X-Total-Count"]
        assert 'rel="next"' in response.headers["Link"]
    assert (len(first), total) == (2, "3")  # in pages, as every JSON API listing
    assert server.listing("/api/identities") == server.get("/api/identities")


# ── pure rules ──────────────────────────────────────────────────────────────────────────────
NOW = datetime(2026, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "hours_ago", "found", "expected"),
    [
        ("Pending", 1, True, "Success"),
        ("Pending", 1, False, "Pending"),
        ("Pending", 1, None, "TemporaryFailure"),
        ("TemporaryFailure", 1, False, "Pending"),
        ("Pending", 73, False, "Failed"),
        ("Pending", 73, None, "Failed"),
        ("Failed", 1, True, "Failed"),  # only Verify* starts again
        ("Success", 1, False, "Success"),
        ("NotStarted", 1, True, "NotStarted"),
    ],
)
def test_progress(status: str, hours_ago: int, found: bool | None, expected: str) -> None:
    started = (NOW - timedelta(hours=hours_ago)).isoformat()
    assert ident.progress(status, started, found, ident.WINDOWS["Domain"], NOW) == expected


def test_email_link_expires_after_a_day() -> None:
    identity = ident.new_identity("a@b.test", "Pending", NOW - timedelta(hours=25))
    assert ident.email_expired(identity, NOW).status == "Failed"
    assert ident.restarted(ident.email_expired(identity, NOW), "Pending", NOW).status == "Pending"


# ── configuration ───────────────────────────────────────────────────────────────────────────
def write_config(tmp_path: Path, identities: str) -> Path:
    (tmp_path / "rules.json").write_text(json.dumps({"RuleSets": []}))
    path = tmp_path / "inbound.toml"
    path.write_text(f"[identities]\nverified = []\n{identities}")
    return path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('verification = "manual"\n', "identities.verification"),
        ('verification = "dns"\n', "identities.resolver"),
        ('verification = "dns"\nresolver = "dns.test:53"\n', "identities.resolver"),
        ('resolver = "127.0.0.1"\n', "identities.resolver"),
        ("check_interval = 0\n", "identities.check_interval"),
        ('check_interval = "1m"\n', "identities.check_interval"),
        ("verification = true\n", "identities.verification"),
        ("verify = 1\n", "identities.verify"),
    ],
    ids=["mode", "no-resolver", "hostname", "no-port", "zero", "string", "bool", "unknown"],
)
def test_config_errors(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config.load(write_config(tmp_path, text))
    assert raised.value.key == key


def test_config_dns_mode(tmp_path: Path) -> None:
    text = 'verification = "dns"\nresolver = "127.0.0.1:5353"\ncheck_interval = 5\n'
    settings = config.load(write_config(tmp_path, text))
    assert settings.identity_verification == "dns"
    assert settings.identity_resolver == config.Address("127.0.0.1", 5353)
    assert settings.identity_check_interval == 5.0
    default = config.load(write_config(tmp_path, ""))
    assert (default.identity_verification, default.identity_resolver) == ("auto", None)
    assert default.identity_check_interval == 60.0
