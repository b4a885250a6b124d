"""Smoke tests: every v1 Send operation through the real AWS CLI v1 (`aws ses send-email`,
`send-raw-email`, `send-templated-email`, `send-bulk-templated-email`,
`send-custom-verification-email`) against the running server, each message read back as
stored."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from inbound.testing import RunningInbound
from tests.api.test_aws_cli import aws
from tests.sending.conftest import client
from tests.sending.test_templated import TEMPLATE, VERIFICATION


def cli(server: RunningInbound, home: Path, *args: str) -> Any:
    """`aws ses <args>`'s JSON output; fails the test on a non-zero exit."""
    done = aws(
        SimpleNamespace(url=server.api_url),  # type: ignore[arg-type]
        home,
        *args,
        "--region", "us-east-1",
        "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_aws_cli_send_email(server: RunningInbound, tmp_path: Path) -> None:
    message_id = cli(
        server,
        tmp_path,
        "send-email",
        "--from", "sender@example.com",
        "--destination", "ToAddresses=user@example.com",
        "--message", "Subject={Data=From the CLI},Body={Text={Data=Hello}}",
    )["MessageId"]  # fmt: skip
    [sent] = server.sent()
    assert sent["messageId"] == message_id
    assert sent["message"]["Subject"] == "From the CLI"
    assert sent["message"].get_content() == "Hello\r\n"


def test_aws_cli_send_raw_email(server: RunningInbound, tmp_path: Path) -> None:
    raw = (
        "From: Sender <sender@example.com>\r\nTo: user@example.com\r\n"
        "Bcc: hidden@example.com\r\nSubject: raw from the CLI\r\n\r\nbody\r\n"
    )
    message_id = cli(
        server, tmp_path, "send-raw-email", "--raw-message", json.dumps({"Data": raw})
    )["MessageId"]
    [sent] = server.sent()
    assert sent["messageId"] == message_id
    assert sent["recipients"] == ["user@example.com", "hidden@example.com"]
    message = sent["message"]
    assert (message["Subject"], message["Bcc"]) == ("raw from the CLI", None)
    assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"


def test_aws_cli_send_templated_email(server: RunningInbound, tmp_path: Path) -> None:
    client(server).create_template(Template=TEMPLATE)
    message_id = cli(
        server,
        tmp_path,
        "send-templated-email",
        "--source", "sender@example.com",
        "--destination", "ToAddresses=user@example.com",
        "--template", "welcome",
        "--template-data", json.dumps({"name": "Ana", "plan": "pro"}),
    )["MessageId"]  # fmt: skip
    [sent] = server.sent()
    assert sent["messageId"] == message_id
    assert sent["message"]["Subject"] == "Welcome, Ana"
    assert "Hello Ana, your plan is pro." in sent["message"].as_string()


def test_aws_cli_send_bulk_templated_email(server: RunningInbound, tmp_path: Path) -> None:
    client(server).create_template(Template=TEMPLATE)
    destinations = [
        {
            "Destination": {"ToAddresses": ["ana@example.com"]},
            "ReplacementTemplateData": json.dumps({"name": "Ana"}),
        },
        {"Destination": {"ToAddresses": ["bo@example.com"]}},
    ]
    statuses = cli(
        server,
        tmp_path,
        "send-bulk-templated-email",
        "--source", "sender@example.com",
        "--template", "welcome",
        "--default-template-data", json.dumps({"name": "friend", "plan": "free"}),
        "--destinations", json.dumps(destinations),
    )["Status"]  # fmt: skip
    assert [s["Status"] for s in statuses] == ["Success", "Success"]
    sent = server.sent()
    assert [s["messageId"] for s in sent] == [s["MessageId"] for s in statuses]
    assert [(s["recipients"], s["message"]["Subject"]) for s in sent] == [
        (["ana@example.com"], "Welcome, Ana"),
        (["bo@example.com"], "Welcome, friend"),
    ]


def test_aws_cli_send_custom_verification_email(
    sending: Callable[..., RunningInbound], tmp_path: Path
) -> None:
    server = sending(production=True)  # the sandbox refuses it: ProductionAccessNotGranted
    client(server).create_custom_verification_email_template(**VERIFICATION)
    message_id = cli(
        server,
        tmp_path,
        "send-custom-verification-email",
        "--email-address", "new.user@customer.test",
        "--template-name", "verify",
    )["MessageId"]  # fmt: skip
    [sent] = server.sent()
    assert sent["messageId"] == message_id
    message = sent["message"]
    assert (message["From"], message["To"], message["Subject"]) == (
        "noreply@example.com",
        "new.user@customer.test",
        "Please confirm",
    )
    assert "/api/identities/new.user@customer.test/confirm" in message.get_content()
