"""Delivery of sent mail and the feedback it causes, through the real interfaces: boto3 sends,
configuration sets publish to an SNS HTTP subscriber, identity topics, the outbox, the
receiving engine's rules and the S3 objects they write (inbound/sending/delivery.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from email import message_from_bytes, policy
from typing import Any

import pytest
from flufl.bounce import scan_message

from inbound.config import SendingSettings
from inbound.receiving.verdicts import EICAR
from inbound.testing import RunningInbound
from tests.rulesets import bounce as bounce_action
from tests.rulesets import rule, rules, s3
from tests.sending.conftest import FAST, client
from tests.sending.test_feedback import TOPIC, configuration_set, sns
from tests.webhook import Webhook as Subscriber

EVENTS = TOPIC
BOUNCES = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
OTHERS = "arn:aws:sns:us-east-1:123456789012:ses-others"
SIM = "simulator.amazonses.com"
# support@ and feedback@ are received here; sender@example.com (the feedback address of most
# sends) is not, so what SES forwards to it by email lands in the outbox.
RULES = rules(
    rule("support", s3("mail", "support/"), recipients=["support@example.com"]),
    rule("feedback", s3("mail", "feedback/"), recipients=["feedback@example.com"]),
)
ALL_TYPES = ["send", "reject", "bounce", "complaint", "delivery", "renderingFailure"]


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber):
    return inbound_factory(
        RULES,
        sending=FAST,
        sns_subscribers={EVENTS: (subscriber.url,), BOUNCES: (subscriber.url,)},
    )


@pytest.fixture
def ses(server: RunningInbound) -> Any:
    configuration_set(server, sns("to-sns", ALL_TYPES), name="events")
    return client(server)


def send(ses: Any, *to: str, **extra: Any) -> str:
    return ses.send_email(  # type: ignore[no-any-return]
        Source="Sender <sender@example.com>",
        Destination={"ToAddresses": list(to)},
        Message={"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello.\n"}}},
        **extra,
    )["MessageId"]


def records(server: RunningInbound, subscriber: Subscriber, count: int) -> list[dict]:
    """The first `count` messages the HTTP subscriber received, decoded, in publication order
    (the notification log's order: deliveries to the subscriber run concurrently)."""
    server.wait_idle()
    for _ in range(200):
        if len(subscriber.received) >= count:
            break
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more arrives
    assert len(subscriber.received) == count, [e["Message"] for _, e in subscriber.received]
    by_id = {e["MessageId"]: json.loads(e["Message"]) for _, e in subscriber.received}
    return [by_id[n["id"]] for n in server.notifications() if n["id"] in by_id]


def outbox(server: RunningInbound) -> list[dict]:
    server.wait_idle()
    return server.get("/api/outbox")  # type: ignore[no-any-return]


def outbox_message(server: RunningInbound, entry: dict) -> Any:
    raw = server.get(f"/api/outbox/{entry['id']}/raw")
    return message_from_bytes(raw, policy=policy.default)


def s3_objects(server: RunningInbound, prefix: str) -> list[bytes]:
    server.wait_idle()
    found = [o for o in server.get("/api/s3") if o["key"].startswith(prefix)]
    return [server.get(f"/api/s3/{o['bucket']}/{o['key']}") for o in found]


# ── the mailbox simulator, event by event ───────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("local", "types"),
    [
        ("success", ["Send", "Delivery"]),
        ("bounce", ["Send", "Bounce"]),
        ("suppressionlist", ["Send", "Bounce"]),
        ("ooto+label", ["Send", "Delivery", "Bounce"]),
        ("complaint", ["Send", "Delivery", "Complaint"]),
    ],
)
def test_each_simulator_address_publishes_its_events(
    server: RunningInbound, subscriber: Subscriber, ses: Any, local: str, types: list[str]
) -> None:
    address = f"{local}@{SIM}"
    message_id = send(
        ses, address, ConfigurationSetName="events", Tags=[{"Name": "team", "Value": "web"}]
    )
    found = records(server, subscriber, len(types))
    assert [r["eventType"] for r in found] == types
    for record in found:
        mail = record["mail"]
        assert (mail["messageId"], mail["destination"]) == (message_id, [address])
        assert mail["source"] == "sender@example.com"
        assert mail["sendingAccountId"] == "123456789012"
        assert mail["sourceArn"] == "arn:aws:ses:us-east-1:123456789012:identity/example.com"
        assert mail["commonHeaders"]["subject"] == "Hi"
        assert mail["tags"]["ses:configuration-set"] == ["events"]
        assert mail["tags"]["ses:from-domain"] == ["example.com"]
        assert mail["tags"]["team"] == ["web"]
    assert found[0]["send"] == {}
    by_type = {r["eventType"]: r for r in found}
    if "Delivery" in by_type:
        delivery = by_type["Delivery"]["delivery"]
        assert delivery["recipients"] == [address]
        assert delivery["smtpResponse"] == "250 2.6.0 Message received"
        assert delivery["reportingMTA"] == "a8-96.smtp-out.amazonses.com"
        assert delivery["processingTimeMillis"] >= 0
        assert "ses:outgoing-ip" in by_type["Delivery"]["mail"]["tags"]
    if "Bounce" in by_type:
        bounce = by_type["Bounce"]["bounce"]
        expected = {
            "bounce": ("Permanent", "General"),
            "suppressionlist": ("Permanent", "Suppressed"),
            "ooto+label": ("Transient", "General"),
        }[local]
        assert (bounce["bounceType"], bounce["bounceSubType"]) == expected
        assert bounce["bouncedRecipients"][0]["emailAddress"] == address
        assert bounce["feedbackId"].endswith("-000000")
    if "Complaint" in by_type:
        complaint = by_type["Complaint"]["complaint"]
        assert complaint["complainedRecipients"] == [{"emailAddress": address}]
        assert complaint["complaintFeedbackType"] == "abuse"
        assert complaint["userAgent"] == "Amazon SES Mailbox Simulator"
        assert complaint["complaintSubType"] is None
    [sent] = [s for s in server.sent() if s["messageId"] == message_id]
    assert sent["status"] == "done"
    [done] = [s for s in sent["trace"] if s["step"] == "done"]
    assert done["recipients"] == [{"recipient": address, "route": "simulator", "events": types[1:]}]


