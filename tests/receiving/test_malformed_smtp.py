"""Malformed and hostile SMTP sessions, over real sockets (spec receiving.md §11).

Every test first gets one message accepted, then misbehaves, then checks the two promises the
endpoint makes whatever a client does: a fresh connection is still greeted as SES greets, and
a message answered with `250` is kept and processed (`status: done` in `/api/messages`).
"""

from __future__ import annotations

import re
import socket
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.receiving import replies
from inbound.testing import RunningInbound

GREETING = b"220 inbound-smtp.us-east-1.amazonaws.com ESMTP Amazon SES"
EHLO_REPLY = b"250-inbound-smtp.us-east-1.amazonaws.com\r\n250-8BITMIME\r\n250-STARTTLS\r\n250 Ok"
QUEUED = re.compile(rb"^250 Ok (\S+)$")  # end-of-DATA reply: "250 Ok <message id>"
SENDER = b"sender@sender.test"
RCPT = b"someone@example.com"  # the default rules: a catch-all rule for example.com
UNKNOWN_RCPT = b"nobody@unverified.test"  # no rule matches: 550 at RCPT (§1.5)


class Raw:
    """A raw SMTP connection: send bytes as they are, read replies as the server sends them."""

    def __init__(
        self,
        server: RunningInbound,
        timeout: float = 10,
        address: tuple[str, int] | None = None,
        source: str | None = None,
    ) -> None:
        """A connection to the receiving port, or to `address` (from the `source` IP)."""
        self.sock = socket.create_connection(
            address or (server.smtp_host, server.smtp_port),
            timeout=timeout,
            source_address=None if source is None else (source, 0),
        )
        self.buffer = b""
        self.greeting = self.reply()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; unread {self.buffer!r}")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> bytes:
        """One complete reply; the lines of a multi-line reply are joined with CRLF."""
        lines = [self._line()]
        while lines[-1][3:4] == b"-":
            lines.append(self._line())
        return b"\r\n".join(lines)

    def replies(self, count: int) -> list[bytes]:
        return [self.reply() for _ in range(count)]

    def command(self, line: bytes) -> bytes:
        self.send(line + b"\r\n")
        return self.reply()

    def quiet_for(self, seconds: float) -> bytes:
        """Whatever the server says within `seconds` (nothing, when it is waiting for us)."""
        self.sock.settimeout(seconds)
        try:
            return self.buffer + self.sock.recv(65536)
        except TimeoutError:
            return self.buffer
        finally:
            self.sock.settimeout(10)

    def close(self, reset: bool = False) -> None:
        if reset:  # RST instead of FIN
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def code(reply: bytes) -> int:
    return int(reply[:3])


def queued_id(reply: bytes) -> str:
    match = QUEUED.match(reply)
    assert match, reply
    return match.group(1).decode()


def message(subject: str, body: bytes = b"hello\r\n") -> bytes:
    return (
        f"From: {SENDER.decode()}\r\nTo: {RCPT.decode()}\r\nSubject: {subject}\r\n\r\n".encode()
        + body
    )


def send_ok(server: RunningInbound, subject: str = "before") -> str:
    """One well-formed transaction with smtplib; returns the message id from the 250 reply."""
    with server.smtp() as client:
        client.ehlo("client.test")
        assert client.mail(SENDER.decode())[0] == 250
        assert client.rcpt(RCPT.decode())[0] == 250
        status, text = client.data(message(subject))
    assert status == 250, text
    return queued_id(b"250 " + text)


def assert_survived(server: RunningInbound, accepted: list[str]) -> list[dict]:
    """A fresh connection gets SES's greeting and a clean transaction; nothing accepted is lost."""
    fresh = Raw(server)
    assert fresh.greeting == GREETING
    assert fresh.command(b"EHLO after.test") == EHLO_REPLY
    assert fresh.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert fresh.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(fresh.command(b"DATA")) == 354
    fresh.send(message("after") + b".\r\n")
    after = queued_id(fresh.reply())
    assert fresh.command(b"QUIT")[:3] == b"221"
    fresh.close()
    messages = {m["messageId"]: m for m in server.messages()}
    for message_id in [*accepted, after]:
        assert message_id in messages, f"accepted message {message_id} was lost"
        assert messages[message_id]["status"] == "done", messages[message_id]
    return list(messages.values())


