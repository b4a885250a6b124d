"""SendBounce through boto3: SES's checks, and the DSN in the outbox (spec receiving.md §10)."""

from __future__ import annotations

import email
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from inbound import dsn
from tests.rulesets import message, rule, rules

RULES = rules(rule("all"))


@pytest.fixture
def received(inbound_factory):
    server = inbound_factory(RULES, verified=["example.com"])
    server.send("sender@sender.test", ["a@example.com", "b@example.com"], message())
    [record] = server.messages()
    return server, server.ses(), record["messageId"]


def outbox(server) -> list[bytes]:
    server.wait_idle()
    return [server.get(f"/api/outbox/{m['id']}/raw") for m in server.get("/api/outbox")]


def test_bounce_type_and_dsn_fields(received) -> None:
    server, ses, original = received
    answer = ses.send_bounce(
        OriginalMessageId=original,
        BounceSender="mailer-daemon@example.com",
        Explanation="We could not take this message.",
        MessageDsn={
            "ReportingMta": "dns; mx.example.com",
            "ArrivalDate": datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
            "ExtensionFields": [{"Name": "X-Trace", "Value": "abc"}],
        },
        BouncedRecipientInfoList=[
            {"Recipient": "a@example.com", "BounceType": "DoesNotExist"},
            {
                "Recipient": "b@example.com",
                "RecipientDsnFields": {
                    "Action": "delayed",
                    "Status": "4.2.2",
                    "DiagnosticCode": "452 4.2.2 Mailbox full",
                    "RemoteMta": "dns; store.example.com",
                },
            },
        ],
    )
    [raw] = outbox(server)
    [queued] = server.get("/api/outbox")
    assert (queued["mailFrom"], queued["recipients"]) == ("", ["sender@sender.test"])
    parsed = email.message_from_bytes(raw)
    assert parsed["From"] == "mailer-daemon@example.com"
    assert parsed["To"] == "sender@sender.test"
    assert answer["MessageId"] in parsed["Message-ID"]
    assert parsed.get_payload()[0].get_payload().startswith("We could not take this message.")
    report = dsn.parse_dsn(raw)
    assert report.per_message.reporting_mta == "dns; mx.example.com"
    assert ("X-Trace", "abc") in report.per_message.extensions
    first, second = report.recipients
    assert (first.final_recipient, first.status, first.action) == (
        "a@example.com",
        "5.1.1",
        "failed",
    )
    assert first.diagnostic_code == "550 5.1.1 Mailbox does not exist"
    assert (second.action, second.status, second.remote_mta) == (
        "delayed",
        "4.2.2",
        "dns; store.example.com",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"OriginalMessageId": "nope"}, "MessageRejected"),
        ({"BounceSender": "someone@unverified.test"}, "MessageRejected"),
        (
            {
                "BouncedRecipientInfoList": [
                    {"Recipient": "z@example.com", "BounceType": "Undefined"}
                ]
            },
            "MessageRejected",
        ),
        ({"BouncedRecipientInfoList": [{"Recipient": "a@example.com"}]}, "InvalidParameterValue"),
        (
            {
                "BouncedRecipientInfoList": [
                    {
                        "Recipient": "a@example.com",
                        "RecipientDsnFields": {"Action": "failed", "Status": "5.1"},
                    }
                ]
            },
            "InvalidParameterValue",
        ),
    ],
    ids=["unknown-message", "unverified-sender", "not-a-recipient", "no-type", "bad-status"],
)
def test_rejections(received, change, code) -> None:
    server, ses, original = received
    request = {
        "OriginalMessageId": original,
        "BounceSender": "mailer-daemon@example.com",
        "BouncedRecipientInfoList": [{"Recipient": "a@example.com", "BounceType": "Undefined"}],
        **change,
    }
    with pytest.raises(ClientError) as raised:
        ses.send_bounce(**request)
    assert raised.value.response["Error"]["Code"] == code
    if code == "MessageRejected":
        assert type(raised.value).__name__ == "MessageRejected"
    assert outbox(server) == []


def test_a_bounce_is_never_bounced(inbound_factory) -> None:
    server = inbound_factory(RULES, verified=["example.com"])
    server.send("", ["a@example.com"], message())
    [record] = server.messages()
    with pytest.raises(ClientError) as raised:
        server.ses().send_bounce(
            OriginalMessageId=record["messageId"],
            BounceSender="mailer-daemon@example.com",
            BouncedRecipientInfoList=[{"Recipient": "a@example.com", "BounceType": "Undefined"}],
        )
    assert raised.value.response["Error"]["Code"] == "MessageRejected"
