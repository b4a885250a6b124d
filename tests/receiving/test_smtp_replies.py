"""SMTP behaviour of the endpoint, over real sockets (spec receiving.md §1.5, §2, §7, §11)."""

from __future__ import annotations

import smtplib
import socket

import pytest

from inbound.receiving import replies
from inbound.testing import RunningInbound
from tests.rulesets import message, rule, rules

GREETING = b"220 inbound-smtp.us-east-1.amazonaws.com ESMTP Amazon SES\r\n"


def _lines(sock: socket.socket, until: bytes) -> bytes:
    data = b""
    while not data.endswith(until):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_greeting_and_ehlo_are_ses_s(inbound_server: RunningInbound) -> None:
    with socket.create_connection((inbound_server.smtp_host, inbound_server.smtp_port)) as sock:
        assert _lines(sock, b"\r\n") == GREETING
        sock.sendall(b"EHLO client.test\r\n")
        assert _lines(sock, b"250 Ok\r\n") == (
            b"250-inbound-smtp.us-east-1.amazonaws.com\r\n250-8BITMIME\r\n250-STARTTLS\r\n"
            b"250 Ok\r\n"
        )


def test_hostname_is_configurable(inbound_factory) -> None:
    server = inbound_factory(hostname="mx.sandbox.test")
    with server.smtp() as client:
        assert client.ehlo()[1].split(b"\n")[0] == b"mx.sandbox.test"
    with socket.create_connection((server.smtp_host, server.smtp_port)) as sock:
        assert _lines(sock, b"\r\n") == b"220 mx.sandbox.test ESMTP Amazon SES\r\n"


def test_starttls_is_not_advertised_again_after_tls(inbound_server: RunningInbound) -> None:
    with inbound_server.smtp() as client:
        client.ehlo()
        client.starttls(context=_insecure())
        code, text = client.ehlo()
        assert code == 250
        assert b"STARTTLS" not in text and b"8BITMIME" in text


def _insecure():
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.mark.inbound_rules(rules(rule("only-alice", recipients=["alice@example.com"])))
def test_each_rcpt_is_decided_on_its_own(inbound_server: RunningInbound) -> None:
    with inbound_server.smtp() as client:
        client.ehlo()
        assert client.mail("s@sender.test") == (250, b"Ok")
        assert client.rcpt("alice@example.com") == (250, b"Ok")
        assert client.rcpt("bob@example.com") == (
            550,
            b"5.1.1 Requested action not taken: mailbox unavailable",
        )
        code, text = client.data(message())
        assert code == 250
        assert text.startswith(b"Ok ") and len(text.split()[1]) == 40
    [received] = inbound_server.messages()
    assert received["recipients"] == ["alice@example.com"]


def test_data_without_an_accepted_recipient_is_503(inbound_server: RunningInbound) -> None:
    with inbound_server.smtp() as client:
        client.ehlo()
        client.mail("s@sender.test")
        assert client.rcpt("x@unverified.test")[0] == 550
        assert client.docmd("DATA") == (503, b"Error: need RCPT command")
    assert str(replies.S503_NEED_RCPT) == "503 Error: need RCPT command"