def ehlo_mail_rcpt(raw: Raw) -> None:
    assert raw.command(b"EHLO client.test") == EHLO_REPLY
    assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"


def raw_message(server: RunningInbound, message_id: str) -> bytes:
    return server.get(f"/api/messages/{message_id}/raw")


# ── line endings ───────────────────────────────────────────────────────────────────────────
def test_bare_lf_command_lines(inbound_server: RunningInbound) -> None:
    """Commands ended by LF alone are understood (Postfix and aiosmtpd both accept them)."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    raw.send(b"EHLO lf.test\nMAIL FROM:<" + SENDER + b">\nRCPT TO:<" + RCPT + b">\nDATA\n")
    assert raw.replies(4) == [
        EHLO_REPLY,
        b"250 Ok",
        b"250 Ok",
        b"354 End data with <CR><LF>.<CR><LF>",
    ]
    raw.send(message("lf commands") + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.close()
    messages = assert_survived(inbound_server, [before, accepted])
    (record,) = [m for m in messages if m["messageId"] == accepted]
    assert (record["helo"], record["mailFrom"], record["recipients"]) == (
        "lf.test",
        SENDER.decode(),
        [RCPT.decode()],
    )


def test_bare_lf_in_data_never_ends_the_message(inbound_server: RunningInbound) -> None:
    """Only CRLF.CRLF ends DATA: `LF.LF` is content, so no second transaction can be smuggled
    inside a message (SMTP smuggling, CVE-2023-51764 class). Bare-LF lines are kept as sent."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    ehlo_mail_rcpt(raw)
    assert code(raw.command(b"DATA")) == 354
    body = (
        b"Subject: bare lf\n\nfirst line\n"
        + b"a bare-LF line\n" * 5
        + b".\nMAIL FROM:<evil@sender.test>\nRCPT TO:<smuggled@example.com>\nDATA\n"
        + b"Subject: smuggled\n\nsmuggled body\n.\n"
    )
    raw.send(body)
    assert raw.quiet_for(0.3) == b""  # still reading DATA: LF.LF was not the end
    raw.send(b"\r\n.\r\n")
    accepted = queued_id(raw.reply())
    assert raw.command(b"NOOP")[:3] == b"250"  # in step: no smuggled replies queued up
    raw.close()
    messages = assert_survived(inbound_server, [before, accepted])
    assert not any("smuggled@example.com" in m["recipients"] for m in messages)
    stored = raw_message(inbound_server, accepted)
    assert b"first line\n" in stored
    assert b"RCPT TO:<smuggled@example.com>\nDATA\nSubject: smuggled" in stored


