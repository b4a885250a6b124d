"""The SMTP interface (email-smtp.<region>.amazonaws.com) through real sockets: smtplib with
STARTTLS and implicit TLS, AUTH PLAIN and LOGIN with SES SMTP credentials, SES's replies for
every refusal, and a message sent here stored exactly as SendRawEmail stores it."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from inbound.config import Address
from inbound.errors import (
    AccountSendingPaused,
    InvalidParameterValue,
    MailFromDomainNotVerified,
    MessageRejected,
    Throttling,
)
from inbound.sending import smtp_replies
from inbound.sending.credentials import smtp_password
from inbound.testing import RunningInbound
from tests.sending.conftest import FAST, client

# The AWS documentation's example access key
KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PASSWORD = smtp_password(SECRET, "us-east-1")
RAW = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: to@example.com\r\n"
    b"Bcc: hidden@example.com\r\n"
    b"Subject: over SMTP\r\n"
    b"X-SES-CONFIGURATION-SET: transactional\r\n"
    b"X-SES-MESSAGE-TAGS: campaign=launch\r\n"
    b"\r\n"
    b"Hello\r\n"
)


@pytest.fixture
def submitting(inbound_factory: Callable[..., RunningInbound]) -> Callable[..., RunningInbound]:
    """`submitting(**SendingSettings fields)`: both SMTP interface ports on, one access key."""

    def make(**changes: Any) -> RunningInbound:
        sending = dataclasses.replace(FAST, smtps=Address("127.0.0.1", 0), **changes)
        return inbound_factory(
            verified=["example.com"], sending=sending, api_credentials={KEY_ID: SECRET}
        )

    return make


@pytest.fixture
def server(submitting: Callable[..., RunningInbound]) -> RunningInbound:
    return submitting()


def trusting() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def connect(server: RunningInbound) -> smtplib.SMTP:
    assert server.submission_address is not None
    return smtplib.SMTP(*server.submission_address, timeout=30)


def logged_in(server: RunningInbound) -> smtplib.SMTP:
    smtp = connect(server)
    smtp.starttls(context=trusting())
    smtp.login(KEY_ID, PASSWORD)
    return smtp


def refusal(call: Callable[[], Any]) -> tuple[int, str]:
    with pytest.raises(smtplib.SMTPResponseException) as caught:
        call()
    return caught.value.smtp_code, caught.value.smtp_error.decode()


def data_refusal(server: RunningInbound, sender: str, recipients: list[str], raw: bytes) -> str:
    with logged_in(server) as smtp:
        smtp.mail(sender)
        for recipient in recipients:
            assert smtp.rcpt(recipient)[0] == 250
        code, text = smtp.data(raw)
    return f"{code} {text.decode()}"


def message(sender: str = "sender@example.com", to: str = "to@example.com") -> bytes:
    return f"From: {sender}\r\nTo: {to}\r\nSubject: x\r\n\r\nbody\r\n".encode()


# ── the conversation ────────────────────────────────────────────────────────────────────────
def test_greeting_and_ehlo_are_ses_endpoint_s(server: RunningInbound) -> None:
    assert server.submission_address is not None
    with smtplib.SMTP(timeout=30) as smtp:
        code, greeting = smtp.connect(*server.submission_address)
        assert code == 220
        # `220 email-smtp.amazonaws.com ESMTP SimpleEmailService-d-VCSHDP1YZ A1b2C3d4E5f6G7h8I9j0`
        assert re.fullmatch(
            rb"email-smtp\.amazonaws\.com ESMTP SimpleEmailService-d-[0-9A-Z]{9} [0-9A-Za-z]{20}",
            greeting,
        )
        code, text = smtp.ehlo("client.test")
        assert (code, text.decode().splitlines()) == (
            250,
            ["email-smtp.amazonaws.com", "8BITMIME", "STARTTLS", "AUTH PLAIN LOGIN", "Ok"],
        )
        assert smtp.docmd("STARTTLS") == (220, b"Ready to start TLS")
        smtp.sock = trusting().wrap_socket(smtp.sock)
        smtp.file = None
        code, text = smtp.ehlo("client.test")
        assert text.decode().splitlines() == [
            "email-smtp.amazonaws.com",
            "8BITMIME",
            "AUTH PLAIN LOGIN",
            "Ok",
        ]


def test_auth_login_with_ses_prompts_then_send(server: RunningInbound) -> None:
    with connect(server) as smtp:
        smtp.starttls(context=trusting())
        smtp.ehlo("client.test")
        assert smtp.docmd("AUTH", "LOGIN") == (334, b"VXNlcm5hbWU6")  # "Username:"
        assert smtp.docmd(base64.b64encode(KEY_ID.encode()).decode()) == (334, b"UGFzc3dvcmQ6")
        reply = smtp.docmd(base64.b64encode(PASSWORD.encode()).decode())
        assert reply == (235, b"Authentication successful.")
        smtp.mail("sender@example.com")
        smtp.rcpt("to@example.com")
        code, text = smtp.data(message())
    assert code == 250 and text.startswith(b"Ok 0100")
    [sent] = server.sent()
    assert text.decode() == f"Ok {sent['messageId']}"


def test_auth_plain_with_smtplib_login(server: RunningInbound) -> None:
    with connect(server) as smtp:
        smtp.starttls(context=trusting())
        assert smtp.login(KEY_ID, PASSWORD) == (235, b"Authentication successful.")
        assert smtp.sendmail("sender@example.com", ["to@example.com"], message()) == {}
    assert len(server.sent()) == 1


def test_noop_and_rset_say_ok_as_ses_does(server: RunningInbound) -> None:
    with logged_in(server) as smtp:
        assert smtp.noop() == (250, b"Ok")
        smtp.mail("sender@example.com")
        assert smtp.rset() == (250, b"Ok")


def test_implicit_tls_port(server: RunningInbound) -> None:
    assert server.submission_tls_address is not None
    host, port = server.submission_tls_address
    with trusting().wrap_socket(socket.create_connection((host, port), 30)) as tls:
        greeting = tls.recv(200)  # TLS from the first byte: the greeting is encrypted
    assert greeting.startswith(b"220 email-smtp.amazonaws.com ESMTP SimpleEmailService-d-")
    with smtplib.SMTP_SSL(host, port, context=trusting(), timeout=30) as smtp:
        assert b"STARTTLS" not in smtp.ehlo("client.test")[1]
        smtp.login(KEY_ID, PASSWORD)
        smtp.sendmail("sender@example.com", ["to@example.com"], message())
    assert len(server.sent()) == 1


def test_a_message_over_smtp_is_stored_as_send_raw_email_stores_it(
    server: RunningInbound,
) -> None:
    ses = client(server)
    ses.create_configuration_set(ConfigurationSet={"Name": "transactional"})
    with logged_in(server) as smtp:
        smtp.sendmail("sender@example.com", ["to@example.com", "hidden@example.com"], RAW)
    ses.send_raw_email(
        RawMessage={"Data": RAW},
        Source="sender@example.com",
        Destinations=["to@example.com", "hidden@example.com"],
    )
    by_smtp, by_api = server.sent()

    def comparable(entry: dict[str, Any]) -> dict[str, Any]:
        message_id = entry["messageId"]
        raw = server.get(f"/api/sent/{message_id}/raw").replace(message_id.encode(), b"ID")
        raw = b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"Date:"))
        plain = {k: v for k, v in entry.items() if k not in ("messageId", "created", "message")}
        del plain["trace"][0]["callerIdentity"]  # the SMTP user, the API's signing key
        for step in plain["trace"]:  # when each event happened, and its timings
            step.pop("at", None)
            step.get("facts", {}).pop("timestamp", None)
            step.get("facts", {}).pop("processingTimeMillis", None)
        text = json.dumps(plain).replace(message_id, "ID")
        for step in entry["trace"]:  # delivered into receiving: under a receipt id of its own
            text = text.replace(step.get("receivedMessageId", "ID"), "RECEIVED")
        return {**json.loads(text), "raw": raw}

    assert (by_smtp["trace"][0]["callerIdentity"], by_api["trace"][0]["callerIdentity"]) == (
        KEY_ID,
        "testing",
    )
    assert comparable(by_smtp) == comparable(by_api)
    assert [m["status"] for m in server.messages()] == ["done", "done"]  # both received
    assert by_smtp["operation"] == "SendRawEmail"
    assert (by_smtp["configurationSet"], by_smtp["tags"]) == (
        "transactional",
        {"campaign": "launch"},
    )
    assert by_smtp["message"]["Bcc"] is None


# ── authentication and TLS ──────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("user", "password"),
    [
        (KEY_ID, smtp_password("not the secret", "us-east-1")),
        (KEY_ID, smtp_password(SECRET, "eu-west-1")),  # a password for another Region
        ("AKIAUNKNOWNKEY000000", PASSWORD),
        (KEY_ID, SECRET),  # the secret key itself is not the SMTP password
    ],
    ids=["wrong-secret", "other-region", "unknown-key", "secret-as-password"],
)
def test_wrong_credentials_are_535(server: RunningInbound, user: str, password: str) -> None:
    with connect(server) as smtp:
        smtp.starttls(context=trusting())
        assert refusal(lambda: smtp.login(user, password)) == (
            535,
            "Authentication Credentials Invalid",
        )
        smtp.login(KEY_ID, PASSWORD)  # the session is still usable
    assert server.sent() == []


def test_nothing_but_starttls_before_tls(server: RunningInbound) -> None:
    starttls_first = (530, "Must issue a STARTTLS command first")
    with connect(server) as smtp:
        smtp.ehlo("client.test")
        assert refusal(lambda: smtp.login(KEY_ID, PASSWORD)) == starttls_first
        assert smtp.docmd("MAIL", "FROM:<sender@example.com>") == (530, starttls_first[1].encode())
    assert server.sent() == []


def test_mail_before_auth_is_530(server: RunningInbound) -> None:
    with connect(server) as smtp:
        smtp.starttls(context=trusting())
        smtp.ehlo("client.test")
        assert smtp.mail("sender@example.com") == (530, b"Authentication required")
        assert smtp.docmd("RCPT", "TO:<to@example.com>") == (530, b"Authentication required")


def test_plain_auth_on_loopback_when_configured(
    submitting: Callable[..., RunningInbound],
) -> None:
    server = submitting(smtp_allow_plain_auth=True)
    with connect(server) as smtp:
        assert b"STARTTLS" in smtp.ehlo("client.test")[1]  # still offered
        smtp.login(KEY_ID, PASSWORD)
        smtp.sendmail("sender@example.com", ["to@example.com"], message())
    assert len(server.sent()) == 1


# ── SES's refusals ──────────────────────────────────────────────────────────────────────────
def test_unverified_identities_are_554_message_rejected(server: RunningInbound) -> None:
    raw = message("someone@elsewhere.test", "stranger@other.test")
    assert data_refusal(server, "someone@elsewhere.test", ["stranger@other.test"], raw) == (
        "554 Message rejected: Email address is not verified. The following identities failed "
        "the check in region US-EAST-1: someone@elsewhere.test, stranger@other.test"
    )
    assert server.sent() == []


def test_duplicate_header_is_554_transaction_failed(server: RunningInbound) -> None:
    raw = message().replace(b"Subject: x\r\n", b"Subject: x\r\nSubject: y\r\n")
    assert data_refusal(server, "sender@example.com", ["to@example.com"], raw) == (
        "554 Transaction failed: Duplicate header 'Subject'."
    )


def test_fifty_one_recipients_are_refused_at_the_end_of_data(server: RunningInbound) -> None:
    recipients = [f"r{i}@example.com" for i in range(51)]
    assert data_refusal(server, "sender@example.com", recipients, message()) == (
        "554 Transaction failed: Recipient count exceeds 50."
    )
    with logged_in(server) as smtp:
        assert smtp.sendmail("sender@example.com", recipients[:50], message()) == {}
    assert len(server.sent()) == 1


def test_maximum_sending_rate_is_454(submitting: Callable[..., RunningInbound]) -> None:
    server = submitting(max_send_rate=1.0)
    with logged_in(server) as smtp:
        smtp.sendmail("sender@example.com", ["a@example.com", "b@example.com"], message())
    assert data_refusal(server, "sender@example.com", ["to@example.com"], message()) == (
        "454 Throttling failure: Maximum sending rate exceeded."
    )


def test_daily_quota_is_454(submitting: Callable[..., RunningInbound]) -> None:
    server = submitting(max_24_hour_send=1.0)
    with logged_in(server) as smtp:
        smtp.sendmail("sender@example.com", ["to@example.com"], message())
    assert data_refusal(server, "sender@example.com", ["to@example.com"], message()) == (
        "454 Throttling failure: Daily message quota exceeded."
    )
    assert len(server.sent()) == 1


def test_unverified_custom_mail_from_is_554(
    inbound_factory: Callable[..., RunningInbound],
) -> None:
    """`dns` mode with no DNS: the MAIL FROM domain stays Pending, and RejectMessage refuses."""
    server = inbound_factory(
        verified=["example.com"],
        sending=FAST,
        api_credentials={KEY_ID: SECRET},
        identity_verification="dns",
        identity_resolver=Address("127.0.0.1", 9),
        identity_check_interval=3600.0,
    )
    client(server).set_identity_mail_from_domain(
        Identity="example.com",
        MailFromDomain="mail.example.com",
        BehaviorOnMXFailure="RejectMessage",
    )
    assert data_refusal(server, "sender@example.com", ["to@example.com"], message()) == (
        "554 MAIL FROM domain not verified: DNS setup for MAIL FROM domain is invalid."
    )
    assert server.sent() == []


def test_paused_account_is_554_transaction_failed(server: RunningInbound) -> None:
    client(server).update_account_sending_enabled(Enabled=False)
    assert data_refusal(server, "sender@example.com", ["to@example.com"], message()) == (
        "554 Transaction failed: Email sending is disabled for this account."
    )


@pytest.mark.parametrize(
    ("command", "address", "reply"),
    [
        ("MAIL", "FROM:<>", "501 Invalid MAIL FROM address provided"),
        ("MAIL", "FROM:<nodomain@localhost>", "501 Invalid MAIL FROM address provided"),
        ("RCPT", "TO:<someone@localhost>", "501 Invalid RCPT TO address provided"),
    ],
)
def test_invalid_envelope_addresses_are_501(
    server: RunningInbound, command: str, address: str, reply: str
) -> None:
    with logged_in(server) as smtp:
        if command == "RCPT":
            smtp.mail("sender@example.com")
        code, text = smtp.docmd(command, address)
    assert f"{code} {text.decode()}" == reply


def test_forty_megabytes_is_the_limit(server: RunningInbound) -> None:
    head = message()
    limit = 40 * 1024 * 1024
    line = b"x" * 998 + b"\r\n"
    body = line * ((limit - len(head)) // len(line) + 1)
    assert data_refusal(server, "sender@example.com", ["to@example.com"], head + body) == (
        "552 Message is too long."
    )
    assert server.sent() == []


@pytest.mark.parametrize(
    ("error", "reply"),
    [
        (
            MessageRejected("Email address is not verified."),
            "554 Message rejected: Email address is not verified.",
        ),
        (InvalidParameterValue("Illegal address"), "554 Transaction failed: Illegal address"),
        (
            Throttling("Maximum sending rate exceeded."),
            "454 Throttling failure: Maximum sending rate exceeded.",
        ),
        (
            MailFromDomainNotVerified("Could not send the message: ..."),
            "554 MAIL FROM domain not verified: DNS setup for MAIL FROM domain is invalid.",
        ),
        (
            AccountSendingPaused("Email sending is disabled for this account."),
            "554 Transaction failed: Email sending is disabled for this account.",
        ),
    ],
    ids=["rejected", "invalid", "throttled", "mail-from", "other"],
)
def test_one_table_maps_ses_errors_to_replies(error: Any, reply: str) -> None:
    assert smtp_replies.failure(error) == reply


# ── swaks ───────────────────────────────────────────────────────────────────────────────────
@pytest.mark.skipif(
    shutil.which("swaks") is None, reason="swaks not installed (apt-get install swaks)"
)
def test_swaks_sends_with_starttls_and_auth_login(server: RunningInbound) -> None:
    assert server.submission_address is not None
    host, port = server.submission_address
    result = subprocess.run(
        ["swaks", "--server", host, "--port", str(port), "--tls", "--auth", "LOGIN",
         "--auth-user", KEY_ID, "--auth-password", PASSWORD, "--ehlo", "client.test",
         "--from", "sender@example.com", "--to", "to@example.com",
         "--header", "Subject: from swaks", "--body", "sent by swaks"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<~  235 Authentication successful." in result.stdout
    [sent] = server.sent()
    assert f"<~  250 Ok {sent['messageId']}" in result.stdout
    assert sent["message"]["Subject"] == "from swaks"
    assert sent["message"].get_content().strip() == "sent by swaks"