def test_noop_and_rset_say_ok_as_every_other_reply(inbound_server: RunningInbound) -> None:
    with inbound_server.smtp() as client:
        client.ehlo()
        assert client.noop() == (250, b"Ok")
        client.mail("s@sender.test")
        assert client.rset() == (250, b"Ok")
        assert client.mail("s@sender.test") == (250, b"Ok")  # the transaction was reset


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("MAIL FROM:0@", replies.S501_BAD_SENDER),
        ("MAIL FROM:<a@>", replies.S501_BAD_SENDER),
        ("RCPT TO:0@", replies.S501_BAD_RECIPIENT),
        ("RCPT TO:<@>", replies.S501_BAD_RECIPIENT),
        ("RCPT TO:<a@b@c>", replies.S501_BAD_RECIPIENT),
    ],
    ids=["mail-0@", "mail-no-domain", "rcpt-0@", "rcpt-empty", "rcpt-two-ats"],
)
def test_an_unparsable_path_is_a_501_syntax_reply(
    inbound_server: RunningInbound, command: str, expected: replies.SmtpReply
) -> None:
    """Not aiosmtpd's `553 ... malformed address`, nor `500 Error: (IndexError) ...` for `0@`;
    the session goes on."""
    with inbound_server.smtp() as client:
        client.ehlo()
        if command.startswith("RCPT"):
            client.mail("s@sender.test")
        code, text = client.docmd(command)
        assert f"{code} {text.decode()}" == str(expected)
        assert client.docmd("VRFY 0@") == (502, b"Could not VRFY")
        assert client.noop() == (250, b"Ok")
        if command.startswith("MAIL"):
            client.mail("s@sender.test")
        assert client.rcpt("user@example.com") == (250, b"Ok")


@pytest.mark.inbound_rules({"RuleSets": [{"Metadata": {"Name": "inactive"}, "Rules": [rule("r")]}]})
def test_no_active_rule_set_rejects_everything(inbound_server: RunningInbound) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        inbound_server.send("s@sender.test", ["user@example.com"], message())
    assert refused.value.recipients["user@example.com"][0] == 550


@pytest.mark.inbound_rules(rules(rule("off", Enabled=False)))
def test_a_disabled_rule_does_not_accept(inbound_server: RunningInbound) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        inbound_server.send("s@sender.test", ["user@example.com"], message())


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([{"Name": "b", "IpFilter": {"Policy": "Block", "Cidr": "127.0.0.0/8"}}], 550),
        (
            [
                {"Name": "all", "IpFilter": {"Policy": "Block", "Cidr": "0.0.0.0/0"}},
                {"Name": "me", "IpFilter": {"Policy": "Allow", "Cidr": "127.0.0.1"}},
            ],
            250,
        ),
        ([{"Name": "other", "IpFilter": {"Policy": "Block", "Cidr": "10.0.0.1/8"}}], 250),
    ],
    ids=["blocked", "allow-beats-block", "other-range"],
)
def test_ip_filters_decide_at_rcpt(inbound_factory, filters, expected) -> None:
    server = inbound_factory(rules(rule("all"), filters=filters))
    with server.smtp() as client:
        client.ehlo()
        assert client.mail("s@sender.test")[0] == 250  # not at MAIL
        code, text = client.rcpt("user@example.com")
    assert code == expected
    if expected == 550:
        assert text == b"5.7.1 IP address blacklisted by recipient"


@pytest.mark.inbound_rules(
    rules(rule("tls", recipients=["secure@example.com"], TlsPolicy="Require"), rule("plain"))
)
def test_tls_require_rejects_plain_sessions_only(inbound_server: RunningInbound) -> None:
    with inbound_server.smtp() as client:
        client.ehlo()
        client.mail("s@sender.test")
        assert client.rcpt("secure@example.com") == (550, b"5.7.1 TLS required by recipient")
        assert client.rcpt("other@example.com")[0] == 250  # only the catch-all matches
    assert (
        inbound_server.send("s@sender.test", ["secure@example.com"], message(), starttls=True) == {}
    )
    [received] = inbound_server.messages()
    assert received["tls"] is True


def test_oversized_message_is_552_and_not_stored(inbound_factory) -> None:
    server = inbound_factory(max_message_size=2000)
    with server.smtp() as client:
        client.ehlo()
        client.mail("s@sender.test")
        client.rcpt("user@example.com")
        code, _ = client.data(message(body="x" * 70 + "\r\n") * 40)
        assert code == 552
        # the session stays usable
        client.rset()
        client.mail("s@sender.test")
        client.rcpt("user@example.com")
        assert client.data(message())[0] == 250
    assert len(server.messages()) == 1
