"""Mail without `Date` or `Message-ID` still gives consumers a `commonHeaders` with both, so
Powertools' `SesModel` / `SESEvent` read every event it is in (docs/behaviour.md, "Mail
without Date or Message-ID"); the message itself is left as received."""

from __future__ import annotations

import email
import json
import re

import pytest

from inbound.testing import RunningInbound
from tests.powertools import strict_ses_mail, strict_ses_model
from tests.rulesets import ALERTS, FUNCTION, lambda_, message, rule, rules, s3, sns

HOST = "inbound-smtp.us-east-1.amazonaws.com"
FULL = message()
NO_DATE = FULL.replace(b"Date: Wed, 25 Nov 2026 10:00:00 +0000\r\n", b"")
NO_ID = FULL.replace(b"Message-ID: <m1@sender.test>\r\n", b"")
NEITHER = NO_DATE.replace(b"Message-ID: <m1@sender.test>\r\n", b"")


def _received_date(mail: dict) -> str:
    """The date SES's Received header gives for the moment it received the message."""
    [received] = [h["value"] for h in mail["headers"] if h["name"] == "Received"]
    match = re.search(r"; (.+) \(UTC\)$", received)
    assert match
    return match.group(1)


def _run(inbound_factory, raw: bytes) -> tuple[RunningInbound, str, list[dict]]:
    events: list[dict] = []
    server = inbound_factory(
        rules(rule("r", lambda_("Event"), sns(), s3("b", TopicArn=ALERTS), ScanEnabled=True)),
        lambda_handlers={FUNCTION: lambda event, context: events.append(event)},
    )
    server.send("sender@sender.test", ["user@example.com"], raw)
    server.wait_idle()
    [received] = server.messages()
    return server, received["messageId"], events


@pytest.mark.parametrize(
    ("raw", "has_date", "has_id"),
    [(NO_DATE, False, True), (NO_ID, True, False), (NEITHER, False, False), (FULL, True, True)],
    ids=["no-date", "no-message-id", "neither", "both"],
)
def test_every_consumer_event_parses_with_powertools(inbound_factory, raw, has_date, has_id):
    from aws_lambda_powertools.utilities.data_classes import SESEvent

    server, message_id, [event] = _run(inbound_factory, raw)
    notification, alert = (n["message"] for n in server.notifications())
    assert "content" in notification and "content" not in alert
    mails = [event["Records"][0]["ses"]["mail"], notification["mail"], alert["mail"]]
    for mail in mails:
        strict_ses_mail(mail)
        common = mail["commonHeaders"]
        assert common["date"] == (
            "Wed, 25 Nov 2026 10:00:00 +0000" if has_date else _received_date(mail)
        )
        assert common["messageId"] == ("<m1@sender.test>" if has_id else f"<{message_id}@{HOST}>")
        names = {h["name"] for h in mail["headers"]}  # the fields the message really has
        assert ("Date" in names, "Message-ID" in names) == (has_date, has_id)
    strict_ses_model(json.dumps(event).encode())
    headers = SESEvent(event).record.ses.mail.common_headers  # raised KeyError before
    assert (headers.date, headers.message_id) == (
        mails[0]["commonHeaders"]["date"],
        mails[0]["commonHeaders"]["messageId"],
    )
    stored = email.message_from_bytes(server.get(f"/api/s3/b/{message_id}"))
    assert (stored["Date"] is not None, stored["Message-ID"] is not None) == (has_date, has_id)
