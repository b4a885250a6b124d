"""Sent mail relayed to a smarthost publishes its events from the relay's outcomes: Delivery
with the smarthost's 250 line, DeliveryDelay on a deferral, Bounce (and the forwarded DSN) on a
5xx (inbound/sending/delivery.py, inbound/sending/relayed.py). Real boto3 sends, a real aiosmtpd
smarthost, a real SNS HTTP subscriber; the DSN is read back by flufl.bounce."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from email import message_from_bytes, policy
from typing import Any

import pytest
from flufl.bounce import scan_message

from inbound.testing import RunningInbound
from tests.api.v2.conftest import add_destination
from tests.api.v2.conftest import client as v2_client
from tests.outbox.test_relay import Sink, relay_to
from tests.sending.conftest import FAST, client
from tests.sending.test_delivery import BOUNCES, EVENTS, send
from tests.webhook import Webhook as Subscriber

TYPES = ["SEND", "DELIVERY", "DELIVERY_DELAY", "BOUNCE"]  # DELIVERY_DELAY: SES API v2 only
RECIPIENT = "someone@elsewhere.test"  # neither the simulator's nor received here: the outbox
PRODUCTION = replace(FAST, production=True)  # out of the sandbox: any recipient


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    with closing(Subscriber()) as found:
        yield found


@pytest.fixture
def sink() -> Iterator[Sink]:
    """The smarthost: bound, not listening (connections refused) until `start()`."""
    with closing(Sink()) as found:
        yield found


@pytest.fixture
def relayed(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> Callable[..., tuple[RunningInbound, Any]]:
    """A server relaying to `sink` with the configuration set `events` publishing to the
    subscriber, and its boto3 client."""

    def make(sink: Sink, **relay: Any) -> tuple[RunningInbound, Any]:
        server = inbound_factory(
            sending=PRODUCTION,
            relay=relay_to(sink.port, **relay),
            sns_subscribers={EVENTS: (subscriber.url,), BOUNCES: (subscriber.url,)},
        )
        events(server)
        return server, client(server)

    return make


def events(server: RunningInbound) -> None:
    """The configuration set `events`, its destination made through SES API v2."""
    v2 = v2_client(server)
    v2.create_configuration_set(ConfigurationSetName="events")
    add_destination(v2, "events", "to-sns", TYPES, SnsDestination={"TopicArn": EVENTS})


def published(subscriber: Subscriber, count: int, timeout: float = 15) -> list[dict[str, Any]]:
    """The first `count` SNS messages, once that many came, with none after them."""
    deadline = time.monotonic() + timeout
    while len(subscriber.received) < count:
        assert time.monotonic() < deadline, [e["Message"] for _, e in subscriber.received]
        time.sleep(0.05)
    time.sleep(0.3)
    assert len(subscriber.received) == count, [e["Message"] for _, e in subscriber.received]
    return [json.loads(e["Message"]) for _, e in subscriber.received]


def by_type(found: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The events by type, each once. SNS delivers each message on its own, so two published
    moments apart (Send, then DeliveryDelay or Bounce) may arrive in either order."""
    types = {r["eventType"]: r for r in found}
    assert len(types) == len(found), [r["eventType"] for r in found]
    return types


def test_delivery_is_published_when_the_smarthost_accepts(relayed, sink, subscriber) -> None:
    sink.start()
    _, ses = relayed(sink)
    message_id = send(ses, RECIPIENT, ConfigurationSetName="events")
    found = by_type(published(subscriber, 2))
    assert sorted(found) == ["Delivery", "Send"]
    delivery = found["Delivery"]
    assert delivery["mail"]["messageId"] == message_id
    assert delivery["delivery"]["recipients"] == [RECIPIENT]
    assert delivery["delivery"]["smtpResponse"] == "250 2.0.0 Ok: queued as 42"  # the sink's
    assert delivery["delivery"]["reportingMTA"] == "a8-96.smtp-out.amazonses.com"
    [received] = sink.envelopes
    assert received.rcpt_tos == [RECIPIENT]


def test_a_4xx_publishes_one_delivery_delay_then_the_delivery(relayed, sink, subscriber) -> None:
    sink.start()
    sink.handler.data_replies = ["451 4.3.0 Try again later", "451 4.3.0 Still busy"]
    server, ses = relayed(sink, retry_initial_seconds=0.5, retry_max_seconds=0.5)
    send(ses, RECIPIENT, ConfigurationSetName="events")
    found = by_type(published(subscriber, 3))
    # Two deferrals, one DeliveryDelay: once per recipient per delay episode.
    assert sorted(found) == ["Delivery", "DeliveryDelay", "Send"]
    delay = found["DeliveryDelay"]["deliveryDelay"]
    assert delay["delayType"] == "RecipientServerError"
    assert delay["delayedRecipients"] == [
        {
            "emailAddress": RECIPIENT,
            "status": "4.3.0",
            "diagnosticCode": "smtp; 451 4.3.0 Try again later",
        }
    ]
    # The relay's default max_age_seconds (5 days) after the message was queued.
    queued = server.get("/api/outbox")[0]["created"]
    expires = delay["expirationTime"]
    assert expires[:10] > queued[:10] and expires > delay["timestamp"]
    assert found["Delivery"]["delivery"]["smtpResponse"] == "250 2.0.0 Ok: queued as 42"
    assert found["Delivery"]["delivery"]["timestamp"] > delay["timestamp"]
    assert server.get("/api/outbox")[0]["attempts"] == 3


