"""Every receipt-rule action end to end: SMTP in, backend records out (spec receiving.md §3, §4)."""

from __future__ import annotations

import base64
import email
import mailbox
import threading
from pathlib import Path

import pytest

from inbound.rules import codec
from inbound.testing import RunningInbound
from tests.rulesets import (
    ALERTS,
    FUNCTION,
    TOPIC,
    add_header,
    bounce,
    lambda_,
    message,
    rule,
    rules,
    s3,
    sns,
    stop,
)

SES_HEADER_ORDER = [
    "Return-Path",
    "Received",
    "Received-SPF",
    "Authentication-Results",
    "X-SES-RECEIPT",
    "X-SES-DKIM-SIGNATURE",
]


def send(server: RunningInbound, rcpts=("user@example.com",), raw: bytes | None = None) -> str:
    server.send("sender@sender.test", list(rcpts), raw or message())
    [received] = server.messages()
    return received["messageId"]


def actions(server: RunningInbound, message_id: str) -> list[dict]:
    return [t for t in server.trace(message_id) if t["kind"] == "action"]


def stored_object(server: RunningInbound, bucket: str, key: str) -> bytes:
    return server.get(f"/api/s3/{bucket}/{key}")


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(None, "{id}"), ("mail/", "mail/{id}"), ("mail", "mail/{id}"), ("a/b/", "a/b/{id}")],
    ids=["no-prefix", "prefix-slash", "prefix-no-slash", "nested"],
)
def test_s3_stores_the_message_with_ses_headers_at_prefix_plus_id(
    inbound_factory, prefix, expected
) -> None:
    server = inbound_factory(rules(rule("r", s3("mail-bucket", prefix))))
    message_id = send(server)
    key = expected.format(id=message_id)
    body = stored_object(server, "mail-bucket", key)
    parsed = email.message_from_bytes(body)
    assert list(parsed.keys())[: len(SES_HEADER_ORDER)] == SES_HEADER_ORDER
    assert parsed["Return-Path"] == "<sender@sender.test>"
    assert f"with SMTP id {message_id}" in parsed["Received"]
    assert body.endswith(message())  # the original follows, byte for byte
    [step] = actions(server, message_id)
    assert step["detail"]["action"]["objectKey"] == key
    assert step["detail"]["action"]["bucketName"] == "mail-bucket"
    [listed] = server.get("/api/s3")
    assert (listed["key"], listed["size"], listed["metadata"]) == (key, len(body), {})


def test_ses_dkim_signature_b_looks_like_a_1024_bit_signature(inbound_factory) -> None:
    """Not a verifiable signature (only AWS holds amazonses.com's key), but 128 bytes that look
    random: no repeated block, and a different value for a different body."""
    server = inbound_factory(rules(rule("r", s3("mail-bucket"))))
    signatures = []
    for body in ("one\r\n", "two\r\n"):
        server.send("sender@sender.test", ["user@example.com"], message(body=body))
        server.wait_idle()
        [listed] = [o for o in server.get("/api/s3") if o["key"] not in {s[0] for s in signatures}]
        parsed = email.message_from_bytes(stored_object(server, "mail-bucket", listed["key"]))
        tags = dict(
            t.strip().split("=", 1) for t in parsed["X-SES-DKIM-SIGNATURE"].split(";") if t.strip()
        )
        signatures.append((listed["key"], base64.b64decode(tags["b"], validate=True)))
    for _, b in signatures:
        assert len(b) == 128
        blocks = [b[i : i + 16] for i in range(0, 128, 16)]
        assert len(set(blocks)) == len(blocks)
    assert signatures[0][1] != signatures[1][1]