def test_bare_lf_lines_are_measured_one_by_one(inbound_server: RunningInbound) -> None:
    """A bare LF ends a line for the 1000-octet limit too (as in Postfix, whose texts SES's are):
    a long bare-LF message is not one over-long line."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    ehlo_mail_rcpt(raw)
    assert code(raw.command(b"DATA")) == 354
    body = (
        b"Subject: bare lf\n\n" + b"a bare-LF line of text, each one well under 998 octets\n" * 40
    )
    raw.send(body + b"\r\n.\r\n")
    verdict = raw.reply()
    raw.close()
    accepted = queued_id(verdict)
    assert_survived(inbound_server, [before, accepted])
    assert raw_message(inbound_server, accepted) == body + b"\r\n"


# ── long lines ─────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "line",
    [
        b"EHLO " + b"h" * 100_000,
        b"MAIL FROM:<" + b"a" * 100_000 + b"@sender.test>",
        b"RCPT TO:<" + b"r" * 100_000 + b"@example.com>",
        b"X" * 100_000,
    ],
    ids=["ehlo", "mail", "rcpt", "junk"],
)
def test_100kb_command_line(inbound_server: RunningInbound, line: bytes) -> None:
    """One 5xx for the whole line (not one per buffer), then the session goes on in step."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    if not line.startswith(b"EHLO"):
        assert raw.command(b"EHLO client.test") == EHLO_REPLY
    if line.startswith(b"RCPT"):
        assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert code(raw.command(line)) // 100 == 5
    assert raw.command(b"NOOP")[:3] == b"250"
    if line.startswith(b"EHLO"):
        assert raw.command(b"EHLO client.test") == EHLO_REPLY
    if not line.startswith(b"RCPT"):
        assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(raw.command(b"DATA")) == 354
    raw.send(message("after long line") + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.close()
    assert_survived(inbound_server, [before, accepted])


@pytest.mark.parametrize(
    "length",
    [998, 999, 1500, 100_000],
    ids=["998-rfc-max", "999-over", "1500", "100k"],
)
def test_long_line_in_data(inbound_server: RunningInbound, length: int) -> None:
    """RFC 5321 §4.5.3.1.6: 1000 octets with CRLF must be accepted. Longer lines are SES's
    call (UNCONFIRMED); whatever the answer, it comes after the whole DATA has been read, a
    250 means the line was kept byte for byte, a 5xx means nothing was kept."""
    before = send_ok(inbound_server)
    count = len(inbound_server.messages())
    raw = Raw(inbound_server)
    ehlo_mail_rcpt(raw)
    assert code(raw.command(b"DATA")) == 354
    long_line = (b"0123456789" * (length // 10 + 1))[:length]
    raw.send(message("long line", b"short\r\n" + long_line + b"\r\nshort again\r\n"))
    assert raw.quiet_for(0.1) == b""  # no early verdict: the reply waits for the end of DATA
    raw.send(b".\r\n")
    verdict = raw.reply()
    assert raw.command(b"NOOP")[:3] == b"250"  # the rest of the line was not read as commands
    raw.close()
    if length <= 998:
        assert code(verdict) == 250, verdict
    if code(verdict) == 250:
        accepted = queued_id(verdict)
        assert_survived(inbound_server, [before, accepted])
        assert b"\r\n" + long_line + b"\r\n" in raw_message(inbound_server, accepted)
    else:
        assert code(verdict) // 100 == 5, verdict
        assert len(assert_survived(inbound_server, [before])) == count + 1  # just the fresh one


@pytest.mark.parametrize(
    ("size", "accepted"),
    [(10_000, True), (10_001, False), (64 * 1024, False), (1_000_000, False)],
    ids=["at-limit", "one-over", "64k", "1m"],
)
def test_oversize_data_is_drained_then_refused(inbound_factory, size: int, accepted: bool) -> None:
    """Past the size limit the rest of DATA is read and dropped, then 552; the session is in
    step afterwards (the oversize reply text is UNCONFIRMED for SES, §11)."""
    server = inbound_factory(max_message_size=10_000)
    before = send_ok(server)
    raw = Raw(server)
    ehlo_mail_rcpt(raw)
    assert code(raw.command(b"DATA")) == 354
    head = message("big", b"")
    lines, left = [], size - len(head)
    while left > 0:  # 78-octet lines, the last one cut to size (CRLF included)
        lines.append((b"x" * 76)[: max(left - 2, 0)] + b"\r\n")
        left -= len(lines[-1])
    content = head + b"".join(lines)
    assert len(content) == size
    raw.send(content + b".\r\n")
    verdict = raw.reply()
    assert raw.command(b"NOOP")[:3] == b"250"
    raw.close()
    if accepted:
        message_id = queued_id(verdict)
        assert_survived(server, [before, message_id])
        assert raw_message(server, message_id) == content
    else:
        assert code(verdict) == 552, verdict
        assert len(assert_survived(server, [before])) == 2  # before + the fresh one


# ── binary garbage ─────────────────────────────────────────────────────────────────────────
GARBAGE = [
    b"\x00\x00\x00\r\n",
    b"\xff\xfe\xfd\xfc\r\n",
    bytes(range(256)) + b"\r\n",
    b"EHLO \x00\xff\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",  # a stray TLS ClientHello
]


@pytest.mark.parametrize(
    "where", ["before-ehlo", "after-ehlo", "after-mail", "after-rcpt"], ids=str
)
def test_binary_garbage_is_refused_and_the_transaction_goes_on(
    inbound_server: RunningInbound, where: str
) -> None:
    """Garbage lines get 5xx replies and change nothing: the envelope built so far survives."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    steps = [
        b"EHLO client.test",
        b"MAIL FROM:<" + SENDER + b">",
        b"RCPT TO:<" + RCPT + b">",
    ]
    position = ["before-ehlo", "after-ehlo", "after-mail", "after-rcpt"].index(where)
    for step in steps[:position]:
        assert code(raw.command(step)) == 250
    for junk in GARBAGE:
        raw.send(junk)
        # every line of the junk gets its own 5xx; NOOP's 250 shows the session is in step
        raw.send(b"NOOP\r\n")
        answers = []
        while not (answers and answers[-1].startswith(b"250")):
            answers.append(raw.reply())
        assert answers[:-1], junk
        assert all(code(a) // 100 == 5 for a in answers[:-1]), answers
    for step in steps[position:]:
        assert code(raw.command(step)) == 250
    assert code(raw.command(b"DATA")) == 354
    raw.send(message("after garbage") + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.send(b"\x00\xff garbage after the message\r\n")
    assert code(raw.reply()) // 100 == 5
    raw.close()
    assert_survived(inbound_server, [before, accepted])


def test_garbage_recipient_address(inbound_server: RunningInbound) -> None:
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    assert raw.command(b"EHLO client.test") == EHLO_REPLY
    assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    for address in (b"<\x00\xff@example.com>", b"<\xc3\xa9t\xc3\xa9@example.com>", b"<>", b"x"):
        assert code(raw.command(b"RCPT TO:" + address)) // 100 == 5, address
    assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(raw.command(b"DATA")) == 354
    raw.send(message("garbage rcpt") + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.close()
    messages = assert_survived(inbound_server, [before, accepted])
    (record,) = [m for m in messages if m["messageId"] == accepted]
    assert record["recipients"] == [RCPT.decode()]


# ── pipelining (not advertised, done anyway) ───────────────────────────────────────────────
def test_pipelined_transaction_with_data_before_354(inbound_server: RunningInbound) -> None:
    """A whole session in one write: replies come in order, one per command, and the content
    sent before the 354 is the message (not commands)."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    raw.send(
        b"EHLO pipe.test\r\n"
        b"MAIL FROM:<" + SENDER + b">\r\n"
        b"RCPT TO:<" + RCPT + b">\r\n"
        b"RCPT TO:<" + UNKNOWN_RCPT + b">\r\n"
        b"BOGUS junk command\r\n"
        b"NOOP\r\n"
        b"DATA\r\n" + message("pipelined", b"RCPT TO:<inside@example.com>\r\nQUIT\r\n") + b".\r\n"
        b"QUIT\r\n"
    )
    answers = raw.replies(9)
    raw.close()
    assert answers[:3] == [EHLO_REPLY, b"250 Ok", b"250 Ok"]
    assert answers[3] == str(replies.S550_MAILBOX_UNAVAILABLE).encode()
    assert code(answers[4]) == 500
    assert answers[5][:3] == b"250"
    assert code(answers[6]) == 354
    accepted = queued_id(answers[7])
    assert code(answers[8]) == 221
    messages = assert_survived(inbound_server, [before, accepted])
    (record,) = [m for m in messages if m["messageId"] == accepted]
    assert record["recipients"] == [RCPT.decode()]
    assert b"RCPT TO:<inside@example.com>\r\nQUIT\r\n" in raw_message(inbound_server, accepted)


def test_pipelined_content_after_a_refused_data(inbound_server: RunningInbound) -> None:
    """When DATA is refused (503, no recipient), the content that followed it is read as
    commands: each line gets a 5xx, nothing is stored, and the session stays in step."""
    before = send_ok(inbound_server)
    count = len(inbound_server.messages())
    raw = Raw(inbound_server)
    raw.send(
        b"EHLO pipe.test\r\nMAIL FROM:<" + SENDER + b">\r\nRCPT TO:<" + UNKNOWN_RCPT + b">\r\n"
        b"DATA\r\nSubject: refused\r\n\r\nbody line\r\n.\r\nNOOP\r\n"
    )
    answers = raw.replies(4)
    assert answers[2] == str(replies.S550_MAILBOX_UNAVAILABLE).encode()
    assert answers[3] == str(replies.S503_NEED_RCPT).encode()
    rest = []
    while not rest or not rest[-1].startswith(b"250"):
        rest.append(raw.reply())
    assert len(rest) == 5  # "Subject:", "", "body line", "." and NOOP's 250
    assert all(code(r) // 100 == 5 for r in rest[:-1]), rest
    raw.close()
    assert len(assert_survived(inbound_server, [before])) == count + 1


# ── out-of-order commands ──────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ([b"RCPT TO:<someone@example.com>"], b"503 Error: need MAIL command"),
        ([b"DATA"], None),
        ([b"MAIL FROM:<sender@sender.test>", b"DATA"], str(replies.S503_NEED_RCPT).encode()),
        (
            [b"MAIL FROM:<sender@sender.test>", b"RCPT TO:<nobody@unverified.test>", b"DATA"],
            str(replies.S503_NEED_RCPT).encode(),
        ),
        ([b"MAIL FROM:<sender@sender.test>", b"MAIL FROM:<again@sender.test>"], None),  # nested
    ],
    ids=[
        "rcpt-before-mail",
        "data-before-mail",
        "data-without-rcpt",
        "data-after-550",
        "mail-twice",
    ],
)
def test_out_of_order_commands(inbound_server: RunningInbound, commands, expected) -> None:
    """§11: `503 Error: need RCPT command` for DATA with no accepted recipient (observed); the
    session then completes a transaction normally."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    assert raw.command(b"EHLO client.test") == EHLO_REPLY
    answers = [raw.command(c) for c in commands]
    # Exact texts where SES's are observed; aiosmtpd's and Postfix's differ for the others.
    assert answers[-1] == expected if expected is not None else code(answers[-1]) == 503
    assert raw.command(b"RSET")[:3] == b"250"
    ehlo_free = [b"MAIL FROM:<" + SENDER + b">", b"RCPT TO:<" + RCPT + b">"]
    assert [raw.command(c) for c in ehlo_free] == [b"250 Ok", b"250 Ok"]
    assert code(raw.command(b"DATA")) == 354
    raw.send(message("after out of order") + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.close()
    assert_survived(inbound_server, [before, accepted])


# ── disconnects ────────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("partial", "reset"),
    [
        (b"Subject: cut", False),
        (b"Subject: cut", True),
        (b"Subject: cut\r\n\r\nwhole lines\r\n", False),
        (b"Subject: cut\r\n\r\nwhole lines\r\n", True),
        (b"Subject: cut\r\n\r\nalmost done\r\n.", False),
        (b"Subject: cut\r\n\r\nalmost done\r\n.\r", True),
    ],
    ids=["mid-line-fin", "mid-line-rst", "line-end-fin", "line-end-rst", "dot-fin", "dot-cr-rst"],
)
def test_disconnect_in_the_middle_of_data(
    inbound_server: RunningInbound, partial: bytes, reset: bool
) -> None:
    """A message whose end-of-DATA never arrived is not kept, not even half of it."""
    before = send_ok(inbound_server)
    count = len(inbound_server.messages())
    raw = Raw(inbound_server)
    ehlo_mail_rcpt(raw)
    assert code(raw.command(b"DATA")) == 354
    raw.send(partial)
    time.sleep(0.05)
    raw.close(reset=reset)
    assert len(assert_survived(inbound_server, [before])) == count + 1


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_disconnect_right_after_end_of_data(inbound_server: RunningInbound, reset: bool) -> None:
    """The client did not wait for the reply: the message may be kept or dropped, but whatever
    is kept must be processed now, not left pending until a restart (aiosmtpd cancels the
    handler when the client goes away)."""
    before = send_ok(inbound_server)
    for _ in range(5):
        raw = Raw(inbound_server)
        ehlo_mail_rcpt(raw)
        assert code(raw.command(b"DATA")) == 354
        raw.send(message("no reply read") + b".\r\n")
        raw.close(reset=reset)
    time.sleep(0.3)
    messages = assert_survived(inbound_server, [before])
    assert [m["status"] for m in messages] == ["done"] * len(messages), messages


# ── 8-bit content ──────────────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    "mail_from",
    [b"MAIL FROM:<sender@sender.test> BODY=8BITMIME", b"MAIL FROM:<sender@sender.test>"],
    ids=["body-8bitmime", "no-body-parameter"],
)
def test_8bit_body_is_kept_byte_for_byte(inbound_server: RunningInbound, mail_from: bytes) -> None:
    """8BITMIME is advertised (§11): 8-bit octets, NUL and 0xFF included, arrive unchanged."""
    before = send_ok(inbound_server)
    raw = Raw(inbound_server)
    assert raw.command(b"EHLO client.test") == EHLO_REPLY
    assert raw.command(mail_from) == b"250 Ok"
    assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(raw.command(b"DATA")) == 354
    content = (
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "café, naïve, 日本語, emoji 📬\r\n".encode()
        + b"latin-1 \xe9\xe8 and raw \x80\x81\xfe\xff and NUL \x00 bytes\r\n"
        + b"..a dot-stuffed line\r\n"
    )
    raw.send(content + b".\r\n")
    accepted = queued_id(raw.reply())
    raw.close()
    assert_survived(inbound_server, [before, accepted])
    assert raw_message(inbound_server, accepted) == content.replace(b"\r\n..a", b"\r\n.a")


def test_smtplib_8bitmime_sendmail(inbound_server: RunningInbound) -> None:
    """The same through smtplib, which sends BODY=8BITMIME itself when asked."""
    before = send_ok(inbound_server)
    content = "Subject: smtplib\r\n\r\nünïcödé body\r\n".encode()
    with inbound_server.smtp() as client:
        client.ehlo("client.test")
        assert client.has_extn("8bitmime")
        assert client.sendmail(SENDER.decode(), [RCPT.decode()], content, ["BODY=8BITMIME"]) == {}
    messages = assert_survived(inbound_server, [before])
    assert any(raw_message(inbound_server, m["messageId"]) == content for m in messages)


# ── random sessions ────────────────────────────────────────────────────────────────────────
FRAGMENTS = [
    b"EHLO fuzz.test\r\n",
    b"HELO fuzz.test\r\n",
    b"MAIL FROM:<fuzz@sender.test>\r\n",
    b"RCPT TO:<fuzz@example.com>\r\n",
    b"RCPT TO:<" + UNKNOWN_RCPT + b">\r\n",
    b"DATA\r\n",
    b"\r\n.\r\n",
    b".\r\n",
    b"\n.\n",
    b"RSET\r\n",
    b"NOOP\r\n",
    b"VRFY postmaster\r\n",
    b"BDAT 10 LAST\r\n",
    b"AUTH PLAIN AGZvbwBiYXI=\r\n",
    b"STARTTLS\r\n",
    b"\r\n",
    b"\n",
    b"\x00",
    b"\xff\xfe",
    b"x" * 2000,
]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.binary(max_size=200) | st.sampled_from(FRAGMENTS), max_size=25))
def test_random_sessions_never_hurt_the_next_client(
    inbound_server: RunningInbound, chunks: list[bytes]
) -> None:
    """Whatever a session sends, the next client is served in full (no 5xx), and every message
    the random session got a `250 Ok <id>` for is stored and processed."""
    known = {m["messageId"] for m in inbound_server.messages()}
    raw = Raw(inbound_server)
    try:
        for chunk in chunks:
            raw.send(chunk)
        raw.sock.shutdown(socket.SHUT_WR)  # half-close: the server still answers what it read
    except OSError:
        pass  # the server hung up first (QUIT, TLS handshake failure)
    heard = raw.buffer
    try:
        while chunk := raw.sock.recv(65536):
            heard += chunk
    except OSError:
        pass
    raw.close()
    accepted = [m.group(1).decode() for m in re.finditer(rb"^250 Ok (\S+)\r$", heard, re.M)]
    messages = assert_survived(inbound_server, accepted)
    new = {m["messageId"] for m in messages} - known
    assert len(new - set(accepted)) == 1  # nothing but the fresh client's message