def test_what_ses_forwards_by_email_lands_in_the_outbox(server: RunningInbound, ses: Any) -> None:
    """The bounce's DSN, the complaint's ARF report and the auto-reply go to the feedback
    address (here the Source, not received here) with the null sender."""
    message_id = send(ses, f"bounce@{SIM}", f"complaint@{SIM}", f"ooto@{SIM}", f"success@{SIM}")
    entries = outbox(server)
    assert [(e["mailFrom"], e["recipients"]) for e in entries] == [("", ["sender@example.com"])] * 3
    bounce, complaint, reply = (outbox_message(server, e) for e in entries)
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"
    assert scan_message(bounce) == {f"bounce@{SIM}".encode()}  # flufl.bounce reads it
    assert complaint.get_param("report-type") == "feedback-report"
    assert complaint["Subject"] == "Fw: Hi"
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply["In-Reply-To"] == f"<{message_id}@email.amazonses.com>"


def test_a_bounce_to_a_feedback_address_received_here_runs_the_receipt_rules(
    server: RunningInbound, ses: Any
) -> None:
    send(ses, f"bounce@{SIM}", ReturnPath="feedback@example.com")
    assert outbox(server) == []
    [received] = [m for m in server.messages() if m["recipients"] == ["feedback@example.com"]]
    assert received["mailFrom"] == ""  # a DSN travels with the null sender
    [stored] = s3_objects(server, "feedback/")
    dsn = message_from_bytes(stored, policy=policy.default)
    assert dsn["Return-Path"] == "<>"
    assert dsn["From"] == "MAILER-DAEMON@amazonses.com"
    assert scan_message(dsn) == {f"bounce@{SIM}".encode()}


def test_feedback_forwarding_off_sends_no_email_but_the_auto_reply(
    server: RunningInbound, ses: Any
) -> None:
    for kind in ("Bounce", "Complaint"):
        ses.set_identity_notification_topic(
            Identity="example.com", NotificationType=kind, SnsTopic=BOUNCES
        )
    ses.set_identity_feedback_forwarding_enabled(Identity="example.com", ForwardingEnabled=False)
    send(ses, f"bounce@{SIM}", f"complaint@{SIM}", f"ooto@{SIM}")
    [reply] = [outbox_message(server, e) for e in outbox(server)]
    assert reply["Subject"] == "Auto: Hi"
    published = [n["message"]["notificationType"] for n in server.notifications()]
    assert sorted(published) == ["Bounce", "Bounce", "Complaint"]  # ooto's is a Bounce too


