"""SendEmail and SendRawEmail through boto3 against the running server: the stored message
parsed back with the stdlib, every check with SES's code and text, quotas and statistics."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inbound.testing import RunningInbound
from tests.sending.conftest import client

MESSAGE_ID = re.compile(r"0100[0-9a-f]{12}-[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}-000000")


def error(call: Callable[..., Any], **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return response["Error"]["Code"], response["Error"]["Message"]


def simple(source: str = "sender@example.com", to: list[str] | None = None, **extra: Any) -> Any:
    return {
        "Source": source,
        "Destination": {"ToAddresses": to or ["user@example.com"]},
        "Message": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}},
        **extra,
    }


# ── SendEmail: the message ──────────────────────────────────────────────────────────────────
def test_send_email_text_only_is_text_plain(server: RunningInbound, ses: Any) -> None:
    message_id = ses.send_email(
        Source="Sender <sender@example.com>",
        Destination={
            "ToAddresses": ["to@example.com"],
            "CcAddresses": ["cc@example.com"],
            "BccAddresses": ["bcc@example.com"],
        },
        Message={"Subject": {"Data": "Plain"}, "Body": {"Text": {"Data": "line one\nline two"}}},
        ReplyToAddresses=["reply@example.com"],
        ReturnPath="bounces@example.com",
    )["MessageId"]
    assert MESSAGE_ID.fullmatch(message_id)
    [sent] = server.sent()
    message = sent["message"]
    assert sent["messageId"] == message_id and sent["status"] == "done"
    assert sent["recipients"] == ["to@example.com", "cc@example.com", "bcc@example.com"]
    assert sent["source"] == "sender@example.com"
    assert sent["returnPath"] == "bounces@example.com"
    assert sent["mailFrom"] == f"{message_id}@amazonses.com"
    assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert message["From"] == "Sender <sender@example.com>"
    assert (message["To"], message["Cc"], message["Reply-To"]) == (
        "to@example.com",
        "cc@example.com",
        "reply@example.com",
    )
    assert message["Bcc"] is None and message["Date"].datetime is not None
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message.get_content() == "line one\r\nline two\r\n"  # CRLF: the SMTP form


def test_send_email_both_parts_is_multipart_alternative(server: RunningInbound, ses: Any) -> None:
    ses.send_email(
        Source="sender@example.com",
        Destination={"ToAddresses": ["user@example.com"]},
        Message={
            "Subject": {"Data": "Grüße aus Köln", "Charset": "UTF-8"},
            "Body": {
                "Text": {"Data": "Grüße", "Charset": "UTF-8"},
                "Html": {"Data": "<p>Grüße</p>", "Charset": "UTF-8"},
            },
        },
    )
    raw = server.get(f"/api/sent/{server.sent()[0]['messageId']}/raw")
    assert b"Subject: =?utf-8?" in raw  # an RFC 2047 encoded word, not raw UTF-8
    message = server.sent()[0]["message"]
    assert message["Subject"] == "Grüße aus Köln"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert text.get_content() == "Grüße\r\n" and html.get_content() == "<p>Grüße</p>\r\n"
    assert text["MIME-Version"] is None  # only the message has one


def test_send_email_honours_the_body_charset(server: RunningInbound, ses: Any) -> None:
    ses.send_email(
        **simple(
            Message={
                "Subject": {"Data": "café"},
                "Body": {"Html": {"Data": "<p>café</p>", "Charset": "ISO-8859-1"}},
            }
        )
    )
    message = server.sent()[0]["message"]
    assert message.get_content_type() == "text/html"
    assert message.get_content_charset() == "iso-8859-1"
    assert message.get_payload(decode=True) == "<p>café</p>\r\n".encode("latin-1")


def test_send_email_body_not_encodable_in_its_charset(server: RunningInbound, ses: Any) -> None:
    body = {"Text": {"Data": "snowman ☃", "Charset": "ISO-8859-1"}}
    params = simple(Message={"Subject": {"Data": "x"}, "Body": body})
    code, text = error(ses.send_email, **params)
    assert code == "InvalidParameterValue" and "ISO-8859-1" in text
    assert server.sent() == []


# ── the checks ──────────────────────────────────────────────────────────────────────────────
def test_sandbox_names_every_unverified_identity(server: RunningInbound, ses: Any) -> None:
    params = simple(
        "someone@elsewhere.test",
        ["user@example.com", "stranger@other.test", "success@simulator.amazonses.com"],
    )
    assert error(ses.send_email, **params) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: someone@elsewhere.test, stranger@other.test",
    )
    assert server.sent() == []


def test_mailbox_simulator_is_exempt_in_the_sandbox(server: RunningInbound, ses: Any) -> None:
    to = ["success@simulator.amazonses.com", "bounce+label@simulator.amazonses.com"]
    ses.send_email(**simple(to=to))
    assert server.sent()[0]["recipients"] == to
    assert ses.get_send_quota()["SentLast24Hours"] == 0  # the simulator is not counted


def test_production_drops_the_recipient_check_only(sending: Callable[..., Any]) -> None:
    ses = client(sending(production=True))
    ses.send_email(**simple(to=["stranger@other.test"]))
    assert error(ses.send_email, **simple("x@other.test")) == (
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: x@other.test",
    )


def test_return_path_must_be_verified(ses: Any) -> None:
    code, text = error(ses.send_email, **simple(ReturnPath="bounces@other.test"))
    assert code == "MessageRejected" and text.endswith(": bounces@other.test")


@pytest.mark.parametrize(
    ("address", "text"),
    [("nodomain", "Missing final '@domain'"), ("a@b@example.com", "Illegal address"),
     ("user@localhost", "Illegal address"), ("a@example.com, b@example.com", "Illegal address")],
)  # fmt: skip
def test_address_syntax(server: RunningInbound, ses: Any, address: str, text: str) -> None:
    assert error(ses.send_email, **simple(to=[address])) == ("InvalidParameterValue", text)
    assert error(ses.send_email, **simple(address)) == ("InvalidParameterValue", text)
    assert server.sent() == []


def test_fifty_recipients_pass_fifty_one_do_not(server: RunningInbound, ses: Any) -> None:
    to = [f"u{i}@example.com" for i in range(30)]
    bcc = [f"b{i}@example.com" for i in range(20)]
    params = simple(to=to)
    params["Destination"]["BccAddresses"] = bcc
    ses.send_email(**params)
    params["Destination"]["CcAddresses"] = ["one-more@example.com"]
    assert error(ses.send_email, **params) == (
        "InvalidParameterValue",
        "Recipient count exceeds 50.",
    )
    assert len(server.sent()) == 1


def test_unknown_configuration_set(server: RunningInbound, ses: Any) -> None:
    assert error(ses.send_email, **simple(ConfigurationSetName="nope")) == (
        "ConfigurationSetDoesNotExist",
        "Configuration set <nope> does not exist.",
    )


def test_paused_account_then_paused_configuration_set(server: RunningInbound, ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "marketing"})
    ses.update_account_sending_enabled(Enabled=False)
    assert error(ses.send_email, **simple(ConfigurationSetName="marketing")) == (
        "AccountSendingPausedException",
        "Email sending is disabled for this account.",
    )
    ses.update_account_sending_enabled(Enabled=True)
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="marketing", Enabled=False)
    assert error(ses.send_email, **simple(ConfigurationSetName="marketing")) == (
        "ConfigurationSetSendingPausedException",
        "Email sending is disabled for configuration set <marketing>.",
    )
    ses.send_email(**simple())  # without the configuration set
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="marketing", Enabled=True)
    ses.send_email(**simple(ConfigurationSetName="marketing", Tags=[{"Name": "a", "Value": "b"}]))
    assert [(s["configurationSet"], s["tags"]) for s in server.sent()] == [
        (None, {}),
        ("marketing", {"a": "b"}),
    ]


def test_bad_tag(ses: Any) -> None:
    assert error(ses.send_email, **simple(Tags=[{"Name": "bad name", "Value": "x"}])) == (
        "InvalidParameterValue",
        "Invalid tag name: bad name. It must contain only ASCII letters, numbers, underscores, "
        "or dashes, and less than 256 characters.",
    )


# ── quotas and statistics ───────────────────────────────────────────────────────────────────
def test_maximum_send_rate(sending: Callable[..., Any]) -> None:
    """At one a second, a message to three recipients passes, then the next three seconds'
    worth are refused."""
    import time

    server = sending(max_send_rate=1.0)
    ses = client(server)
    ses.send_email(**simple(to=["a@example.com", "b@example.com", "c@example.com"]))
    assert error(ses.send_email, **simple()) == ("Throttling", "Maximum sending rate exceeded.")
    time.sleep(1.2)
    assert error(ses.send_email, **simple()) == ("Throttling", "Maximum sending rate exceeded.")
    time.sleep(2)
    ses.send_email(**simple())
    assert len(server.sent()) == 2
    assert ses.get_send_quota()["MaxSendRate"] == 1.0


def test_daily_quota_counts_recipients(sending: Callable[..., Any]) -> None:
    """Any quota left lets a whole message through; then nothing (but the simulator) passes."""
    server = sending(max_24_hour_send=3.0)
    ses = client(server)
    ses.send_email(**simple(to=["a@example.com", "b@example.com"]))
    ses.send_email(**simple(to=["c@example.com", "d@example.com"]))  # 2 sent, 1 left: passes
    assert error(ses.send_email, **simple(to=["e@example.com"])) == (
        "Throttling",
        "Daily message quota exceeded.",
    )
    ses.send_email(**simple(to=["success@simulator.amazonses.com"]))
    quota = ses.get_send_quota()
    assert (quota["Max24HourSend"], quota["SentLast24Hours"]) == (3.0, 4.0)
    [point] = ses.get_send_statistics()["SendDataPoints"]
    assert point["DeliveryAttempts"] == 4 and point["Rejects"] == 0
    assert len(server.sent()) == 3


def test_statistics_survive_a_restart(inbound_factory: Callable[..., Any], tmp_path: Any) -> None:
    from tests.sending.conftest import FAST

    first = inbound_factory(data_dir=tmp_path / "d", sending=FAST)
    client(first).send_email(**simple())
    first.stop()
    again = client(inbound_factory(data_dir=tmp_path / "d", sending=FAST))
    assert again.get_send_quota()["SentLast24Hours"] == 1.0
    assert again.get_send_statistics()["SendDataPoints"][0]["DeliveryAttempts"] == 1


# ── SendRawEmail ────────────────────────────────────────────────────────────────────────────
RAW = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: to@example.com\r\n"
    b"Bcc: hidden@example.com\r\n"
    b"Message-ID: <mine@client.test>\r\n"
    b"Date: Mon, 1 Jan 2001 00:00:00 +0000\r\n"
    b"X-SES-CONFIGURATION-SET: transactional\r\n"
    b"X-SES-MESSAGE-TAGS: campaign=spring, kind=welcome\r\n"
    b"Subject: raw\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"caf\xc3\xa9 body \r\n.\r\nend\r\n"
)


def test_send_raw_email_keeps_the_bytes_but_for_what_ses_changes(
    server: RunningInbound, ses: Any
) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "transactional"})
    message_id = ses.send_raw_email(RawMessage={"Data": RAW})["MessageId"]
    [sent] = server.sent()
    raw = server.get(f"/api/sent/{message_id}/raw")
    assert raw.endswith(b"\r\n\r\ncaf\xc3\xa9 body \r\n.\r\nend\r\n")  # the body, byte for byte
    assert raw.startswith(b"From: Sender <sender@example.com>\r\nTo: to@example.com\r\n")
    for gone in (b"Bcc", b"X-SES-", b"mine@client.test", b"1 Jan 2001"):  # the client's Date
        assert gone not in raw
    message = sent["message"]
    assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    assert message["Date"].datetime.year >= 2024
    assert sent["recipients"] == ["to@example.com", "hidden@example.com"]
    assert sent["configurationSet"] == "transactional"
    assert sent["tags"] == {"campaign": "spring", "kind": "welcome"}
    assert sent["source"] == sent["returnPath"] == "sender@example.com"


def test_send_raw_email_parameters_win_over_headers(server: RunningInbound, ses: Any) -> None:
    ses.create_configuration_set(ConfigurationSet={"Name": "transactional"})
    ses.create_configuration_set(ConfigurationSet={"Name": "other"})
    ses.send_raw_email(
        RawMessage={"Data": RAW},
        Source="bounces@example.com",
        Destinations=["only@example.com"],
        ConfigurationSetName="other",
        Tags=[{"Name": "api", "Value": "yes"}],
    )
    [sent] = server.sent()
    assert sent["recipients"] == ["only@example.com"]
    assert (sent["configurationSet"], sent["tags"]) == ("other", {"api": "yes"})
    assert sent["source"] == sent["returnPath"] == "bounces@example.com"


@pytest.mark.parametrize("value", [b"<bounces@example.com>", b"Bounces <bounces@example.com>"])
def test_send_raw_email_without_source_returns_to_the_return_path_header(
    server: RunningInbound, ses: Any, value: bytes
) -> None:
    """ "[Source] takes precedence over any Return-Path header that you might include in the
    raw text of the message": without it, the header is where feedback goes."""
    raw = b"Return-Path: " + value + b"\r\nFrom: sender@example.com\r\nTo: t@example.com\r\n"
    ses.send_raw_email(RawMessage={"Data": raw + b"Subject: x\r\n\r\nx\r\n"})
    [sent] = server.sent()
    assert (sent["source"], sent["returnPath"]) == ("sender@example.com", "bounces@example.com")


