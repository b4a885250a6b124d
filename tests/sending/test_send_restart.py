"""A message whose Send* call got its MessageId survives a kill -9 right after the reply: the
next start delivers it, and every event, notification and message it causes exists once."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import boto3
from botocore.config import Config

from tests.receiving.test_restart import _get, _start
from tests.rulesets import rule, rules, s3
from tests.sending.test_feedback import TOPIC, sns

RECIPIENTS = [
    "support@example.com",
    "success@simulator.amazonses.com",
    "bounce@simulator.amazonses.com",
    "complaint@simulator.amazonses.com",
    "someone@elsewhere.test",
]


def _client(http_url: str):
    return boto3.client(
        "ses",
        endpoint_url=http_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}),
    )


def _until_done(http_url: str, message_id: str) -> dict:
    for _ in range(400):
        sent = _get(f"{http_url}/api/sent/{message_id}")
        if sent["status"] == "done":
            return sent
        time.sleep(0.05)
    raise AssertionError(f"not delivered: {sent}")


def _until_received(http_url: str) -> None:
    """Every received message processed: a delivery to receiving is done once the receiving
    side accepted the message, before its actions ran."""
    for _ in range(400):
        if _get(f"{http_url}/api/stats")["pending"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("received mail still pending")


def test_sent_message_is_delivered_once_after_a_kill_after_the_reply(tmp_path: Path) -> None:
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n[sending]\nproduction = true\n')
    (tmp_path / "rules.json").write_text(
        json.dumps(rules(rule("support", s3("b", "in/"), recipients=["support@example.com"])))
    )
    data = tmp_path / "data"
    process, _, http_url = _start(config, data)
    try:
        ses = _client(http_url)
        ses.create_configuration_set(ConfigurationSet={"Name": "events"})
        ses.create_configuration_set_event_destination(
            ConfigurationSetName="events",
            EventDestination=sns("sns", ["send", "delivery", "bounce", "complaint"]),
        )
        ses.set_identity_notification_topic(
            Identity="example.com", NotificationType="Bounce", SnsTopic=TOPIC
        )
        message_id = ses.send_email(
            Source="sender@example.com",
            Destination={"ToAddresses": RECIPIENTS},
            Message={"Subject": {"Data": "durable"}, "Body": {"Text": {"Data": "kept"}}},
            ConfigurationSetName="events",
        )["MessageId"]
    finally:
        os.kill(process.pid, signal.SIGKILL)  # no shutdown: only what was committed remains
        process.wait()

    process, _, http_url = _start(config, data)
    try:
        sent = _until_done(http_url, message_id)
        _until_received(http_url)
        with urllib.request.urlopen(f"{http_url}/api/sent/{message_id}/raw", timeout=10) as got:
            message = message_from_bytes(got.read(), policy=policy.default)
        assert message["Subject"] == "durable"
        assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
        [done] = [s for s in sent["trace"] if s["step"] == "done"]
        assert [(r["recipient"], r["route"]) for r in done["recipients"]] == [
            ("support@example.com", "receiving"),
            ("success@simulator.amazonses.com", "simulator"),
            ("bounce@simulator.amazonses.com", "simulator"),
            ("complaint@simulator.amazonses.com", "simulator"),
            ("someone@elsewhere.test", "outbox"),
        ]
        keys = [s["key"] for s in sent["trace"] if "key" in s]
        assert len(keys) == len(set(keys))  # no step recorded twice

        published = Counter()
        for n in _get(f"{http_url}/api/notifications"):
            body = json.loads(n["message"])
            kind = body.get("eventType") or "notification:" + body["notificationType"]
            outcome = next(
                body[k] for k in ("send", "delivery", "bounce", "complaint") if k in body
            )
            who = outcome.get("recipients") or [
                r["emailAddress"]
                for r in outcome.get("bouncedRecipients", outcome.get("complainedRecipients", []))
            ]
            published[(kind, *who)] += 1
        assert published == Counter(
            {
                ("Send",): 1,
                ("Delivery", "support@example.com"): 1,
                ("Delivery", "success@simulator.amazonses.com"): 1,
                ("Delivery", "complaint@simulator.amazonses.com"): 1,
                ("Delivery", "someone@elsewhere.test"): 1,
                ("Bounce", "bounce@simulator.amazonses.com"): 1,
                ("Complaint", "complaint@simulator.amazonses.com"): 1,
                ("notification:Bounce", "bounce@simulator.amazonses.com"): 1,
            }
        )
        received = [
            m for m in _get(f"{http_url}/api/messages") if m["mailFrom"].startswith(message_id)
        ]
        assert [m["recipients"] for m in received] == [["support@example.com"]]
        assert [o["key"] for o in _get(f"{http_url}/api/s3")] == [f"in/{received[0]['messageId']}"]
        outbox = Counter((o["mailFrom"], *o["recipients"]) for o in _get(f"{http_url}/api/outbox"))
        assert outbox == Counter(
            {
                (f"{message_id}@amazonses.com", "someone@elsewhere.test"): 1,
                ("", "sender@example.com"): 2,  # the bounce's DSN and the complaint
            }
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0


def test_a_large_sent_message_kept_as_a_file_survives_a_kill_after_the_reply(
    tmp_path: Path,
) -> None:
    """Over 2 MiB the bytes are a file (store/sent.py): fsynced with its folder before the row,
    so the MessageId answered means the file is there for the next start."""
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    (tmp_path / "rules.json").write_text(json.dumps(rules()))
    data = tmp_path / "data"
    line = b"x" * 76 + b"\r\n"
    raw = (
        b"From: sender@example.com\r\nTo: success@simulator.amazonses.com\r\nSubject: big\r\n\r\n"
        + line * (3 * 1024 * 1024 // len(line))
    )
    process, _, http_url = _start(config, data)
    try:
        message_id = _client(http_url).send_raw_email(RawMessage={"Data": raw})["MessageId"]
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    kept = (data / "sent" / message_id).read_bytes()
    assert kept.endswith(raw.partition(b"\r\n\r\n")[2])
    process, _, http_url = _start(config, data)
    try:
        assert _until_done(http_url, message_id)["status"] == "done"
        with urllib.request.urlopen(f"{http_url}/api/sent/{message_id}/raw", timeout=10) as got:
            assert got.read() == kept
        assert sorted(p.name for p in (data / "sent").iterdir()) == [message_id]
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