# ── identity notifications ──────────────────────────────────────────────────────────────────
def test_identity_notifications_go_to_the_topic_of_each_type(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=BOUNCES
    )
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Delivery", SnsTopic=BOUNCES
    )
    ses.set_identity_headers_in_notifications_enabled(
        Identity="example.com", NotificationType="Bounce", Enabled=True
    )
    message_id = send(ses, f"bounce@{SIM}", f"success@{SIM}", f"complaint@{SIM}")
    found = records(server, subscriber, 3)  # no Complaint topic: no complaint notification
    by_type = {r["notificationType"]: r for r in found if r["notificationType"] != "Delivery"}
    deliveries = [r for r in found if r["notificationType"] == "Delivery"]
    assert sorted(by_type) == ["Bounce"]
    assert sorted(r["delivery"]["recipients"][0] for r in deliveries) == [
        f"complaint@{SIM}",
        f"success@{SIM}",
    ]
    bounce = by_type["Bounce"]
    assert set(bounce) == {"notificationType", "bounce", "mail"}
    assert bounce["bounce"]["remoteMtaIp"] == "72.21.215.231"
    mail = bounce["mail"]
    assert mail["messageId"] == message_id
    assert (mail["sourceIp"], mail["callerIdentity"]) == ("127.0.0.1", "testing")
    assert "tags" not in mail
    assert mail["commonHeaders"]["subject"] == "Hi"  # headers on for Bounce
    assert "headers" not in deliveries[0]["mail"]  # and not for Delivery


def test_an_address_identity_settings_win_over_its_domain(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Delivery", SnsTopic=OTHERS
    )
    ses.verify_email_identity(EmailAddress="sender@example.com")
    ses.set_identity_notification_topic(
        Identity="sender@example.com", NotificationType="Delivery", SnsTopic=BOUNCES
    )
    send(ses, f"success@{SIM}")
    [notification] = [n for n in server.notifications() if "notificationType" in n["message"]]
    assert notification["topicArn"] == BOUNCES


