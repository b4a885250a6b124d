"""Configuration-set event destinations and identity notifications through a running server:
destinations and topics are set with boto3 through the SES API, events go through
`Feedback` (the entry point sending calls), and what came out is read where a user sees it: an
SNS HTTP subscriber, `/api/notifications`, `/api/metrics`, `/api/firehose`."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from inbound.sending.destinations import matching
from inbound.sending.events import Click, Delivery, Event, RenderingFailure, Send
from inbound.testing import RunningInbound
from tests.sending.test_events import MAIL, OUTCOMES, V1_TYPES
from tests.webhook import Webhook as Subscriber

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-events"
STREAM = "arn:aws:firehose:us-east-1:123456789012:deliverystream/ses-events"
ROLE = "arn:aws:iam::123456789012:role/firehose"
MOMENT = datetime(2026, 3, 5, 1, 2, 3, 456000, tzinfo=UTC)
DELIVERY = next(o for o, _, _ in OUTCOMES if isinstance(o, Delivery))


def destination(name: str, types: list[str], enabled: bool = True, **kind: object) -> dict:
    return {"Name": name, "Enabled": enabled, "MatchingEventTypes": types, **kind}


def sns(name: str, types: list[str], enabled: bool = True) -> dict:
    return destination(name, types, enabled, SNSDestination={"TopicARN": TOPIC})


def firehose(name: str, types: list[str]) -> dict:
    return destination(
        name,
        types,
        KinesisFirehoseDestination={"IAMRoleARN": ROLE, "DeliveryStreamARN": STREAM},
    )


def cloudwatch(name: str, types: list[str], *dimensions: tuple[str, str, str]) -> dict:
    return destination(
        name,
        types,
        CloudWatchDestination={
            "DimensionConfigurations": [
                {"DimensionName": n, "DimensionValueSource": s, "DefaultDimensionValue": d}
                for n, s, d in dimensions
            ]
        },
    )


def configuration_set(server: RunningInbound, *destinations: dict, name: str = "ConfigSet"):
    ses = server.ses()
    ses.create_configuration_set(ConfigurationSet={"Name": name})
    for found in destinations:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name, EventDestination=found
        )


def publish(server: RunningInbound, event: Event, name: str = "ConfigSet") -> list:
    assert server.server.feedback is not None
    done = server.call(server.server.feedback.publish_event("us-east-1", name, event))
    server.call(server.server.store.flush(durable=False))
    return done  # type: ignore[no-any-return]


# ── SNS ─────────────────────────────────────────────────────────────────────────────────────
def test_an_sns_http_subscriber_receives_the_event_record(inbound_factory) -> None:
    subscriber = Subscriber()
    try:
        server = inbound_factory(sns_subscribers={TOPIC: (subscriber.url,)})
        configuration_set(server, sns("to-sns", ["delivery"]))
        event = Event(MAIL, DELIVERY)
        [done] = publish(server, event)
        assert subscriber.got.wait(10)
        [(headers, envelope)] = subscriber.received
    finally:
        subscriber.close()
    assert (done.destination, done.kind, done.target, done.error) == (
        "to-sns",
        "SNSDestination",
        TOPIC,
        None,
    )
    assert envelope["MessageId"] == done.ref == headers["x-amz-sns-message-id"]
    assert json.loads(envelope["Message"]) == event.record()
    assert "Subject" not in envelope  # SES publishes without one
    signed = ("Message", "MessageId", "Timestamp", "TopicArn", "Type")
    cert = x509.load_pem_x509_certificate(
        server.get(envelope["SigningCertURL"][len(server.api_url) :])
    )
    canonical = "".join(f"{k}\n{envelope[k]}\n" for k in signed).encode()
    cert.public_key().verify(
        base64.b64decode(envelope["Signature"]), canonical, padding.PKCS1v15(), hashes.SHA1()
    )


V1_OUTCOMES = [o for o in OUTCOMES if o[0].TYPE.matching_name in V1_TYPES]


@pytest.mark.parametrize(("outcome", "key", "expected"), V1_OUTCOMES, ids=lambda v: None)
def test_every_event_type_reaches_a_destination_matching_it(
    inbound_factory, outcome, key, expected
) -> None:
    server = inbound_factory()
    event = Event(MAIL, outcome)
    wanted = event.type.matching_name
    others = [n for n in ("send", "delivery", "bounce") if n != wanted]
    configuration_set(server, sns("matching", [wanted]), sns("other", others))
    assert [p.destination for p in publish(server, event)] == ["matching"]
    [published] = server.notifications()
    assert published["message"]["eventType"] == str(event.type)
    assert published["message"][key] == expected
    assert published["subject"] == ""
    assert published["messageId"] == MAIL.message_id


V2_ONLY = [o for o, _, _ in OUTCOMES if o.TYPE.matching_name not in V1_TYPES]


@pytest.mark.parametrize("outcome", V2_ONLY, ids=lambda o: type(o).__name__)
def test_v2_event_types_match_by_their_v2_names(outcome) -> None:
    """DeliveryDelay and Subscription match `deliveryDelay` and `subscription` (SES API v2's
    EventType), which the v1 API cannot configure: checked on a stored document's shape."""
    event = Event(MAIL, outcome)
    on = {"Name": "on", "Enabled": True, "MatchingEventTypes": [event.type.matching_name]}
    others = {"Name": "others", "Enabled": True, "MatchingEventTypes": list(V1_TYPES)}
    found = matching({"EventDestinations": [others, on]}, event)
    assert [d["Name"] for d in found] == ["on"]


