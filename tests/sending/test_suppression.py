"""The account-level suppression list as sending meets it, through boto3 (`ses` and `sesv2`) and
the SMTP interface, its events observed by an SNS HTTP subscriber: a hard bounce or a complaint
puts the recipient on the list when its reason is in force (the account's, or the configuration
set's override), and a send to a listed address is accepted but answered as SES answers it,
with no delivery attempt (inbound/sending/suppression.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import closing
from typing import Any

import boto3
import pytest
from botocore.config import Config
from flufl.bounce import scan_message

from inbound.sending.simulator import ACCOUNT_SUPPRESSED
from inbound.testing import RunningInbound
from tests.outbox.test_relay import Sink, relay_to
from tests.outbox.test_relay_events import PRODUCTION, RECIPIENT, events, published
from tests.rulesets import bounce as bounce_action
from tests.rulesets import rule, rules, s3
from tests.sending.conftest import FAST
from tests.sending.test_delivery import (
    ALL_TYPES,
    BOUNCES,
    EVENTS,
    outbox,
    outbox_message,
    records,
    send,
)
from tests.sending.test_feedback import sns
from tests.sending.test_submission import KEY_ID, SECRET, logged_in
from tests.webhook import Webhook as Subscriber

SIM = "simulator.amazonses.com"
RULES = rules(
    rule("support", s3("mail", "support/"), recipients=["support@example.com"]),
    rule("gone", bounce_action(), recipients=["gone@example.com"]),
)


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber):
    """The sandbox with example.com verified, an SNS destination for every event type on the
    configuration set `events`, and the SMTP interface on."""
    running = inbound_factory(
        RULES,
        sending=dataclasses.replace(FAST, smtps=None),
        api_credentials={KEY_ID: SECRET},
        sns_subscribers={EVENTS: (subscriber.url,), BOUNCES: (subscriber.url,)},
    )
    v1 = client(running, "ses")
    v1.create_configuration_set(ConfigurationSet={"Name": "events"})
    v1.create_configuration_set_event_destination(
        ConfigurationSetName="events", EventDestination=sns("to-sns", ALL_TYPES)
    )
    return running


def client(server: RunningInbound, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=server.api_url,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def v1_send(server: RunningInbound, to: str, configuration_set: str = "events") -> str:
    return client(server, "ses").send_email(  # type: ignore[no-any-return]
        Source="sender@example.com",
        Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello.\n"}}},
        ConfigurationSetName=configuration_set,
    )["MessageId"]


def v1_raw(server: RunningInbound, to: str) -> str:
    raw = f"From: sender@example.com\r\nTo: {to}\r\nSubject: Hi\r\n\r\nHello.\r\n"
    return client(server, "ses").send_raw_email(  # type: ignore[no-any-return]
        RawMessage={"Data": raw.encode()}, ConfigurationSetName="events"
    )["MessageId"]


def v2_send(server: RunningInbound, to: str) -> str:
    return client(server, "sesv2").send_email(  # type: ignore[no-any-return]
        FromEmailAddress="sender@example.com",
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello.\n"}}}},
        ConfigurationSetName="events",
    )["MessageId"]


def v2_bulk(server: RunningInbound, to: str) -> str:
    v2 = client(server, "sesv2")
    v2.create_email_template(
        TemplateName="hello", TemplateContent={"Subject": "Hi {{name}}", "Text": "Hello."}
    )
    [entry] = v2.send_bulk_email(
        FromEmailAddress="sender@example.com",
        DefaultContent={"Template": {"TemplateName": "hello", "TemplateData": '{"name": "x"}'}},
        BulkEmailEntries=[{"Destination": {"ToAddresses": [to]}}],
        ConfigurationSetName="events",
    )["BulkEmailEntryResults"]
    return entry["MessageId"]  # type: ignore[no-any-return]


def smtp_send(server: RunningInbound, to: str) -> str:
    raw = (
        f"From: sender@example.com\r\nTo: {to}\r\nSubject: Hi\r\n"
        "X-SES-CONFIGURATION-SET: events\r\n\r\nHello.\r\n"
    )
    with logged_in(server) as smtp:
        smtp.sendmail("sender@example.com", [to], raw)
    [sent] = [s for s in server.sent() if to in s["recipients"]]
    return sent["messageId"]  # type: ignore[no-any-return]


SENDERS = {"v1": v1_send, "v1raw": v1_raw, "v2": v2_send, "v2bulk": v2_bulk, "smtp": smtp_send}


def by_type(found: list[dict]) -> dict[str, dict]:
    return {r.get("eventType") or "notification:" + r["notificationType"]: r for r in found}


# ── a send to a listed address ──────────────────────────────────────────────────────────────
@pytest.mark.parametrize("how", list(SENDERS))
def test_a_send_to_a_listed_address_is_an_on_account_suppression_list_bounce(
    server: RunningInbound, subscriber: Subscriber, how: str
) -> None:
    client(server, "ses").set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=BOUNCES
    )
    client(server, "sesv2").put_suppressed_destination(
        EmailAddress="support@example.com", Reason="BOUNCE"
    )
    message_id = SENDERS[how](server, "support@example.com")
    found = by_type(records(server, subscriber, 3))
    assert set(found) == {"Send", "Bounce", "notification:Bounce"}
    for record in (found["Bounce"], found["notification:Bounce"]):
        assert record["mail"]["messageId"] == message_id
        bounce = record["bounce"]
        assert (bounce["bounceType"], bounce["bounceSubType"]) == (
            "Permanent",
            "OnAccountSuppressionList",
        )
        assert bounce["bouncedRecipients"] == [
            {
                "emailAddress": "support@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": ACCOUNT_SUPPRESSED,
            }
        ]
        assert bounce["reportingMTA"] == "dns; amazonses.com"
        assert "remoteMtaIp" not in bounce
    assert server.messages() == []  # no delivery attempt: nothing was received
    [entry] = outbox(server)  # only the DSN, to the feedback address
    assert (entry["mailFrom"], entry["recipients"]) == ("", ["sender@example.com"])
    dsn = outbox_message(server, entry)
    assert scan_message(dsn) == {b"support@example.com"}
    assert "suppression list for your account" in dsn.as_string()
    [sent] = [s for s in server.sent() if s["messageId"] == message_id]
    [done] = [s for s in sent["trace"] if s["step"] == "done"]
    assert done["recipients"] == [
        {"recipient": "support@example.com", "route": "suppressed", "events": ["Bounce"]}
    ]
    # SES: not counted toward the bounce rate; the list is not added to again
    points = client(server, "ses").get_send_statistics()["SendDataPoints"]
    assert sum(p["Bounces"] for p in points) == 0
    got = client(server, "sesv2").get_suppressed_destination(EmailAddress="support@example.com")
    assert "Attributes" not in got["SuppressedDestination"]


def test_an_address_listed_for_a_complaint_is_an_on_account_suppression_list_complaint(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    v2 = client(server, "sesv2")
    v2.put_suppressed_destination(EmailAddress="support@example.com", Reason="COMPLAINT")
    message_id = v1_send(server, "support@example.com")
    found = by_type(records(server, subscriber, 2))
    assert set(found) == {"Send", "Complaint"}
    complaint = found["Complaint"]["complaint"]
    assert complaint["complaintSubType"] == "OnAccountSuppressionList"
    assert complaint["complainedRecipients"] == [{"emailAddress": "support@example.com"}]
    assert "complaintFeedbackType" not in complaint and "userAgent" not in complaint
    assert found["Complaint"]["mail"]["messageId"] == message_id
    assert server.messages() == [] and outbox(server) == []


def test_only_the_listed_recipients_are_held_back(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    client(server, "sesv2").put_suppressed_destination(
        EmailAddress="Support@EXAMPLE.com", Reason="BOUNCE"
    )
    client(server, "ses").send_email(
        Source="sender@example.com",
        Destination={"ToAddresses": ["support@example.com", f"success@{SIM}"]},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello.\n"}}},
        ConfigurationSetName="events",
    )
    # Support@example.com is another address than support@example.com (local parts keep case)
    found = records(server, subscriber, 3)
    assert sorted(r["eventType"] for r in found) == ["Delivery", "Delivery", "Send"]
    client(server, "sesv2").put_suppressed_destination(
        EmailAddress="support@EXAMPLE.com", Reason="BOUNCE"
    )
    v1_send(server, "support@example.com")
    assert [r["eventType"] for r in records(server, subscriber, 5)[3:]] == ["Send", "Bounce"]
    assert len(server.messages()) == 1  # the first send's


# ── what puts an address on the list ───────────────────────────────────────────────────────
def test_a_hard_bounce_puts_the_recipient_on_the_list(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    """Send → received here → Bounce action → the DSN back to SES: a Permanent bounce, so the
    recipient is listed with the message and the feedback; the next send is held back."""
    message_id = v1_send(server, "gone@example.com")
    found = by_type(records(server, subscriber, 3))
    feedback_id = found["Bounce"]["bounce"]["feedbackId"]
    got = client(server, "sesv2").get_suppressed_destination(EmailAddress="gone@example.com")
    entry = got["SuppressedDestination"]
    assert (entry["EmailAddress"], entry["Reason"]) == ("gone@example.com", "BOUNCE")
    assert entry["Attributes"] == {"MessageId": message_id, "FeedbackId": feedback_id}
    received = len(server.messages())
    v2_send(server, "gone@example.com")
    later = records(server, subscriber, 5)[3:]
    assert [r["eventType"] for r in later] == ["Send", "Bounce"]
    assert later[1]["bounce"]["bounceSubType"] == "OnAccountSuppressionList"
    assert len(server.messages()) == received  # not received again


def test_a_complaint_puts_the_recipient_on_the_list(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    message_id = v1_send(server, f"complaint@{SIM}")
    found = by_type(records(server, subscriber, 3))
    got = client(server, "sesv2").get_suppressed_destination(EmailAddress=f"complaint@{SIM}")
    entry = got["SuppressedDestination"]
    assert entry["Reason"] == "COMPLAINT"
    assert entry["Attributes"] == {
        "MessageId": message_id,
        "FeedbackId": found["Complaint"]["complaint"]["feedbackId"],
    }


def test_the_simulator_bounce_address_is_never_listed(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    """SES: "The mailbox simulator email address isn't placed on the Amazon SES suppression
    list, which would normally happen when a hard bounce occurs." """
    v1_send(server, f"bounce@{SIM}")
    v1_send(server, f"suppressionlist@{SIM}")
    records(server, subscriber, 4)
    assert (
        client(server, "sesv2").list_suppressed_destinations()["SuppressedDestinationSummaries"]
        == []
    )