def test_send_raw_email_checks_the_from_header_too(ses: Any) -> None:
    raw = b"From: someone@other.test\r\nTo: to@example.com\r\nSubject: x\r\n\r\nx\r\n"
    code, text = error(ses.send_raw_email, RawMessage={"Data": raw}, Source="s@example.com")
    assert (code, text.rpartition(": ")[2]) == ("MessageRejected", "someone@other.test")


@pytest.mark.parametrize("value", [b"<", b".:"])
def test_an_address_field_the_parser_fails_on_is_an_illegal_address(
    server: RunningInbound, ses: Any, value: bytes
) -> None:
    """The stdlib's RFC 5322 parser raises on these (IndexError, AttributeError): an SES
    error, never a 500."""
    raw = b"From: s@example.com\r\nTo: " + value + b"\r\nSubject: x\r\n\r\nx\r\n"
    assert error(ses.send_raw_email, RawMessage={"Data": raw}) == (
        "InvalidParameterValue",
        "Illegal address",
    )
    assert server.sent() == []


def test_send_raw_email_adds_message_id_and_date_when_missing(
    server: RunningInbound, ses: Any
) -> None:
    raw = b"From: s@example.com\nTo: t@example.com\nSubject: lf\n\nbody\n"
    message_id = ses.send_raw_email(RawMessage={"Data": raw})["MessageId"]
    stored = server.get(f"/api/sent/{message_id}/raw")
    assert stored.startswith(b"From: s@example.com\nTo: t@example.com\nSubject: lf\nMessage-ID: <")
    assert stored.endswith(b"\n\nbody\n")  # LF stays LF
    assert server.sent()[0]["message"]["Date"] is not None