@pytest.mark.inbound_rules(rules(rule("r", sns(), sns(f"{TOPIC}-b64", "Base64"))))
def test_sns_notification_carries_content_in_utf8_and_base64(inbound_server) -> None:
    message_id = send(inbound_server, raw=message(body="Grüße\r\n"))
    utf8, b64 = inbound_server.notifications()
    assert utf8["subject"] == b64["subject"] == "Amazon SES Email Receipt Notification"
    assert utf8["message"]["notificationType"] == "Received"
    assert utf8["message"]["receipt"]["action"] == {
        "type": "SNS",
        "topicArn": TOPIC,
        "encoding": "UTF8",
    }
    assert b64["message"]["receipt"]["action"]["encoding"] == "BASE64"
    content = utf8["message"]["content"]
    assert base64.b64decode(b64["message"]["content"]).decode() == content
    assert "Grüße" in content and f"SMTP id {message_id}" in content
    assert set(utf8["message"]) == {"notificationType", "mail", "receipt", "content"}


@pytest.mark.inbound_rules(rules(rule("r", sns())))
def test_mail_and_receipt_objects_have_ses_shape(inbound_server) -> None:
    raw = message(
        sender='"Doe, John" <john@sender.test>',
        to="a@example.com, B <b@example.com>",
        extra="Cc: c@example.com\r\nReply-To: r@sender.test\r\nSender: <s@sender.test>\r\n",
        subject="=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=",
    )
    message_id = send(inbound_server, ["user@example.com"], raw)
    [note] = inbound_server.notifications()
    mail, receipt = note["message"]["mail"], note["message"]["receipt"]
    assert list(mail) == [
        "timestamp",
        "source",
        "messageId",
        "destination",
        "headersTruncated",
        "headers",
        "commonHeaders",
    ]
    assert mail["source"] == "sender@sender.test"
    assert mail["messageId"] == message_id
    assert mail["destination"] == ["a@example.com", "b@example.com", "c@example.com"]
    assert mail["headersTruncated"] is False
    assert [h["name"] for h in mail["headers"][:6]] == SES_HEADER_ORDER
    assert mail["headers"][-1] == {"name": "MIME-Version", "value": "1.0"} or any(
        h["name"] == "Content-Type" for h in mail["headers"]
    )
    assert mail["commonHeaders"] == {
        "returnPath": "sender@sender.test",
        "from": ['"Doe, John" <john@sender.test>'],
        "to": ["a@example.com", "B <b@example.com>"],
        "subject": "Grüße",
        "date": "Wed, 25 Nov 2026 10:00:00 +0000",
        "messageId": "<m1@sender.test>",
        "cc": ["c@example.com"],
        "replyTo": ["r@sender.test"],
        "sender": "s@sender.test",
    }
    assert mail["timestamp"].endswith("Z") and len(mail["timestamp"]) == 24
    assert receipt["timestamp"] == mail["timestamp"]
    assert isinstance(receipt["processingTimeMillis"], int)
    assert receipt["recipients"] == ["user@example.com"]
    assert {k: receipt[k]["status"] for k in receipt if k.endswith("Verdict")} == {
        "spamVerdict": "DISABLED",
        "virusVerdict": "DISABLED",
        "spfVerdict": "PROCESSING_FAILED",
        "dkimVerdict": "GRAY",
        "dmarcVerdict": "PROCESSING_FAILED",
    }