@pytest.mark.parametrize(
    ("account", "override", "listed"),
    [
        (
            ["BOUNCE", "COMPLAINT"],
            None,
            {"gone@example.com": "BOUNCE", f"complaint@{SIM}": "COMPLAINT"},
        ),
        (["COMPLAINT"], None, {f"complaint@{SIM}": "COMPLAINT"}),
        ([], None, {}),
        ([], ["BOUNCE"], {"gone@example.com": "BOUNCE"}),  # the set's reasons, not the account's
        (["BOUNCE", "COMPLAINT"], [], {}),  # an override without reasons: no suppression
    ],
    ids=["account-both", "account-complaint", "account-none", "set-bounce", "set-none"],
)
def test_what_is_listed_follows_the_reasons_in_force(
    server: RunningInbound,
    subscriber: Subscriber,
    account: list[str],
    override: list[str] | None,
    listed: dict[str, str],
) -> None:
    v2 = client(server, "sesv2")
    v2.put_account_suppression_attributes(SuppressedReasons=account)
    if override is not None:
        v2.put_configuration_set_suppression_options(
            ConfigurationSetName="events", SuppressedReasons=override
        )
    v1_send(server, "gone@example.com")
    v1_send(server, f"complaint@{SIM}")
    records(server, subscriber, 6)  # Send, Delivery, Bounce; Send, Delivery, Complaint
    summaries = v2.list_suppressed_destinations()["SuppressedDestinationSummaries"]
    assert {s["EmailAddress"]: s["Reason"] for s in summaries} == listed