@pytest.mark.parametrize("header", [b"Subject", b"From", b"Message-ID"])
def test_duplicate_header(server: RunningInbound, ses: Any, header: bytes) -> None:
    raw = b"From: s@example.com\r\nTo: t@example.com\r\nSubject: a\r\n"
    raw += b"Message-ID: <a@b.test>\r\n" + header + b": again\r\n\r\nx\r\n"
    assert error(ses.send_raw_email, RawMessage={"Data": raw}) == (
        "InvalidParameterValue",
        f"Duplicate header '{header.decode()}'.",
    )
    assert server.sent() == []


def test_send_raw_email_without_from_or_recipients(ses: Any) -> None:
    code, _ = error(ses.send_raw_email, RawMessage={"Data": b"To: t@example.com\r\n\r\nx"})
    assert code == "MessageRejected"
    code, _ = error(ses.send_raw_email, RawMessage={"Data": b"From: s@example.com\r\n\r\nx"})
    assert code == "MessageRejected"


def test_ten_megabytes_after_base64(server: RunningInbound, ses: Any) -> None:
    head = b"From: s@example.com\r\nTo: t@example.com\r\nSubject: big\r\n\r\n"
    limit = 10 * 1024 * 1024 // 4 * 3  # raw bytes whose base64 is exactly 10 MB
    fits = head + b"x" * (limit - len(head))
    ses.send_raw_email(RawMessage={"Data": fits})
    assert error(ses.send_raw_email, RawMessage={"Data": fits + b"y"}) == (
        "InvalidParameterValue",
        "Message length is more than 10485760 bytes long: '10485764'.",
    )
    assert len(server.sent()) == 1