def test_headers_over_10_kb_are_truncated(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", sns())))
    filler = "".join(f"X-Filler-{i}: {'y' * 90}\r\n" for i in range(150))
    send(server, raw=message(extra=filler))
    [note] = server.notifications()
    mail = note["message"]["mail"]
    assert mail["headersTruncated"] is True
    assert sum(len(h["name"]) + len(h["value"]) for h in mail["headers"]) <= 10 * 1024


@pytest.mark.inbound_rules(
    rules(
        rule("first", add_header("X-First", "one"), s3("b", "first/")),
        rule("second", add_header("X-Second", "two"), s3("b", "second/"), sns()),
    )
)
def test_added_headers_are_seen_by_later_actions_and_rules(inbound_server) -> None:
    message_id = send(inbound_server)
    first = stored_object(inbound_server, "b", f"first/{message_id}")
    second = stored_object(inbound_server, "b", f"second/{message_id}")
    assert first.startswith(b"X-First: one\r\nReturn-Path: ")
    assert second.startswith(b"X-Second: two\r\nX-First: one\r\nReturn-Path: ")
    [note] = inbound_server.notifications()
    names = [h["name"] for h in note["message"]["mail"]["headers"]]
    assert names[:3] == ["X-Second", "X-First", "Return-Path"]


@pytest.mark.inbound_rules(
    rules(
        rule("a", s3("b", "a/"), recipients=["alice@example.com"]),
        rule("domain", sns(), recipients=["example.com"]),
        rule("c", s3("b", "c/"), recipients=["carol@example.com"]),
    )
)
def test_each_matching_rule_runs_once_with_its_own_recipients(inbound_server) -> None:
    rcpts = ["alice@example.com", "bob@example.com", "carol@example.com"]
    message_id = send(inbound_server, rcpts)
    steps = actions(inbound_server, message_id)
    assert [(s["rule"], s["action"]) for s in steps] == [
        ("a", "S3"),
        ("domain", "SNS"),
        ("c", "S3"),
    ]
    [note] = inbound_server.notifications()
    assert note["message"]["receipt"]["recipients"] == rcpts
    rule_entries = [t for t in inbound_server.trace(message_id) if t["kind"] == "rule"]
    assert rule_entries[0]["detail"] == {
        "recipients": ["alice@example.com"],
        "why": {"alice@example.com": "address alice@example.com"},
    }


@pytest.mark.inbound_rules(
    rules(
        rule("bounce-then-stop", bounce(), stop(ALERTS), s3("b", "never/")),
        rule("later", s3("b", "later/")),
    )
)
def test_stop_ends_the_rule_set_and_alerts_without_content(inbound_server) -> None:
    message_id = send(inbound_server)
    assert [s["action"] for s in actions(inbound_server, message_id)] == ["Bounce", "Stop"]
    assert inbound_server.get("/api/s3") == []
    [alert] = inbound_server.notifications()
    assert alert["topicArn"] == ALERTS
    assert "content" not in alert["message"]
    assert alert["message"]["receipt"]["action"] == {"type": "Stop", "topicArn": ALERTS}


@pytest.mark.inbound_rules(rules(rule("r", bounce(sender="mailer@example.com"))))
def test_bounce_sends_a_dsn_to_the_envelope_sender(inbound_server) -> None:
    message_id = send(inbound_server)
    [queued] = inbound_server.get("/api/outbox")
    assert queued["mailFrom"] == "" and queued["recipients"] == ["sender@sender.test"]
    raw = inbound_server.get(f"/api/outbox/{queued['id']}/raw")
    dsn = email.message_from_bytes(raw)
    assert dsn["From"] == "mailer@example.com"
    assert dsn["To"] == "sender@sender.test"
    assert dsn["Subject"] == "Delivery Status Notification (Failure)"
    assert dsn.get_content_type() == "multipart/report"
    status = dsn.get_payload()[1].get_payload()
    assert status[0]["Reporting-MTA"] == "dns; inbound-smtp.us-east-1.amazonaws.com"
    assert status[1]["Final-Recipient"] == "rfc822; user@example.com"
    assert status[1]["Diagnostic-Code"] == "smtp; 550 5.1.1 Mailbox does not exist"
    assert status[1]["Status"] == "5.1.1"
    assert f"SMTP id {message_id}" in dsn.get_payload()[2].as_string()


@pytest.mark.inbound_rules(rules(rule("r", bounce())))
def test_a_bounce_is_never_bounced(inbound_server) -> None:
    inbound_server.send("", ["user@example.com"], message())
    [received] = inbound_server.messages()
    assert received["mailFrom"] == ""  # SES's `mail.source` for the null sender (§4.2)
    [step] = actions(inbound_server, received["messageId"])
    assert step["detail"]["dsn"].startswith("not sent")
    assert inbound_server.get("/api/outbox") == []


def test_sns_over_150_kb_fails_and_bounces_552_5_2_3(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", sns(), s3("b"))))
    message_id = send(server, raw=message(body=("z" * 76 + "\r\n") * 2100))
    sns_step, s3_step = actions(server, message_id)
    assert "150 KB" in sns_step["error"]
    assert s3_step["error"] is None  # the remaining actions still run
    assert server.notifications() == []
    [queued] = server.get("/api/outbox")
    dsn = email.message_from_bytes(server.get(f"/api/outbox/{queued['id']}/raw"))
    status = dsn.get_payload()[1].get_payload()
    assert status[1]["Status"] == "5.2.3"
    assert "552 5.2.3 Message length exceeds limit set by recipient" in status[1]["Diagnostic-Code"]


@pytest.mark.parametrize(
    ("returned", "expected_actions"),
    [
        ({"disposition": "CONTINUE"}, ["Lambda", "S3", "S3"]),
        ({"disposition": "stop_rule"}, ["Lambda", "S3"]),
        ({"disposition": "STOP_RULE_SET"}, ["Lambda"]),
        ({"disposition": "bogus"}, ["Lambda", "S3", "S3"]),
        (None, ["Lambda", "S3", "S3"]),
    ],
    ids=["continue", "stop-rule-lowercase", "stop-rule-set", "unknown", "none"],
)
def test_lambda_request_response_disposition(inbound_factory, returned, expected_actions) -> None:
    events = []

    def handler(event, context):
        events.append((event, context.invoked_function_arn))
        return returned

    server = inbound_factory(
        rules(
            rule("first", lambda_("RequestResponse"), s3("b", "first/")),
            rule("second", s3("b", "second/")),
        ),
        lambda_handlers={FUNCTION: handler},
    )
    message_id = send(server)
    assert [s["action"] for s in actions(server, message_id)] == expected_actions
    [(event, arn)] = events
    assert arn == FUNCTION
    [record] = event["Records"]
    assert (record["eventSource"], record["eventVersion"]) == ("aws:ses", "1.0")
    assert set(record["ses"]) == {"mail", "receipt"}
    assert record["ses"]["receipt"]["action"] == {
        "type": "Lambda",
        "functionArn": FUNCTION,
        "invocationType": "RequestResponse",
    }
    [invocation] = server.get("/api/lambda")
    assert invocation["payload"] == event
    assert invocation["response"] == returned


def test_lambda_event_does_not_wait(inbound_factory) -> None:
    release = threading.Event()
    calls = []

    def slow(event, context):
        release.wait(10)
        calls.append(event)

    server = inbound_factory(
        rules(rule("r", lambda_("Event"), s3("b"))), lambda_handlers={FUNCTION: slow}
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    server.call(_until_finished(server))
    [received] = server.get("/api/messages")
    assert received["status"] == "done" and calls == []  # S3 ran while the function still runs
    release.set()
    server.wait_idle()


async def _until_finished(server: RunningInbound) -> None:
    import asyncio

    for _ in range(200):
        if server.server.store.counts()["pending"] == 0:
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("failure", ["raise", "timeout"])
def test_lambda_failure_is_recorded_and_flow_continues(inbound_factory, failure) -> None:
    def handler(event, context):
        if failure == "raise":
            raise RuntimeError("boom")
        threading.Event().wait(2)

    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"), s3("b"))),
        lambda_handlers={FUNCTION: handler},
        lambda_timeout=0.3,
    )
    message_id = send(server)
    lam, store = actions(server, message_id)
    assert ("boom" in lam["error"]) if failure == "raise" else ("timed out" in lam["error"])
    assert store["error"] is None


@pytest.mark.inbound_rules(
    rules(
        rule(
            "wm",
            {
                "WorkmailAction": {
                    "OrganizationArn": "arn:aws:workmail:us-east-1:123456789012:organization/m-abc"
                }
            },
        )
    )
)
def test_workmail_delivers_into_a_maildir(inbound_server) -> None:
    message_id = send(inbound_server)
    [delivery] = inbound_server.get("/api/workmail")
    folder = Path(delivery["path"]).parent.parent
    [stored] = list(mailbox.Maildir(folder, create=False))
    assert f"SMTP id {message_id}" in stored["Received"]


def test_scan_verdicts_only_for_rules_with_scan_enabled(inbound_factory) -> None:
    gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
    server = inbound_factory(
        rules(
            rule("scan", s3("b", "scan/"), sns(), ScanEnabled=True),
            rule("plain", s3("b", "plain/")),
        )
    )
    message_id = send(server, raw=message(body=gtube + "\r\n"))
    scanned = email.message_from_bytes(stored_object(server, "b", f"scan/{message_id}"))
    plain = email.message_from_bytes(stored_object(server, "b", f"plain/{message_id}"))
    assert scanned["X-SES-Spam-Verdict"] == "FAIL"
    assert scanned["X-SES-Virus-Verdict"] == "PASS"
    assert "X-SES-Spam-Verdict" not in plain
    [note] = server.notifications()
    assert note["message"]["receipt"]["spamVerdict"] == {"status": "FAIL"}


@pytest.mark.inbound_rules(rules(rule("r", sns(), ScanEnabled=True)))
def test_eicar_in_a_base64_attachment_is_a_virus(inbound_server) -> None:
    eicar = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    raw = (
        b"From: s@sender.test\r\nTo: user@example.com\r\nSubject: att\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n'
        b"\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(eicar) + b"--b--\r\n"
    )
    send(inbound_server, raw=raw)
    [note] = inbound_server.notifications()
    assert note["message"]["receipt"]["virusVerdict"] == {"status": "FAIL"}


def test_a_custom_executor_runs_for_its_action_name(inbound_factory) -> None:
    from inbound.actions import Result

    seen = []

    async def connect(ctx):
        seen.append((ctx.action.instance_arn, ctx.recipients))
        return Result(detail={"custom": True})

    instance = (
        "arn:aws:connect:us-east-1:123456789012:instance/11111111-2222-3333-4444-555555555555"
    )
    server = inbound_factory(
        rules(
            rule(
                "c",
                {
                    "ConnectAction": {
                        "InstanceARN": instance,
                        "IAMRoleARN": "arn:aws:iam::123456789012:role/connect",
                    }
                },
            )
        ),
        executors={"ConnectAction": connect},
    )
    message_id = send(server)
    assert seen == [(instance, ["user@example.com"])] or seen == [(instance, ("user@example.com",))]
    [step] = actions(server, message_id)
    assert step["detail"] == {"custom": True}


def test_a_message_keeps_the_rules_it_was_received_under(inbound_factory) -> None:

    proceed = threading.Event()
    entered = threading.Event()

    def gate(event, context):
        entered.set()
        proceed.wait(10)
        return {"disposition": "CONTINUE"}

    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"), s3("b", "old/"))),
        lambda_handlers={FUNCTION: gate},
    )
    server.send("sender@sender.test", ["user@example.com"], message())
    assert entered.wait(10)
    new_state = codec.parse_rules(
        rules(rule("r", s3("b", "new/"))), frozenset({"example.com"}), "us-east-1"
    )
    server.call(server.server.keeper.edit(lambda _: new_state))
    proceed.set()
    [received] = server.messages()
    assert [o["key"] for o in server.get("/api/s3")] == [f"old/{received['messageId']}"]
    server.send("sender@sender.test", ["user@example.com"], message())
    server.wait_idle()
    keys = sorted(o["key"].split("/")[0] for o in server.get("/api/s3"))
    assert keys == ["new", "old"]


def test_reset_clears_everything(inbound_factory) -> None:
    server = inbound_factory(rules(rule("r", s3("b"), sns())))
    send(server)
    server.reset()
    assert server.get("/api/messages") == []
    assert server.get("/api/s3") == [] and server.get("/api/notifications") == []
    assert server.get("/api/stats") == {"messages": 0, "pending": 0, "sent": 0, "sentPending": 0}