# ── the receiving engine and the outbox ─────────────────────────────────────────────────────
def test_send_to_a_received_address_runs_the_receipt_rules_into_s3(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    """One SendEmail: send → receive → rule → S3 action."""
    message_id = send(ses, "support@example.com", ConfigurationSetName="events")
    [stored] = s3_objects(server, "support/")
    message = message_from_bytes(stored, policy=policy.default)
    assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert message["Subject"] == "Hi"
    assert message["Return-Path"] == f"<{message_id}@amazonses.com>"
    assert "from a8-96.smtp-out.amazonses.com" in message["Received"]
    [received] = server.messages()
    assert received["mailFrom"] == f"{message_id}@amazonses.com"
    send_event, delivery = records(server, subscriber, 2)
    assert (send_event["eventType"], delivery["eventType"]) == ("Send", "Delivery")
    assert delivery["delivery"]["smtpResponse"] == f"250 Ok {received['messageId']}"
    assert delivery["delivery"]["recipients"] == ["support@example.com"]
    [sent] = server.sent()
    [step] = [s for s in sent["trace"] if s["step"] == "received"]
    assert step["receivedMessageId"] == received["messageId"]


def test_other_recipients_go_to_the_outbox(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> None:
    production = SendingSettings(**{**FAST.__dict__, "production": True})
    server = inbound_factory(RULES, sending=production, sns_subscribers={EVENTS: (subscriber.url,)})
    configuration_set(server, sns("to-sns", ["delivery"]), name="raw")
    ses = client(server)
    raw = (
        b"From: sender@example.com\r\nTo: a@elsewhere.test, b@elsewhere.test\r\n"
        b"Subject: out\r\nX-SES-CONFIGURATION-SET: raw\r\n\r\nbody\r\n"
    )
    message_id = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    [entry] = outbox(server)
    assert (entry["mailFrom"], entry["recipients"], entry["messageId"]) == (
        f"{message_id}@amazonses.com",
        ["a@elsewhere.test", "b@elsewhere.test"],
        message_id,
    )
    assert outbox_message(server, entry)["Subject"] == "out"
    found = records(server, subscriber, 2)
    assert [r["delivery"]["recipients"] for r in found] == [
        ["a@elsewhere.test"],
        ["b@elsewhere.test"],
    ]
    assert {r["delivery"]["smtpResponse"] for r in found} == {f"250 Ok {entry['id']}"}


def test_a_message_without_a_configuration_set_publishes_no_event(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    send(ses, f"success@{SIM}", f"bounce@{SIM}")
    server.wait_idle()
    assert server.notifications() == []
    assert len(outbox(server)) == 1  # the DSN is still forwarded


def test_a_rendering_failure_publishes_its_event_once(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    ses.create_template(
        Template={"TemplateName": "hello", "SubjectPart": "Hi {{name}}", "TextPart": "x"}
    )
    message_id = ses.send_templated_email(
        Source="sender@example.com",
        Destination={"ToAddresses": [f"success@{SIM}"]},
        Template="hello",
        TemplateData="{}",
        ConfigurationSetName="events",
    )["MessageId"]
    [record] = records(server, subscriber, 1)
    assert record["eventType"] == "Rendering Failure"
    assert record["failure"] == {
        "errorMessage": "Attribute 'name' is not present in the rendering data.",
        "templateName": "hello",
    }
    assert record["mail"]["messageId"] == message_id
    assert "headers" not in record["mail"]
    [sent] = server.sent()
    assert sent["status"] == "renderingFailure"
    assert outbox(server) == []


# ── mail returned to the envelope sender ────────────────────────────────────────────────────
def test_a_bounce_action_on_mail_sent_here_comes_back_as_a_bounce(
    inbound_factory: Callable[..., RunningInbound], subscriber: Subscriber
) -> None:
    """Send → receive → Bounce action → the DSN to the VERP envelope sender → SES's Bounce
    event and notification, and the DSN forwarded to the feedback address."""
    server = inbound_factory(
        rules(rule("gone", bounce_action(), recipients=["gone@example.com"])),
        sending=FAST,
        sns_subscribers={EVENTS: (subscriber.url,), BOUNCES: (subscriber.url,)},
    )
    configuration_set(server, sns("to-sns", ALL_TYPES), name="events")
    ses = client(server)
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=BOUNCES
    )
    message_id = send(ses, "gone@example.com", ConfigurationSetName="events")
    found = records(server, subscriber, 4)
    assert [r.get("eventType") or r["notificationType"] for r in found] == [
        "Send",
        "Delivery",
        "Bounce",
        "Bounce",
    ]
    event, notification = found[2], found[3]
    assert "eventType" in event and "notificationType" in notification
    for record in (event, notification):
        assert record["mail"]["messageId"] == message_id
        bounce = record["bounce"]
        assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Permanent", "General")
        assert bounce["bouncedRecipients"] == [
            {
                "emailAddress": "gone@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 Mailbox does not exist",
            }
        ]
    [entry] = outbox(server)  # forwarded to the feedback address, not queued for the VERP one
    assert (entry["mailFrom"], entry["recipients"]) == ("", ["sender@example.com"])
    assert scan_message(outbox_message(server, entry)) == {b"gone@example.com"}
    [sent] = server.sent()
    [returned] = [s for s in sent["trace"] if s["step"] == "returned"]
    assert returned["bounce"] is True
    points = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["DeliveryAttempts"] for p in points) == 1
    assert sum(p["Bounces"] for p in points) == 1  # counted as SES counts a bounce


def test_send_bounce_for_mail_sent_here_comes_back_as_a_bounce(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    server = inbound_factory(rules(rule("keep", recipients=["support@example.com"])), sending=FAST)
    ses = client(server)
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=BOUNCES
    )
    send(ses, "support@example.com")
    [received] = server.messages()
    ses.send_bounce(
        OriginalMessageId=received["messageId"],
        BounceSender="mailer@example.com",
        BouncedRecipientInfoList=[
            {"Recipient": "support@example.com", "BounceType": "DoesNotExist"}
        ],
    )
    server.wait_idle()
    [notification] = server.notifications()
    assert notification["topicArn"] == BOUNCES
    bounce = notification["message"]["bounce"]
    assert bounce["bouncedRecipients"][0]["emailAddress"] == "support@example.com"
    assert bounce["bounceType"] == "Permanent"


def test_more_pending_messages_than_a_page_are_all_delivered(server: RunningInbound) -> None:
    """Messages stored while the worker was not running (a restart) are taken a page at a
    time; `wait_idle` returns only once every one is delivered."""
    deliveries = server.server.deliveries
    assert deliveries is not None
    server.call(deliveries.stop())
    ses = client(server)
    ses.create_template(Template={"TemplateName": "page", "SubjectPart": "Hi", "TextPart": "x"})
    for _ in range(3):  # 150 messages: more than one page (scheduling.PAGE_SIZE)
        ses.send_bulk_templated_email(
            Source="sender@example.com",
            Template="page",
            DefaultTemplateData="{}",
            Destinations=[{"Destination": {"ToAddresses": [f"success@{SIM}"]}}] * 50,
        )
    assert {s["status"] for s in server.get("/api/sent")} == {"accepted"}
    stats = server.get("/api/stats")
    assert (stats["sent"], stats["sentPending"]) == (150, 150)

    async def restart_and_settle() -> int:  # on the server's loop
        deliveries.start()
        await deliveries.settle()
        return len(server.server.store.sent_pending_ids())  # read before anything else runs

    assert server.call(restart_and_settle()) == 0
    assert {s["status"] for s in server.sent()} == {"done"}
    stats = server.get("/api/stats")
    assert (stats["sent"], stats["sentPending"]) == (150, 0)


def test_a_message_with_a_virus_is_rejected_after_the_send(
    server: RunningInbound, subscriber: Subscriber, ses: Any
) -> None:
    """SES accepts it (a MessageId), then finds the virus: Send and Reject, no delivery."""
    raw = (
        b"From: sender@example.com\r\nTo: success@simulator.amazonses.com, support@example.com\r\n"
        b"Subject: invoice\r\nX-SES-CONFIGURATION-SET: events\r\n\r\n" + EICAR + b"\r\n"
    )
    message_id = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    found = records(server, subscriber, 2)
    assert [r["eventType"] for r in found] == ["Send", "Reject"]
    assert found[1]["reject"] == {"reason": "Bad content"}
    assert found[1]["mail"]["messageId"] == message_id
    [sent] = server.sent()
    assert sent["status"] == "rejected"
    assert server.messages() == [] and outbox(server) == []  # nothing delivered
    points = ses.get_send_statistics()["SendDataPoints"]
    assert sum(p["Rejects"] for p in points) == 1


def test_messages_beyond_the_held_bytes_are_read_back_and_delivered(
    server: RunningInbound, ses: Any, subscriber: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker keeps the bytes of the messages it is handed up to HELD_BYTES; beyond, it
    keeps their ids and reads them back: delivered all the same, in order."""
    from inbound.sending import delivery

    monkeypatch.setattr(delivery, "HELD_BYTES", 0)
    ids = [send(ses, f"success@{SIM}", ConfigurationSetName="events") for _ in range(3)]
    events = records(server, subscriber, 6)
    assert [(e["eventType"], e["mail"]["messageId"]) for e in events] == [
        (kind, i) for i in ids for kind in ("Send", "Delivery")
    ]
    assert {m["status"] for m in server.sent()} == {"done"}


def test_a_reset_drops_the_messages_queued_before_it(server: RunningInbound, ses: Any) -> None:
    """Messages handed to the worker and then reset through the API are not delivered: no
    event, no message received here."""
    deliveries = server.server.deliveries
    assert deliveries is not None
    server.call(deliveries.stop())
    send(ses, "support@example.com", ConfigurationSetName="events")
    server.reset()

    async def restart() -> None:  # on the server's loop
        deliveries.start()

    server.call(restart())
    assert server.sent() == [] and server.messages() == [] and server.notifications() == []
    send(ses, "support@example.com")  # the worker runs on
    assert [m["status"] for m in server.sent()] == ["done"]
    assert len(server.messages()) == 1
