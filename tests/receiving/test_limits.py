"""`[limits]` on both SMTP listeners, through real sockets: connection counts (overall, per
client IP), the command and DATA timeouts, recipients per message, hops, line length, and
syntax replies that never quote an exception (issue 18 item 4; docs/behaviour.md, "Limits and
timeouts"). Each test runs against the receiving port and the SMTP interface's (AUTH PLAIN on
loopback), which share one implementation (`receiving/smtp.py` `SesSMTP`)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable

import pytest

from inbound.receiving import replies
from inbound.sending.credentials import smtp_password
from inbound.testing import RunningInbound
from tests.receiving.conftest import KEY_ID, SECRET
from tests.receiving.test_malformed_smtp import Raw, code

SENDER, RCPT = b"sender@example.com", b"someone@example.com"
LISTENERS = ["receiving", "submission"]
TOO_MANY = str(replies.S421_TOO_MANY_CONNECTIONS).encode()
TIMEOUT = str(replies.S451_TIMEOUT).encode()
# what an exception's text looks like in a reply: aiosmtpd's `500 Error: (IndexError) ...`
EXCEPTION_TEXT = re.compile(rb"Error: \(|Traceback|[A-Za-z]+(Error|Exception)\b|\bstring index")


def address(server: RunningInbound, listener: str) -> tuple[str, int]:
    if listener == "receiving":
        return server.smtp_host, server.smtp_port
    assert server.submission_address is not None
    return server.submission_address


def connect(server: RunningInbound, listener: str, source: str | None = None) -> Raw:
    return Raw(server, address=address(server, listener), source=source)


def ready(server: RunningInbound, listener: str) -> Raw:
    """A session that can start a transaction: greeted, EHLO, and AUTH on the SMTP interface."""
    raw = connect(server, listener)
    assert code(raw.greeting) == 220
    assert code(raw.command(b"EHLO client.test")) == 250
    if listener == "submission":
        login = base64.b64encode(f"\0{KEY_ID}\0{smtp_password(SECRET, 'us-east-1')}".encode())
        assert code(raw.command(b"AUTH PLAIN " + login)) == 235
    return raw


def closed(raw: Raw) -> bool:
    """The server hung up (having said everything it had to say)."""
    raw.sock.settimeout(5)
    try:
        return raw.sock.recv(1) == b""
    except ConnectionResetError:
        return True


def start_data(raw: Raw) -> None:
    """MAIL, RCPT and DATA: the server now waits for the message."""
    assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(raw.command(b"DATA")) == 354


def message(headers: bytes = b"", body: bytes = b"hello\r\n") -> bytes:
    return headers + b"From: " + SENDER + b"\r\nTo: " + RCPT + b"\r\nSubject: limits\r\n\r\n" + body


# ── connections ─────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("listener", LISTENERS)
def test_connections_past_the_limit_get_421_then_a_freed_slot_is_greeted(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    server = serve(max_connections=3, max_connections_per_ip=100)
    held = [connect(server, listener) for _ in range(3)]
    assert all(code(raw.greeting) == 220 for raw in held)
    refused = connect(server, listener)
    assert refused.greeting == TOO_MANY  # SES's text, before any greeting
    assert closed(refused)
    held.pop().close()
    for _ in range(100):  # the server counts the closed one out once it sees the FIN
        again = connect(server, listener)
        if again.greeting != TOO_MANY:
            break
        time.sleep(0.02)
    assert code(again.greeting) == 220
    assert code(again.command(b"NOOP")) == 250
    for raw in [*held, refused, again]:
        raw.close()


@pytest.mark.parametrize("listener", LISTENERS)
def test_connections_per_client_ip(serve: Callable[..., RunningInbound], listener: str) -> None:
    server = serve(max_connections=100, max_connections_per_ip=2)
    held = [connect(server, listener, source="127.0.0.1") for _ in range(2)]
    assert [code(raw.greeting) for raw in held] == [220, 220]
    assert connect(server, listener, source="127.0.0.1").greeting == TOO_MANY
    other = connect(server, listener, source="127.0.0.2")  # another client is not held back
    assert code(other.greeting) == 220
    for raw in [*held, other]:
        raw.close()


# ── timeouts ────────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("listener", LISTENERS)
def test_a_silent_client_is_timed_out_with_ses_s_451(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    server = serve(command_timeout=1, max_connections=1)
    raw = ready(server, listener)
    started = time.monotonic()
    assert raw.reply() == TIMEOUT
    assert 0.9 < time.monotonic() - started < 5
    assert closed(raw)
    fresh = connect(server, listener)  # and its connection no longer counts
    assert code(fresh.greeting) == 220
    fresh.close()


@pytest.mark.parametrize("listener", LISTENERS)
def test_the_command_timeout_counts_from_the_last_command(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    """Each command moves the deadline (the timer made before it goes off early and waits
    again): a client that keeps sending commands is never cut off; once silent, it is after the
    timeout counted from its last command."""
    server = serve(command_timeout=1)
    raw = ready(server, listener)
    for _ in range(8):  # 2.4 s in all, more than twice the timeout
        time.sleep(0.3)
        assert raw.command(b"NOOP") == b"250 Ok"
    last = time.monotonic()
    assert raw.reply() == TIMEOUT
    assert 0.9 < time.monotonic() - last < 3
    assert closed(raw)


@pytest.mark.parametrize("listener", LISTENERS)
def test_a_half_sent_command_line_is_timed_out(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    server = serve(command_timeout=1)
    raw = ready(server, listener)
    raw.send(b"MAIL FROM:<sender@exa")  # and nothing more: a slow-loris command
    assert raw.reply() == TIMEOUT
    assert closed(raw)


@pytest.mark.parametrize("listener", LISTENERS)
def test_data_timeout_counts_from_the_last_data_received(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    """A client that keeps sending is never cut off, however long DATA takes; one that stops
    for `data_timeout` is, and nothing of its message is kept."""
    server = serve(command_timeout=30, data_timeout=1)
    count = len(server.messages())
    steady = ready(server, listener)
    start_data(steady)
    steady.send(message())
    for _ in range(10):  # 2 s in all, twice the timeout, never more than 0.2 s apart
        time.sleep(0.2)
        steady.send(b"more\r\n")
    assert steady.quiet_for(0.05) == b""
    assert steady.command(b".")[:7] == b"250 Ok "
    steady.close()

    stalled = ready(server, listener)
    start_data(stalled)
    stalled.send(message(body=b"half a messa"))
    assert stalled.reply() == TIMEOUT
    assert closed(stalled)
    if listener == "receiving":
        assert len(server.messages()) == count + 1  # the steady one only
    else:
        assert len(server.sent()) == 1


# ── recipients, hops, lines ─────────────────────────────────────────────────────────────────
@pytest.mark.parametrize("listener", LISTENERS)
def test_recipients_past_the_limit_get_452_and_the_rest_is_delivered(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    server = serve(max_recipients=3)
    raw = ready(server, listener)
    assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    rcpts = [raw.command(b"RCPT TO:<r%d@example.com>" % i) for i in range(5)]
    assert rcpts == [b"250 Ok"] * 3 + [str(replies.S452_TOO_MANY_RECIPIENTS).encode()] * 2
    assert code(raw.command(b"DATA")) == 354
    verdict = raw.command(message() + b".")
    assert verdict[:7] == b"250 Ok ", verdict
    stored = "messages" if listener == "receiving" else "sent"
    server.wait_idle()
    detail = server.get(f"/api/{stored}/{verdict[7:].decode()}")
    assert sorted(detail["recipients"]) == ["r0@example.com", "r1@example.com", "r2@example.com"]
    # a new transaction starts counting again
    assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert raw.command(b"RCPT TO:<r3@example.com>") == b"250 Ok"
    raw.close()


@pytest.mark.parametrize("listener", LISTENERS)
def test_too_many_received_headers_is_a_loop(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    server = serve(max_received_headers=2)
    hop = b"Received: from a.test by b.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    raw = ready(server, listener)
    for hops, expected in [(3, str(replies.S554_TOO_MANY_HOPS).encode()), (2, b"250 Ok ")]:
        start_data(raw)
        # `Received:` in the body is not a hop
        verdict = raw.command(message(hop * hops, body=hop * 5) + b".")
        assert verdict.startswith(expected), verdict
    raw.close()


@pytest.mark.parametrize("listener", LISTENERS)
def test_line_length_limit_is_configurable(
    serve: Callable[..., RunningInbound], listener: str
) -> None:
    """`max_line_length` counts the CRLF, as RFC 5321 §4.5.3.1.6 counts its 1,000 octets."""
    server = serve(max_line_length=100)
    raw = ready(server, listener)
    for length, expected in [(99, b"500 Line too long"), (98, b"250 Ok ")]:
        start_data(raw)
        verdict = raw.command(message(body=b"x" * length + b"\r\n") + b".")
        assert verdict.startswith(expected), verdict
    raw.close()


# ── syntax ──────────────────────────────────────────────────────────────────────────────────
BROKEN = [
    b"RCPT TO:0@",
    b"RCPT TO:<0@>",
    b"RCPT TO:@",
    b"RCPT TO:<@>",
    b"RCPT TO:<a@b@c>",
    b'RCPT TO:<"unterminated@example.com>',
    b"RCPT TO:<a@[1.2.3.4>",
    b"RCPT TO:<a@example.com> =",
    b"RCPT TO:<a@example.com> NOTIFY",
    b"RCPT TO:(comment",
    b"RCPT TO:<<<>>>",
    b"RCPT TO:\\",
    b"RCPT TO:",
    b"RCPT",
    b"RCPT FROM:<a@example.com>",
    b"RCPT TO:a@example.com>",
    b"RCPT TO:<\x7f@example.com>",
    b"RCPT TO:<\x00@example.com>",
    b"MAIL FROM:0@",
    b"MAIL FROM:<0@>",
    b"MAIL FROM:",
    b"MAIL",
    b"MAIL TO:<a@example.com>",
    b"MAIL FROM:<a@example.com> SIZE=x",
    b"MAIL FROM:<a@example.com> BODY=9BIT",
    b"MAIL FROM:<a@example.com> SMTPUTF8",
    b"MAIL FROM:<a@example.com> =",
    b"MAIL FROM:<a@example.com> SIZE=99999999999999999999999",
    b"MAIL FROM:(",
    b"MAIL FROM:<a@b@c>",
    b"VRFY 0@",
    b"VRFY <a@b@c>",
    b"VRFY",
    b"EXPN",
    b"HELO",
    b"EHLO",
    b"EHLO \x01",
    b"DATA x",
    b"QUIT now",
    b"STARTTLS x",
    b"AUTH",
    b"AUTH UNKNOWN",
    b"AUTH PLAIN !!!!",
    b"AUTH PLAIN AAAA",
    b"AUTH LOGIN x y z",
    b"HELP x y",
    b"BDAT 10",
    b"XCLIENT ADDR=1.2.3.4",
    b"\xff\xfe",
    b"MAIL FROM:<\xc3\xa9@example.com>",
    b"FOO\rBAR",
    b" ",
    b":",
    b"RCPT TO:<a@example.com>" + b" X=" * 200,
]


@pytest.mark.parametrize("listener", LISTENERS)
def test_broken_commands_get_a_syntax_reply_never_an_exception_s_text(
    serve: Callable[..., RunningInbound], listener: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each broken command, with a transaction open so that RCPT is parsed: a 5xx reply that
    quotes no exception, no traceback in the log, and the session still works."""
    server = serve()
    raw = ready(server, listener)
    for command in BROKEN:
        raw.command(b"RSET")
        if command.startswith(b"RCPT"):
            assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
        reply = raw.command(command)
        assert 500 <= code(reply) < 600, (command, reply)
        assert not EXCEPTION_TEXT.search(reply), (command, reply)
        if reply == str(replies.S502_TOO_MANY_UNKNOWN).encode():  # the 5th unknown command
            raw.close()
            raw = ready(server, listener)
    assert code(raw.command(b"NOOP")) == 250
    raw.close()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
