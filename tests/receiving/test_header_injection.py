"""No value from the SMTP dialogue can start or split a header line the engine writes (issue 18).

Over real sockets, every C0 control character and DEL is tried inside the argument of HELO,
EHLO, MAIL and RCPT (bare, inside a quoted local part, and in an ESMTP parameter), each followed
by a would-be header line. Each command is either refused with its `501` or, when accepted, the
message as the S3 action stored it carries no line the client wrote. A property test checks the
header builders themselves for any text.
"""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.headers import Header, SplitMessage
from inbound.receiving import receipt, replies
from inbound.receiving.verdicts import AuthInput, NoDnsAuthenticator, auth_headers
from inbound.testing import RunningInbound
from tests.receiving.test_malformed_smtp import (
    EHLO_REPLY,
    RCPT,
    SENDER,
    Raw,
    code,
    message,
    queued_id,
)
from tests.rulesets import rule, rules, s3

CONTROLS = [bytes([c]) for c in [*range(0x20), 0x7F]]
FORGED = b"X-Forged: yes"
# The forged line starting a line for any parser: at the start, or after CR, LF or NUL.
FORGED_LINE = re.compile(rb"(?:^|[\r\n\x00])X-Forged", re.IGNORECASE)
BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n|\x00")
STORING = rules(rule("store", s3("mail", prefix="in/"), ScanEnabled=True))

EHLO = (b"EHLO client", b"", replies.S501_BAD_HELO)
HELO = (b"HELO client", b"", replies.S501_BAD_HELO)
MAIL = (b"MAIL FROM:<sender", b"@sender.test>", replies.S501_BAD_SENDER)
MAIL_QUOTED = (b'MAIL FROM:<"sender', b'"@sender.test>', replies.S501_BAD_SENDER)
RCPT_BARE = (b"RCPT TO:<someone", b"@example.com>", replies.S501_BAD_RECIPIENT)
RCPT_QUOTED = (b'RCPT TO:<"someone', b'"@example.com>', replies.S501_BAD_RECIPIENT)
MAIL_PARAMETER = (b"MAIL FROM:<" + SENDER + b"> BODY=8BITMIME", b"", replies.S501_BAD_SENDER)
RCPT_PARAMETER = (b"RCPT TO:<" + RCPT + b"> NOTIFY=NEVER", b"", replies.S501_BAD_RECIPIENT)


def hostile_session(server: RunningInbound, form: tuple, control: bytes) -> str | None:
    """One transaction with the hostile command in its place; the message id, if accepted."""
    head, tail, refusal = form
    verb = head[:4]
    raw = Raw(server)
    if verb not in (b"EHLO", b"HELO"):
        assert raw.command(b"EHLO client.test") == EHLO_REPLY
    if verb == b"RCPT":
        assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    raw.send(head + control + FORGED + tail + b"\r\n")
    # LF ends a command line: the forged half is then a command of its own (500)
    answers = raw.replies(2 if control == b"\n" else 1)
    if control not in (b"\t", b"\n"):
        assert answers == [str(refusal).encode()], (control, answers)
    accepted = code(answers[0]) == 250
    if verb in (b"EHLO", b"HELO") and not accepted:
        assert raw.command(b"EHLO client.test") == EHLO_REPLY
    if verb in (b"EHLO", b"HELO") or (verb == b"MAIL" and not accepted):
        assert raw.command(b"MAIL FROM:<" + SENDER + b">") == b"250 Ok"
    if verb != b"RCPT" or not accepted:
        assert raw.command(b"RCPT TO:<" + RCPT + b">") == b"250 Ok"
    assert code(raw.command(b"DATA")) == 354
    raw.send(message("hostile") + b".\r\n")
    message_id = queued_id(raw.reply())
    raw.close()
    return message_id if accepted else None


def assert_no_forged_line(stored: bytes) -> None:
    head = stored.partition(b"\r\n\r\n")[0]
    assert not FORGED_LINE.search(head), head
    assert not BARE.search(head), head
    parsed = email.message_from_bytes(stored, policy=policy.compat32)
    assert "X-Forged" not in parsed, parsed.keys()


@pytest.mark.inbound_rules(STORING)
@pytest.mark.parametrize(
    "form",
    [EHLO, HELO, MAIL, MAIL_QUOTED, MAIL_PARAMETER, RCPT_BARE, RCPT_QUOTED, RCPT_PARAMETER],
    ids=["ehlo", "helo", "mail", "mail-quoted", "mail-param", "rcpt", "rcpt-quoted", "rcpt-param"],
)
def test_control_characters_never_reach_a_header(inbound_server: RunningInbound, form) -> None:
    accepted = [hostile_session(inbound_server, form, control) for control in CONTROLS]
    inbound_server.wait_idle()
    stored = [m["messageId"] for m in inbound_server.messages()]
    assert len(stored) == len(CONTROLS)  # every transaction ended with a message
    for message_id in stored:
        assert_no_forged_line(inbound_server.get(f"/api/s3/mail/in/{message_id}"))
    # only TAB (whitespace) and LF (which ends the command line) are ever accepted
    assert {c for c, m in zip(CONTROLS, accepted, strict=True) if m} <= {b"\t", b"\n"}


# ── the header builders, for any text ──────────────────────────────────────────────────────
def one_header(header: Header) -> None:
    """Written as the engine writes it, `header` is one field: no bare CR, LF or NUL, folding
    only as CRLF + WSP, and both a standard parser and the engine's own read one field back."""
    wire = SplitMessage.parse(b"\r\nbody\r\n").with_headers([header])
    head = wire.partition(b"\r\n\r\n")[0]
    assert not BARE.search(head)
    assert not re.search(rb"\r\n(?![ \t])", head)
    parsed = email.message_from_bytes(wire, policy=policy.compat32)
    assert parsed.keys() == [header[0]]
    assert [name for name, _ in SplitMessage.parse(wire).headers] == [header[0]]


@given(
    helo=st.text(),
    mail_from=st.text(),
    rcpt=st.text(),
    client_ip=st.text(),
    header_from=st.text(),
    dkim_domain=st.text(),
)
def test_trace_headers_are_one_field_each(
    helo: str, mail_from: str, rcpt: str, client_ip: str, header_from: str, dkim_domain: str
) -> None:
    auth_input = AuthInput(
        client_ip=client_ip,
        helo=helo,
        mail_from=mail_from,
        headers=(("From", header_from), ("DKIM-Signature", f"v=1; d={dkim_domain}; b=x")),
    )
    built = [
        receipt.return_path_header(mail_from),
        receipt.received_header(
            helo=helo,
            client_ip=client_ip,
            hostname="inbound-smtp.us-east-1.amazonaws.com",
            message_id="0" * 40,
            rcpt=rcpt,
            moment=datetime(2026, 1, 1, tzinfo=UTC),
        ),
        *auth_headers(NoDnsAuthenticator().evaluate(auth_input), auth_input),
    ]
    for header in built:
        one_header(header)
