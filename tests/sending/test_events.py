"""The event records and identity notifications, field by field against the SES Developer
Guide's descriptions and examples: "Contents of / Examples of event data that Amazon SES
publishes to Amazon SNS" (the Firehose pages show the same records) and "Amazon SNS notification
contents / examples for Amazon SES". Same field names, same nesting, same value formats; the
values are ours.

aws-lambda-powertools has models for SES *receiving* events only (its `SesModel`), none for
sending events or feedback notifications, so these tables are the reference.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.sending.events import (
    Bounce,
    BouncedRecipient,
    Click,
    Complaint,
    DelayedRecipient,
    Delivery,
    DeliveryDelay,
    Event,
    EventType,
    FeedbackReport,
    Open,
    Reject,
    RenderingFailure,
    Send,
    SentMail,
    Subscription,
    TopicPreferences,
    identity_notification,
)

SENT = datetime(2026, 3, 5, 0, 40, 2, 12000, tzinfo=UTC)
LATER = SENT + timedelta(seconds=60, milliseconds=657)
MESSAGE_ID = "0100018e0b4f9a2c-3d1e7b52-6a0f-4c8e-9b31-5f2d8e7a1c04-000000"
HEADERS = (
    ("From", "Sender Name <sender@example.com>"),
    ("To", "recipient@example.com"),
    ("Subject", "Message sent through inbound"),
    ("MIME-Version", "1.0"),
    ("Content-Type", 'multipart/alternative; boundary="b1"'),
    ("X-SES-MESSAGE-TAGS", "campaign=book, genre=sci-fi"),
)
MAIL = SentMail(
    message_id=MESSAGE_ID,
    timestamp=SENT,
    source="Sender Name <sender@example.com>",
    source_arn="arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
    sending_account_id="123456789012",
    destination=("recipient@example.com",),
    headers=HEADERS,
    source_ip="192.0.2.10",
    caller_identity="ses_user",
    configuration_set="ConfigSet",
    tags=(("campaign", "book"), ("genre", "sci-fi")),
)
# The v1 model's EventType enum; deliveryDelay and subscription are SES API v2's only.
V1_TYPES = (
    "send",
    "reject",
    "bounce",
    "complaint",
    "delivery",
    "open",
    "click",
    "renderingFailure",
)
WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

# "mail object" of "Contents of event data that Amazon SES publishes to Amazon SNS"
EVENT_MAIL_KEYS = [
    "timestamp",
    "source",
    "sourceArn",
    "sendingAccountId",
    "messageId",
    "destination",
    "headersTruncated",
    "headers",
    "commonHeaders",
    "tags",
]
AUTO_TAGS = {
    "ses:configuration-set": ["ConfigSet"],
    "ses:source-ip": ["192.0.2.10"],
    "ses:from-domain": ["example.com"],
    "ses:caller-identity": ["ses_user"],
}
CUSTOM_TAGS = {"campaign": ["book"], "genre": ["sci-fi"]}
PREFERENCES = TopicPreferences(True, (("Newsletter", "OptOut"),))

# (outcome, the record's key for it, the object as the "Examples" page writes it)
OUTCOMES = [
    (Send(), "send", {}),
    (Reject(), "reject", {"reason": "Bad content"}),
    (
        Bounce(
            "Permanent",
            "General",
            (
                BouncedRecipient(
                    "recipient@example.com", "failed", "5.1.1", "smtp; 550 5.1.1 user unknown"
                ),
            ),
            LATER,
            "0100018e0b4fa0b1-2c8d1e47-1b9a-4d3f-8e2a-7c6b5d4e3f21-000000",
            reporting_mta="dsn; mta.example.com",
            remote_mta_ip="198.51.100.7",
        ),
        "bounce",
        {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "recipient@example.com",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-03-05T00:41:02.669Z",
            "feedbackId": "0100018e0b4fa0b1-2c8d1e47-1b9a-4d3f-8e2a-7c6b5d4e3f21-000000",
            "reportingMTA": "dsn; mta.example.com",
        },
    ),
    (
        Complaint(
            ("recipient@example.com",),
            LATER,
            "feedback-1",
            FeedbackReport("ExampleCorp Feedback Loop (V0.01)", "abuse", LATER),
        ),
        "complaint",
        {
            "complainedRecipients": [{"emailAddress": "recipient@example.com"}],
            "timestamp": "2026-03-05T00:41:02.669Z",
            "feedbackId": "feedback-1",
            "complaintSubType": None,
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-03-05T00:41:02.669Z",
        },
    ),
    (
        Delivery(
            LATER,
            11893,
            ("recipient@example.com",),
            "250 2.6.0 Message received",
            "a8-70.smtp-out.amazonses.com",
            remote_mta_ip="198.51.100.7",
            outgoing_ip="203.0.113.5",
        ),
        "delivery",
        {
            "timestamp": "2026-03-05T00:41:02.669Z",
            "processingTimeMillis": 11893,
            "recipients": ["recipient@example.com"],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
    ),
    (
        DeliveryDelay(
            LATER,
            "TransientCommunicationFailure",
            LATER + timedelta(hours=4),
            (
                DelayedRecipient(
                    "recipient@example.com", "4.4.1", "smtp; 421 4.4.1 Unable to connect"
                ),
            ),
        ),
        "deliveryDelay",
        {
            "timestamp": "2026-03-05T00:41:02.669Z",
            "delayType": "TransientCommunicationFailure",
            "expirationTime": "2026-03-05T04:41:02.669Z",
            "delayedRecipients": [
                {
                    "emailAddress": "recipient@example.com",
                    "status": "4.4.1",
                    "diagnosticCode": "smtp; 421 4.4.1 Unable to connect",
                }
            ],
        },
    ),
    (
        RenderingFailure("MyTemplate", "Attribute 'name' is not present in the rendering data."),
        "failure",
        {
            "errorMessage": "Attribute 'name' is not present in the rendering data.",
            "templateName": "MyTemplate",
        },
    ),
    (
        Open("192.0.2.1", LATER, "Mozilla/5.0 (iPhone)"),
        "open",
        {
            "ipAddress": "192.0.2.1",
            "timestamp": "2026-03-05T00:41:02.669Z",
            "userAgent": "Mozilla/5.0 (iPhone)",
        },
    ),
    (
        Click(
            "192.0.2.1",
            LATER,
            "Mozilla/5.0",
            "https://example.com/offer",
            {"samplekey0": ("samplevalue0",), "samplekey1": ("samplevalue1",)},
        ),
        "click",
        {
            "ipAddress": "192.0.2.1",
            "link": "https://example.com/offer",
            "linkTags": {"samplekey0": ["samplevalue0"], "samplekey1": ["samplevalue1"]},
            "timestamp": "2026-03-05T00:41:02.669Z",
            "userAgent": "Mozilla/5.0",
        },
    ),
    (
        Subscription(
            "ContactListName",
            LATER,
            "UnsubscribeHeader",
            PREFERENCES,
            TopicPreferences(False, (("Newsletter", "OptIn"),)),
        ),
        "subscription",
        {
            "contactList": "ContactListName",
            "timestamp": "2026-03-05T00:41:02.669Z",
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {
                "unsubscribeAll": True,
                "topicSubscriptionStatus": [
                    {"topicName": "Newsletter", "subscriptionStatus": "OptOut"}
                ],
            },
            "oldTopicPreferences": {
                "unsubscribeAll": False,
                "topicSubscriptionStatus": [
                    {"topicName": "Newsletter", "subscriptionStatus": "OptIn"}
                ],
            },
        },
    ),
]


def ids(value: object) -> str | None:
    return type(value).__name__ if not isinstance(value, (str, dict)) else None


@pytest.mark.parametrize(("outcome", "key", "expected"), OUTCOMES, ids=ids)
def test_each_event_record_has_the_documented_shape(outcome, key, expected) -> None:
    record = Event(MAIL, outcome).record()
    assert list(record) == ["eventType", "mail", key]  # "only present if eventType is ..."
    assert record["eventType"] == outcome.TYPE
    assert record[key] == expected
    assert json.loads(json.dumps(record)) == record  # plain JSON values only


@pytest.mark.parametrize(("outcome", "key", "expected"), OUTCOMES, ids=ids)
def test_the_mail_object_of_each_event(outcome, key, expected) -> None:
    mail = Event(MAIL, outcome).record()["mail"]
    if isinstance(outcome, RenderingFailure):  # no message was ever built: no headers
        assert list(mail) == [k for k in EVENT_MAIL_KEYS if k not in ("headers", "commonHeaders")]
        assert mail["headersTruncated"] is False
    else:
        assert list(mail) == EVENT_MAIL_KEYS
        assert mail["headers"] == [{"name": n, "value": v} for n, v in HEADERS]
        assert mail["commonHeaders"] == {
            "from": ["Sender Name <sender@example.com>"],
            "to": ["recipient@example.com"],
            "subject": "Message sent through inbound",
        }
        assert mail["headersTruncated"] is False
    assert mail["timestamp"] == "2026-03-05T00:40:02.012Z"
    assert mail["source"] == "Sender Name <sender@example.com>"
    assert mail["sourceArn"] == "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com"
    assert (mail["sendingAccountId"], mail["messageId"]) == ("123456789012", MESSAGE_ID)
    assert mail["destination"] == ["recipient@example.com"]
    # ses:outgoing-ip is on the Delivery example only
    outgoing = {"ses:outgoing-ip": ["203.0.113.5"]} if isinstance(outcome, Delivery) else {}
    assert mail["tags"] == AUTO_TAGS | outgoing | CUSTOM_TAGS
    assert list(mail["tags"])[:4] == list(AUTO_TAGS)


def test_event_type_names_and_their_matching_names() -> None:
    assert EventType.RENDERING_FAILURE == "Rendering Failure"  # with a space, as SES writes it
    assert {t.matching_name for t in EventType} == {*V1_TYPES, "deliveryDelay", "subscription"}
    assert {o.TYPE for o, _, _ in OUTCOMES} == set(EventType)


def test_timestamps_are_utc_with_milliseconds_and_z() -> None:
    east = timezone(timedelta(hours=9))
    moment = datetime(2026, 3, 5, 9, 40, 2, tzinfo=east)  # 00:40:02 UTC, no fraction
    record = Event(MAIL, Open("192.0.2.1", moment, "UA")).record()
    assert record["open"]["timestamp"] == "2026-03-05T00:40:02.000Z"
    for value in (record["open"]["timestamp"], record["mail"]["timestamp"]):
        assert WIRE_TIME.fullmatch(value)


def test_from_domain_is_the_from_header_address_domain_else_the_source() -> None:
    assert MAIL.from_domain == "example.com"
    other = replace(MAIL, headers=(("From", '"Ops, Team" <ops@Mail.Example.ORG>'),))
    assert other.from_domain == "mail.example.org"
    assert replace(MAIL, headers=()).from_domain == "example.com"


def test_headers_over_10_kb_are_truncated() -> None:
    big = tuple((f"X-Filler-{i}", "x" * 1000) for i in range(12))
    mail = Event(replace(MAIL, headers=HEADERS + big), Send()).record()["mail"]
    assert mail["headersTruncated"] is True
    listed = mail["headers"]
    assert listed[: len(HEADERS)] == [{"name": n, "value": v} for n, v in HEADERS]
    assert sum(len(h["name"]) + len(h["value"]) + 4 for h in listed) <= 10 * 1024
    assert len(listed) < len(HEADERS) + len(big)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "ses-x"]), st.text(min_size=1, max_size=5))))
def test_every_message_tag_value_is_kept_in_order(tags) -> None:
    mail = replace(MAIL, tags=tuple(tags))
    found = Event(mail, Send()).record()["mail"]["tags"]
    for name in {n for n, _ in tags}:
        assert found[name] == [v for n, v in tags if n == name]


# ── identity notifications ──────────────────────────────────────────────────────────────────
NOTIFICATION_MAIL_KEYS = [  # "Mail object" of "Amazon SNS notification contents for Amazon SES"
    "timestamp",
    "messageId",
    "source",
    "sourceArn",
    "sourceIp",
    "sendingAccountId",
    "callerIdentity",
    "destination",
]
HEADER_KEYS = ["headersTruncated", "headers", "commonHeaders"]
NOTIFIED = [o for o, _, _ in OUTCOMES if isinstance(o, (Bounce, Complaint, Delivery))]


@pytest.mark.parametrize("outcome", NOTIFIED, ids=ids)
@pytest.mark.parametrize("with_headers", [False, True], ids=["no-headers", "headers"])
def test_identity_notifications(outcome, with_headers) -> None:
    body = identity_notification(MAIL, outcome, with_headers=with_headers)
    key = outcome.KEY
    assert list(body) == ["notificationType", key, "mail"]
    assert body["notificationType"] == outcome.TYPE
    mail = body["mail"]
    assert list(mail) == NOTIFICATION_MAIL_KEYS + (HEADER_KEYS if with_headers else [])
    assert "tags" not in mail  # "If using feedback notifications directly on the identity,
    # SES does not publish tags."
    assert (mail["sourceIp"], mail["callerIdentity"]) == ("192.0.2.10", "ses_user")
    expected = dict(next(e for o, _, e in OUTCOMES if o is outcome))
    if isinstance(outcome, (Bounce, Delivery)):  # remoteMtaIp: notifications only
        expected["remoteMtaIp"] = "198.51.100.7"
    assert body[key] == expected


def test_a_bounce_without_a_dsn_lists_addresses_only() -> None:
    bounce = Bounce("Permanent", "General", (BouncedRecipient("a@example.com"),), LATER, "f")
    body = identity_notification(MAIL, bounce, with_headers=False)["bounce"]
    assert body["bouncedRecipients"] == [{"emailAddress": "a@example.com"}]
    assert "reportingMTA" not in body and "remoteMtaIp" not in body