def test_a_set_override_decides_what_is_held_back(
    server: RunningInbound, subscriber: Subscriber
) -> None:
    v2 = client(server, "sesv2")
    v2.put_suppressed_destination(EmailAddress="support@example.com", Reason="BOUNCE")
    v2.put_configuration_set_suppression_options(
        ConfigurationSetName="events", SuppressedReasons=["COMPLAINT"]
    )
    v1_send(server, "support@example.com")
    assert [r["eventType"] for r in records(server, subscriber, 2)] == ["Send", "Delivery"]
    v2.put_configuration_set_suppression_options(
        ConfigurationSetName="events"
    )  # back to the account's
    v1_send(server, "support@example.com")
    assert [r["eventType"] for r in records(server, subscriber, 4)[2:]] == ["Send", "Bounce"]
    assert len(server.messages()) == 1


def test_a_relay_s_5xx_puts_the_recipient_on_the_list(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> None:
    """The smarthost refuses with 550: a Permanent bounce, the recipient listed; the next send
    to it is held back and never reaches the smarthost."""
    with closing(Sink()) as sink:
        sink.start()
        sink.handler.rcpt_reply = "550 5.1.1 No such user here"
        server = inbound_factory(
            sending=PRODUCTION,
            relay=relay_to(sink.port),
            sns_subscribers={EVENTS: (subscriber.url,)},
        )
        events(server)
        sent_twice_through_the_relay(server, subscriber, sink)


def sent_twice_through_the_relay(
    server: RunningInbound, subscriber: Subscriber, sink: Sink
) -> None:
    ses = client(server, "ses")
    message_id = send(ses, RECIPIENT, ConfigurationSetName="events")
    bounce = published(subscriber, 2)[1]
    v2 = client(server, "sesv2")
    entry = v2.get_suppressed_destination(EmailAddress=RECIPIENT)["SuppressedDestination"]
    assert entry["Reason"] == "BOUNCE"
    assert entry["Attributes"] == {
        "MessageId": message_id,
        "FeedbackId": bounce["bounce"]["feedbackId"],
    }
    attempts = len(sink.envelopes)
    send(ses, RECIPIENT, ConfigurationSetName="events")
    later = published(subscriber, 4)[2:]
    assert [r["bounce"]["bounceSubType"] for r in later[1:]] == ["OnAccountSuppressionList"]
    assert len(sink.envelopes) == attempts