def test_an_unreachable_smarthost_is_a_transient_communication_failure(
    relayed, sink, subscriber
) -> None:
    _, ses = relayed(sink, retry_initial_seconds=30)  # the sink never starts
    send(ses, RECIPIENT, ConfigurationSetName="events")
    found = by_type(published(subscriber, 2))
    assert sorted(found) == ["DeliveryDelay", "Send"]
    delay = found["DeliveryDelay"]["deliveryDelay"]
    assert delay["delayType"] == "TransientCommunicationFailure"
    [recipient] = delay["delayedRecipients"]
    assert recipient["status"] == "4.4.1"
    assert recipient["diagnosticCode"].startswith("smtp; 421 4.4.1 ConnectionRefusedError")


def test_a_5xx_publishes_a_bounce_notifies_and_forwards_the_dsn(relayed, sink, subscriber) -> None:
    sink.start()
    sink.handler.rcpt_reply = "550 5.1.1 No such user here"
    server, ses = relayed(sink)
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=BOUNCES
    )
    message_id = send(ses, RECIPIENT, ConfigurationSetName="events")
    found = published(subscriber, 3)
    kinds = sorted((r.get("eventType", ""), r.get("notificationType", "")) for r in found)
    assert kinds == [("", "Bounce"), ("Bounce", ""), ("Send", "")]
    # the configuration set's event and the identity's notification
    for record in [r for r in found if r.get("eventType") != "Send"]:
        bounce = record["bounce"]
        assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
        assert bounce["bouncedRecipients"] == [
            {
                "emailAddress": RECIPIENT,
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 No such user here",
            }
        ]
        assert record["mail"]["messageId"] == message_id
    # The DSN goes to the feedback address (Source), received here by the default rules.
    server.wait_idle()
    trace = server.get(f"/api/sent/{message_id}")["trace"]
    [forwarded] = [s for s in trace if s.get("step") == "forwarded"]
    assert (forwarded["kind"], forwarded["to"]) == ("bounce", "sender@example.com")
    received = server.get(f"/api/messages/{forwarded['ref']}")
    assert received["mailFrom"] == ""  # the null reverse-path
    raw = server.get(f"/api/messages/{forwarded['ref']}/raw")
    dsn = message_from_bytes(raw, policy=policy.compat32)
    assert scan_message(dsn) == {RECIPIENT.encode()}
    assert b"550 5.1.1 No such user here" in raw
    assert any(s.get("step") == "statistics" and s.get("Bounces") == 1 for s in trace)
    # Nothing more is published: the relay's refused DSN to the feedback address has none.
    time.sleep(0.5)
    assert len(subscriber.received) == 3


def test_without_a_relay_the_delivery_is_published_at_queue_time(
    inbound_factory, subscriber
) -> None:
    server = inbound_factory(sending=PRODUCTION, sns_subscribers={EVENTS: (subscriber.url,)})
    events(server)
    send(client(server), RECIPIENT, ConfigurationSetName="events")
    # Both are published at once: SNS delivers each message on its own, in either order.
    found = {r["eventType"]: r for r in published(subscriber, 2)}
    assert sorted(found) == ["Delivery", "Send"]
    [row] = server.get("/api/outbox")
    assert row["status"] == "queued"  # nothing sends it on: the outbox stands for the server
    assert found["Delivery"]["delivery"]["smtpResponse"] == f"250 Ok {row['id']}"


def test_recorded_outcomes_are_published_once_after_a_restart(
    inbound_factory, sink, subscriber, tmp_path
) -> None:
    """A kill between the relay's record and its events: the next start publishes what is on
    record and nothing already published. The outcomes are written as the relay writes them
    (one transaction with the outbox row), with the server stopped."""
    data = tmp_path / "restart"
    settings = {
        "sending": PRODUCTION,
        "relay": relay_to(sink.port, retry_initial_seconds=3600),  # the sink never listens
        "sns_subscribers": {EVENTS: (subscriber.url,)},
    }
    first = inbound_factory(data_dir=data, **settings)
    events(first)
    send(client(first), RECIPIENT, ConfigurationSetName="events")
    assert sorted(by_type(published(subscriber, 2))) == ["DeliveryDelay", "Send"]
    first.stop()
    with sqlite3.connect(data / "inbound.sqlite3") as conn:
        [(outbox_id, sent_id, queued)] = conn.execute("SELECT id, message_id, created FROM outbox")
        conn.execute(
            "UPDATE outbox SET status = 'sent', attempts = 2, remote_reply = ? WHERE id = ?",
            ("250 2.0.0 Ok: queued as 7", outbox_id),
        )
        conn.executemany(
            "INSERT INTO relay_outcomes (outbox_id, attempt, sent_id, status, queued,"
            " remote_reply) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (outbox_id, 1, sent_id, "deferred", queued, None),  # published, not dropped
                (outbox_id, 2, sent_id, "sent", queued, "250 2.0.0 Ok: queued as 7"),
            ],
        )
    second = inbound_factory(data_dir=data, **settings)
    found = published(subscriber, 3)
    assert found[2]["eventType"] == "Delivery"  # the second server's one event
    assert sorted(by_type(found)) == ["Delivery", "DeliveryDelay", "Send"]
    assert found[2]["delivery"]["smtpResponse"] == "250 2.0.0 Ok: queued as 7"
    second.stop()
    with sqlite3.connect(data / "inbound.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM relay_outcomes").fetchone() == (0,)
