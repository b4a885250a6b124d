"""The session's own reading of bytes (receiving/session.py): lines split from one buffer, DATA
found with one search and dot-unstuffed, whatever pieces the bytes arrive in.

Each case runs a real session on a real transport (one end of a socket pair, made by the event
loop), with the bytes handed to `data_received` in exactly the pieces chosen, and its replies
read from the other end. The handler only records what DATA hands it; the engine behind the
receiving port is tested end to end in test_malformed_smtp.py and test_limits.py.
"""

from __future__ import annotations

import asyncio
import smtplib
import socket

from hypothesis import example, given, settings
from hypothesis import strategies as st

from inbound.config import LimitSettings
from inbound.receiving.connections import Connections
from inbound.receiving.session import Envelope, Handler, Session, SesSMTP


class Recorder(Handler):
    """Accepts every envelope and keeps each message DATA hands it."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def handle_EHLO(
        self, server: SesSMTP, session: Session, envelope: Envelope, hostname: str
    ) -> list[str]:
        session.host_name = hostname
        return ["250-test", "250 Ok"]

    def handle_MAIL(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        envelope.mail_from = address
        return "250 Ok"

    def handle_RCPT(
        self,
        server: SesSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 Ok"

    async def handle_DATA(self, server: SesSMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(0)  # as a commit does: the session waits, and holds what comes next
        assert envelope.content is not None
        self.messages.append(envelope.content)
        return f"250 Ok {len(self.messages)}"


def converse(pieces: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Everything the session answered to `pieces` (each handed to it as one call), until it
    closed, and the messages it accepted."""
    return asyncio.run(_converse(pieces))


async def _converse(pieces: list[bytes]) -> tuple[bytes, list[bytes]]:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    recorder = Recorder()
    transport, session = await loop.connect_accepted_socket(
        lambda: SesSMTP(recorder, limits=LimitSettings(), connections=Connections(1, 1)), theirs
    )
    for piece in pieces:
        session.data_received(piece)
        await asyncio.sleep(0)
    heard = b""
    async with asyncio.timeout(10):
        while chunk := await loop.sock_recv(ours, 65536):
            heard += chunk
    ours.close()
    transport.close()
    return heard, recorder.messages


def transaction(content: bytes) -> bytes:
    """A session that sends `content` as smtplib's `data()` does (dot-stuffed, CRLF-ended)."""
    with_end = smtplib._quote_periods(content)  # type: ignore[attr-defined]
    if not with_end.endswith(b"\r\n"):
        with_end += b"\r\n"
    return (
        b"EHLO client.test\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
        + with_end
        + b".\r\nQUIT\r\n"
    )


REPLIES = (
    b"220 localhost ESMTP\r\n250-test\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n"
    b"354 End data with <CR><LF>.<CR><LF>\r\n250 Ok 1\r\n221 Bye\r\n"
)
# Lines of a message: anything but LF (smtplib stuffs a dot after a bare LF too, which SMTP does
# not unstuff), with the lines that matter to the end of data and to dot-stuffing often.
lines = st.one_of(
    st.sampled_from([b"", b".", b"..", b". ", b".\r", b"\r", b"x."]),
    st.binary(max_size=80).map(lambda line: line.replace(b"\n", b"")),
)
contents = st.lists(lines, max_size=30).map(b"\r\n".join)


def pieces_of(data: bytes, cuts: list[int]) -> list[bytes]:
    at = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[start:end] for start, end in zip([0, *at], [*at, len(data)], strict=True)]


@settings(max_examples=200, deadline=None)
@given(content=contents, cuts=st.lists(st.integers(min_value=0), max_size=12))
@example(content=b".", cuts=[])
@example(content=b"\r\n.\r\n", cuts=[])
@example(content=b"", cuts=[])
@example(content=b"a\r\n.\r\nb", cuts=[])
def test_any_message_smtplib_sends_arrives_byte_for_byte(content: bytes, cuts: list[int]) -> None:
    """Whatever the content and however the bytes are cut, DATA hands over what smtplib was
    given (CRLF-ended), unstuffed, and the replies are those of one clean transaction."""
    heard, messages = converse(pieces_of(transaction(content), cuts))
    assert heard == REPLIES
    assert messages == [content if content.endswith(b"\r\n") else content + b"\r\n"]


def test_a_cut_at_every_position_changes_nothing() -> None:
    """Every line end, `CRLF.CRLF` and dot-stuffed line cut in two, at each byte in turn."""
    content = b"Subject: cuts\r\n\r\n.leading dot\r\n..\r\n.\r\nlast"
    wire = transaction(content)
    for cut in range(len(wire) + 1):
        heard, messages = converse([wire[:cut], wire[cut:]])
        assert (heard, messages) == (REPLIES, [content + b"\r\n"]), cut


def test_one_byte_at_a_time() -> None:
    content = b"Subject: bytes\r\n\r\n.\r\n..x\r\n"
    wire = transaction(content)
    heard, messages = converse([wire[i : i + 1] for i in range(len(wire))])
    assert (heard, messages) == (REPLIES, [content])


@settings(max_examples=50, deadline=None)
@given(
    first=contents,
    second=contents,
    cuts=st.lists(st.integers(min_value=0), max_size=8),
)
def test_pipelined_transactions_are_answered_in_order(
    first: bytes, second: bytes, cuts: list[int]
) -> None:
    """Two transactions sent ahead in any pieces: each reply in its place, both messages
    whole, the second's commands never read as part of the first message."""
    wire = transaction(first).removesuffix(b"QUIT\r\n") + transaction(second).removeprefix(
        b"EHLO client.test\r\n"
    )
    heard, messages = converse(pieces_of(wire, cuts))
    assert heard == REPLIES.replace(b"221 Bye", b"250 Ok\r\n250 Ok\r\n354 End data with "
                                    b"<CR><LF>.<CR><LF>\r\n250 Ok 2\r\n221 Bye")  # fmt: skip
    assert messages == [m if m.endswith(b"\r\n") else m + b"\r\n" for m in (first, second)]


def test_a_long_command_line_is_one_reply_in_any_pieces() -> None:
    """A command line over aiosmtpd's 1,001 octets is dropped as it comes (the buffer never
    holds it) and answered once, at its end."""
    wire = b"NOOP " + b"x" * 100_000 + b"\r\nNOOP\r\nQUIT\r\n"
    for size in (7, 1000, 1002, 65536):
        heard, _ = converse([wire[i : i + size] for i in range(0, len(wire), size)])
        assert heard == b"220 localhost ESMTP\r\n500 Command line too long\r\n250 Ok\r\n221 Bye\r\n"