def test_sent_api_unknown_message_is_404(server: RunningInbound) -> None:
    import urllib.error

    for path in ("/api/sent/nope", "/api/sent/nope/raw"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            server.get(path)
        assert caught.value.code == 404


# ── custom MAIL FROM ────────────────────────────────────────────────────────────────────────
def test_verified_custom_mail_from_is_the_envelope_sender(server: RunningInbound, ses: Any) -> None:
    ses.set_identity_mail_from_domain(
        Identity="example.com",
        MailFromDomain="mail.example.com",
        BehaviorOnMXFailure="RejectMessage",
    )
    message_id = ses.send_email(**simple())["MessageId"]
    assert server.sent()[0]["mailFrom"] == f"{message_id}@mail.example.com"


def test_unverified_custom_mail_from(inbound_factory: Callable[..., RunningInbound]) -> None:
    """In `dns` mode the MAIL FROM domain stays Pending (no MX record here): RejectMessage
    refuses the message, UseDefaultValue sends it from amazonses.com."""
    from inbound.config import Address
    from tests.sending.conftest import FAST

    server = inbound_factory(
        verified=["example.com"],
        sending=FAST,
        identity_verification="dns",
        identity_resolver=Address("127.0.0.1", 9),
        identity_check_interval=3600.0,
    )
    ses = client(server)
    for behaviour in ("RejectMessage", "UseDefaultValue"):
        ses.set_identity_mail_from_domain(
            Identity="example.com", MailFromDomain="mail.example.com", BehaviorOnMXFailure=behaviour
        )
        if behaviour == "RejectMessage":
            assert error(ses.send_email, **simple()) == (
                "MailFromDomainNotVerifiedException",
                "Could not send the message: the custom MAIL FROM domain mail.example.com of "
                "identity example.com is not verified (its MX record was not found).",
            )
            assert server.sent() == []
        else:
            message_id = ses.send_email(**simple())["MessageId"]
            assert server.sent()[0]["mailFrom"] == f"{message_id}@amazonses.com"


def test_concurrent_sends_never_pass_the_daily_quota(sending: Callable[..., Any]) -> None:
    """Twenty sends at once against a quota of five: exactly five are accepted and counted."""
    from concurrent.futures import ThreadPoolExecutor

    server = sending(max_24_hour_send=5.0)

    def send(i: int) -> str:
        try:
            client(server).send_email(**simple(to=[f"u{i}@example.com"]))
        except ClientError as caught:
            return caught.response["Error"]["Message"]
        return "ok"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(send, range(20)))
    assert outcomes.count("ok") == 5
    assert outcomes.count("Daily message quota exceeded.") == 15
    assert len(server.sent()) == 5
    assert client(server).get_send_quota()["SentLast24Hours"] == 5.0
