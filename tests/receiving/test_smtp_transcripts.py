"""Reply for reply, the SMTP conversation of both listeners (aiosmtpd 1.4.6 under the engine's
`SesSMTP` subclass): these transcripts were recorded from the engine at commit 56f2c0b and are
replayed over real sockets, so a change in the subclass or an aiosmtpd upgrade that alters a
reply shows here.

They cover what the other SMTP tests only check by reply class: HELP's texts, MAIL's
parameters, the 512-octet command line (538 for MAIL after EHLO), VRFY and EXPN, AUTH on the
receiving port (538 before TLS, 535 after), AUTH's prompts and refusals on the SMTP interface,
and which commands wait for STARTTLS and for AUTH. The credentials sent are not valid ones.
A message id in a reply is `<ID>`.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import ssl
from collections.abc import Callable

from inbound.config import Address, LimitSettings
from inbound.testing import RunningInbound
from tests.receiving.conftest import KEY_ID, SECRET
from tests.sending.conftest import FAST

MESSAGE = b"Subject: x\r\n\r\nhello\r\n.\r\n"
COMMANDS = "Supported commands: AUTH DATA EHLO HELO HELP MAIL NOOP QUIT RCPT RSET STARTTLS VRFY"
SUBMISSION_EHLO = "\n".join(
    [
        "250-email-smtp.amazonaws.com",
        "250-8BITMIME",
        "250-STARTTLS",
        "250-AUTH PLAIN LOGIN",
        "250 Ok",
    ]
)

SESSIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "receiving",
        [
            (
                "HELP",
                f"250 {COMMANDS}",
            ),
            ("HELP MAIL", "250 Syntax: MAIL FROM: <address>"),
            ("HELP STARTTLS", "250 Syntax: STARTTLS"),
            (
                "HELP x y",
                f"501 {COMMANDS}",
            ),
            (
                "EHLO a",
                "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250-STARTTLS\n250 Ok",
            ),
            ("HELP MAIL", "250 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"),
            ("HELP RCPT", "250 Syntax: RCPT TO: <address> [SP <mail-parameters>]"),
            ("HELO b", "250 inbound-smtp.us-east-1.amazonaws.com"),
            ("HELP MAIL", "250 Syntax: MAIL FROM: <address>"),
        ],
    ),
    (
        "receiving",
        [
            ("MAIL FROM:<a@b.c>", "503 Error: send HELO first"),
            ("RCPT TO:<a@example.com>", "503 Error: send HELO first"),
            ("DATA", "503 Error: send HELO first"),
            ("VRFY x", "252 Cannot VRFY user, but will accept message and attempt delivery"),
            ("VRFY", "501 Syntax: VRFY <address>"),
            ("VRFY <a@b@c>", "502 Could not VRFY"),
            ("EXPN", "502 EXPN not implemented"),
            ("EXPN x", "502 EXPN not implemented"),
            ("NOOP x", "250 Ok"),
            ("RSET x", "501 Syntax: RSET"),
            ("QUIT x", "501 Syntax: QUIT"),
        ],
    ),
    (
        "receiving",
        [
            (
                "EHLO a",
                "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250-STARTTLS\n250 Ok",
            ),
            (
                "MAIL FROM:<a@b.c> SIZE=99999999999",
                "552 Error: message size exceeds fixed maximum message size",
            ),
            ("MAIL FROM:<a@b.c> SIZE=x", "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"),
            ("MAIL FROM:<a@b.c> BODY=9BIT", "501 Error: BODY can only be one of 7BIT, 8BITMIME"),
            ("MAIL FROM:<a@b.c> SMTPUTF8", "501 Error: SMTPUTF8 disabled"),
            ("MAIL FROM:<a@b.c> SMTPUTF8=1", "501 Error: SMTPUTF8 takes no arguments"),
            ("MAIL FROM:<a@b.c> X=1", "555 MAIL FROM parameters not recognized or not implemented"),
            ("MAIL FROM:<a@b.c> =", "501 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"),
            ("MAIL FROM:<a@b.c> SIZE=10 BODY=8BITMIME", "250 Ok"),
            ("MAIL FROM:<x@y.z>", "503 Error: nested MAIL command"),
            (
                "RCPT TO:<a@example.com> NOTIFY=x",
                "555 RCPT TO parameters not recognized or not implemented",
            ),
            (
                "RCPT TO:<a@example.com> X",
                "555 RCPT TO parameters not recognized or not implemented",
            ),
            ("RCPT TO:a@example.com", "250 Ok"),
            ("RCPT TO:<a@example.com>", "250 Ok"),
            ("RCPT TO:<b@example.com>", "250 Ok"),
            ("RCPT TO:<c@example.com>", "452 4.5.3 Error: too many recipients"),
            ("RCPT TO:<d@example.com>", "452 4.5.3 Error: too many recipients"),
            ("RCPT TO:<nobody@other.test>", "452 4.5.3 Error: too many recipients"),
            ("DATA x", "501 Syntax: DATA"),
            ("DATA", "354 End data with <CR><LF>.<CR><LF>"),
            ("<message>", "250 Ok <ID>"),
        ],
    ),
    (
        "receiving",
        [
            ("HELO a", "250 inbound-smtp.us-east-1.amazonaws.com"),
            ("MAIL FROM:<a@b.c> SIZE=10", "501 Syntax: MAIL FROM: <address>"),
            ("MAIL FROM:<a@b.c>", "250 Ok"),
            ("RCPT TO:<a@example.com> X=1", "501 Syntax: RCPT TO: <address>"),
            ("RCPT TO:<a@example.com>", "250 Ok"),
            ("AUTH PLAIN", "500 Error: command 'AUTH' not recognized"),
            ("DATA", "354 End data with <CR><LF>.<CR><LF>"),
            ("<message>", "250 Ok <ID>"),
        ],
    ),
    (
        "receiving",
        [
            (
                "EHLO a",
                "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250-STARTTLS\n250 Ok",
            ),
            ("AUTH", "538 5.7.11 Encryption required for requested authentication mechanism"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "538 5.7.11 Encryption required for requested authentication mechanism",
            ),
            ("AUTH FOO", "538 5.7.11 Encryption required for requested authentication mechanism"),
            (
                "AUTH PLAIN a b c",
                "538 5.7.11 Encryption required for requested authentication mechanism",
            ),
            ("STARTTLS x", "501 Syntax: STARTTLS"),
            ("STARTTLS", "220 Ready to start TLS"),
            ("EHLO b", "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250 Ok"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "535 5.7.8 Authentication credentials invalid",
            ),
            ("AUTH PLAIN", "334 "),
            ("*", "501 5.7.0 Auth aborted"),
            ("AUTH PLAIN", "334 "),
            ("!!!", "501 5.5.2 Can't decode base64"),
            ("AUTH LOGIN", "334 VXNlciBOYW1lAA=="),
            ("eA==", "334 UGFzc3dvcmQA"),
            ("eQ==", "535 5.7.8 Authentication credentials invalid"),
            ("AUTH LOGIN eA==", "334 UGFzc3dvcmQA"),
            ("*", "501 5.7.0 Auth aborted"),
            ("AUTH plain", "504 5.5.4 Unrecognized authentication type"),
            ("STARTTLS", "503 5.5.1 Error: TLS already active"),
            ("MAIL FROM:<a@b.c>", "250 Ok"),
            ("EHLO c", "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250 Ok"),
            ("MAIL FROM:<a@b.c>", "250 Ok"),
            ("RCPT TO:<a@example.com>", "250 Ok"),
        ],
    ),
    (
        "receiving",
        [
            ("", "500 Error: bad syntax"),
            (" ", "500 5.5.2 Error: command not recognized"),
            ("x", "500 5.5.2 Error: command not recognized"),
            ("ÿ", "500 Error: bad syntax"),
            ("EHLO \x01", "501 5.5.2 Helo command rejected: Invalid name"),
            ("EHLO", "501 Syntax: EHLO hostname"),
            ("HELO", "501 Syntax: HELO hostname"),
            ("MAIL FROM:<a@b.c>", "503 Error: send HELO first"),
            ("EHLO " + "a" * 600, "500 Command line too long"),
            (f"MAIL FROM:<{'a' * 520}@b.c>", "500 Command line too long"),
            (
                "EHLO a",
                "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250-STARTTLS\n250 Ok",
            ),
            (f"MAIL FROM:<{'a' * 520}@b.c>", "250 Ok"),
            (f"MAIL FROM:<{'a' * 540}@b.c>", "500 Command line too long"),
            (f"RCPT TO:<{'a' * 520}@example.com>", "500 Command line too long"),
            ("FOO", "500 5.5.2 Error: command not recognized"),
            ("BAR", "500 5.5.2 Error: command not recognized"),
            ("BAZ", "502 5.5.1 Too many unrecognized commands, goodbye."),
        ],
    ),
    (
        "receiving",
        [
            (
                "EHLO a",
                "250-inbound-smtp.us-east-1.amazonaws.com\n250-8BITMIME\n250-STARTTLS\n250 Ok",
            ),
            ("MAIL FROM:<>", "250 Ok"),
            ("RCPT TO:<>", "550 5.1.1 Requested action not taken: mailbox unavailable"),
            ("RCPT TO:<a@example.com>", "250 Ok"),
            ("RSET", "250 Ok"),
            ('MAIL FROM:<"q u"@b.c>', "250 Ok"),
            ("RCPT TO:<a@[1.2.3.4]>", "550 5.1.1 Requested action not taken: mailbox unavailable"),
            ("RCPT TO:0@", "501 5.1.3 Bad recipient address syntax"),
            ("RCPT TO:<a@b@c>", "501 5.1.3 Bad recipient address syntax"),
            ("RCPT TO:(x)", "501 5.1.3 Bad recipient address syntax"),
            ("MAIL FROM:<a@b.c>", "503 Error: nested MAIL command"),
            ("RCPT TO:postmaster", "550 5.1.1 Requested action not taken: mailbox unavailable"),
            ("QUIT", "221 Bye"),
        ],
    ),
    (
        "submission",
        [
            ("HELP", "530 Must issue a STARTTLS command first"),
            (
                "EHLO a",
                SUBMISSION_EHLO,
            ),
            ("HELP", "530 Must issue a STARTTLS command first"),
            ("NOOP", "250 Ok"),
            ("MAIL FROM:<a@b.c>", "530 Must issue a STARTTLS command first"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "530 Must issue a STARTTLS command first",
            ),
            ("FOO", "530 Must issue a STARTTLS command first"),
            ("RSET", "530 Must issue a STARTTLS command first"),
            ("VRFY x", "530 Must issue a STARTTLS command first"),
            ("STARTTLS", "220 Ready to start TLS"),
            ("EHLO a", "250-email-smtp.amazonaws.com\n250-8BITMIME\n250-AUTH PLAIN LOGIN\n250 Ok"),
            ("HELP", "530 Authentication required"),
            ("MAIL FROM:<a@b.c>", "530 Authentication required"),
            ("VRFY x", "530 Authentication required"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "535 Authentication Credentials Invalid",
            ),
            ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
            ("QUtJQUlOQk9VTkRESUZGMDAwMDA=", "334 UGFzc3dvcmQ6"),
            ("eA==", "535 Authentication Credentials Invalid"),
            ("AUTH LOGIN x y z", "501 Too many values"),
            ("AUTH PLAIN !!!", "501 5.5.2 Can't decode base64"),
            ("AUTH PLAIN AAAA", "501 5.5.2 Can't split auth value"),
            ("AUTH", "501 Not enough value"),
            ("HELO a", "250 email-smtp.amazonaws.com"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "500 Error: command 'AUTH' not recognized",
            ),
        ],
    ),
    (
        "submission",
        [
            (
                "EHLO a",
                SUBMISSION_EHLO,
            ),
            ("STARTTLS", "220 Ready to start TLS"),
            ("EHLO a", "250-email-smtp.amazonaws.com\n250-8BITMIME\n250-AUTH PLAIN LOGIN\n250 Ok"),
            ("AUTH PLAIN", "334 "),
            ("*", "501 5.7.0 Auth aborted"),
            ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
            ("*", "501 5.7.0 Auth aborted"),
            ("QUIT", "221 Bye"),
        ],
    ),
    (
        "submission_tls",
        [
            ("EHLO a", "250-email-smtp.amazonaws.com\n250-8BITMIME\n250-AUTH PLAIN LOGIN\n250 Ok"),
            ("STARTTLS", "503 5.5.1 Error: TLS already active"),
            ("HELP", "530 Authentication required"),
            (
                "AUTH PLAIN AEFLSUFJTkJPVU5ERElGRjAwMDAwAHg=",
                "535 Authentication Credentials Invalid",
            ),
            ("MAIL FROM:<a@b.c>", "530 Authentication required"),
            ("HELP STARTTLS", "530 Authentication required"),
        ],
    ),
]


def _context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Client:
    """Sends a line, reads the whole reply (the lines of a multi-line one joined with LF); a
    `220` to STARTTLS starts TLS on the socket."""

    def __init__(self, address: tuple[str, int], tls: bool) -> None:
        self.sock = socket.create_connection(address, timeout=10)
        if tls:
            self.sock = _context().wrap_socket(self.sock)
        self.buffer = b""
        self.reply()  # the greeting

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, f"closed; unread {self.buffer!r}"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> str:
        lines = [self._line()]
        while lines[-1][3:4] == b"-":
            lines.append(self._line())
        return b"\n".join(lines).decode("latin-1")

    def send(self, data: bytes) -> str:
        self.sock.sendall(data)
        answer = self.reply()
        if data == b"STARTTLS\r\n" and answer.startswith("220"):
            self.sock = _context().wrap_socket(self.sock)
        return answer


def test_replies_are_aiosmtpd_s(inbound_factory: Callable[..., RunningInbound]) -> None:
    server = inbound_factory(
        sending=dataclasses.replace(FAST, smtps=Address("127.0.0.1", 0)),
        api_credentials={KEY_ID: SECRET},
        limits=LimitSettings(max_recipients=3),
    )
    assert server.submission_address and server.submission_tls_address
    listeners = {
        "receiving": ((server.smtp_host, server.smtp_port), False),
        "submission": (server.submission_address, False),
        "submission_tls": (server.submission_tls_address, True),
    }
    for number, (listener, transcript) in enumerate(SESSIONS):
        client = Client(*listeners[listener])
        heard = []
        for command, _ in transcript:
            data = MESSAGE if command == "<message>" else command.encode("latin-1") + b"\r\n"
            heard.append((command, re.sub(r"^250 Ok \S+$", "250 Ok <ID>", client.send(data))))
        client.sock.close()
        assert heard == transcript, f"session {number} ({listener})"