def test_a_disabled_destination_publishes_nothing(inbound_factory) -> None:
    server = inbound_factory()
    configuration_set(
        server,
        sns("off", ["send"], enabled=False),
        destination("off-too", ["send"], False, KinesisFirehoseDestination={
            "IAMRoleARN": ROLE, "DeliveryStreamARN": STREAM
        }),
    )  # fmt: skip
    assert publish(server, Event(MAIL, Send())) == []
    assert server.notifications() == []
    assert server.get("/api/firehose") == []


def test_an_unknown_configuration_set_publishes_nothing(inbound_factory) -> None:
    server = inbound_factory()
    assert publish(server, Event(MAIL, Send()), name="gone") == []


# ── Firehose ────────────────────────────────────────────────────────────────────────────────
def test_firehose_gets_the_json_record_and_a_newline(inbound_factory) -> None:
    server = inbound_factory()
    configuration_set(server, firehose("stream", ["send", "delivery"]))
    sent, delivered = Event(MAIL, Send()), Event(MAIL, DELIVERY)
    [first] = publish(server, sent)
    [second] = publish(server, delivered)
    records = server.get("/api/firehose")
    assert [r["id"] for r in records] == [first.ref, second.ref]
    assert [r["streamArn"] for r in records] == [STREAM, STREAM]
    assert [r["data"][-1] for r in records] == ["\n", "\n"]
    assert [json.loads(r["data"]) for r in records] == [sent.record(), delivered.record()]
    assert records[0]["data"].count("\n") == 1  # one line per record


# ── CloudWatch ──────────────────────────────────────────────────────────────────────────────
def test_cloudwatch_data_points_take_dimensions_from_tags_headers_and_defaults(inbound_factory):
    server = inbound_factory()
    configuration_set(
        server,
        cloudwatch(
            "metrics",
            ["send", "delivery", "renderingFailure"],
            ("campaign", "messageTag", "none"),
            ("ses:configuration-set", "messageTag", "unset"),
            ("ses:outgoing-ip", "messageTag", "not-yet"),
            ("Subject-Free", "emailHeader", "no-header"),
            ("X-Team", "emailHeader", "no-team"),
        ),
    )
    headers = (*MAIL.headers, ("X-Team", "mail-ops"))
    mail = replace(MAIL, headers=headers)
    publish(server, Event(mail, Send()))
    publish(server, Event(mail, DELIVERY))
    publish(server, Event(mail, RenderingFailure("T", "Attribute 'x' is not present.")))
    points = server.get("/api/metrics")
    assert [p["metricName"] for p in points] == ["Send", "Delivery", "Rendering Failure"]
    assert {p["namespace"] for p in points} == {"AWS/SES"}
    assert {(p["value"], p["unit"]) for p in points} == {(1.0, "Count")}
    assert points[0]["dimensions"] == {
        "campaign": "book",
        "ses:configuration-set": "ConfigSet",
        "ses:outgoing-ip": "not-yet",  # the auto-tag exists from Delivery on
        "Subject-Free": "no-header",
        "X-Team": "mail-ops",
    }
    assert points[1]["dimensions"]["ses:outgoing-ip"] == "203.0.113.5"
    assert points[0]["timestamp"] == "2026-03-05T00:40:02.012Z"  # a Send happens at the send
    assert points[1]["timestamp"] == "2026-03-05T00:41:02.669Z"  # a Delivery at delivery


def test_a_click_dimension_comes_from_the_link_tag(inbound_factory) -> None:
    server = inbound_factory()
    configuration_set(server, cloudwatch("clicks", ["click"], ("offer", "linkTag", "none")))
    tagged = Click("192.0.2.1", MOMENT, "UA", "https://example.com", {"offer": ("spring",)})
    publish(server, Event(MAIL, tagged))
    publish(server, Event(MAIL, replace(tagged, link_tags=None)))
    points = server.get("/api/metrics")
    assert [p["dimensions"] for p in points] == [{"offer": "spring"}, {"offer": "none"}]
    assert [p["metricName"] for p in points] == ["Click", "Click"]


def test_a_header_value_ses_would_not_publish_skips_the_metric(inbound_factory) -> None:
    server = inbound_factory()
    configuration_set(
        server,
        cloudwatch("metrics", ["send"], ("X-Team", "emailHeader", "none")),
        firehose("stream", ["send"]),
    )
    mail = replace(MAIL, headers=(*MAIL.headers, ("X-Team", "mail ops!")))
    skipped, streamed = publish(server, Event(mail, Send()))
    assert skipped.skipped and skipped.ref is None and skipped.error is None
    assert streamed.ref is not None  # the other destination still got it
    assert server.get("/api/metrics") == []


# ── identity notifications ──────────────────────────────────────────────────────────────────
def test_identity_notifications_go_to_the_identity_topic_with_headers_when_on(inbound_factory):
    server = inbound_factory(verified=["example.com"])
    ses = server.ses()
    ses.verify_email_identity(EmailAddress="sender@example.com")
    for kind in ("Bounce", "Delivery"):
        ses.set_identity_notification_topic(
            Identity="sender@example.com", NotificationType=kind, SnsTopic=TOPIC
        )
    ses.set_identity_headers_in_notifications_enabled(
        Identity="sender@example.com", NotificationType="Delivery", Enabled=True
    )
    identities, feedback = server.server.identities, server.server.feedback
    assert identities is not None and feedback is not None
    identity = identities.get("sender@example.com")
    bounce = next(o for o, key, _ in OUTCOMES if key == "bounce")
    complaint = next(o for o, key, _ in OUTCOMES if key == "complaint")
    delivered = server.call(feedback.notify_identity(identity, lambda: MAIL, DELIVERY))
    bounced = server.call(feedback.notify_identity(identity, lambda: MAIL, bounce))
    # no topic for complaints
    assert server.call(feedback.notify_identity(identity, lambda: MAIL, complaint)) is None
    first, second = server.notifications()
    assert [first["id"], second["id"]] == [delivered.ref, bounced.ref]
    assert {first["topicArn"], second["topicArn"]} == {TOPIC}
    assert first["message"]["notificationType"] == "Delivery"
    assert first["message"]["delivery"]["remoteMtaIp"] == "198.51.100.7"
    assert "headers" in first["message"]["mail"] and "tags" not in first["message"]["mail"]
    assert second["message"]["notificationType"] == "Bounce"
    assert "headers" not in second["message"]["mail"]  # headers are on for Delivery only
