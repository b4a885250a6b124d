"""A bounce returns only the original's header (SES's receipt bounces, SendBounce), so it is
built from the header block alone (`SplitMessage.head_with`) rather than from all of a message
of up to 40 MB (issue 18 item 2): the header the DSN returns is the same either way, whatever
the line ends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inbound.dsn.build import Original
from inbound.headers import SplitMessage

_PIECES = st.sampled_from([b"A: b", b"Subject: x", b" folded", b"\r\n", b"\n", b"\r", b"body"])


@given(st.lists(st.one_of(_PIECES, st.binary(max_size=8)), max_size=30).map(b"".join))
def test_the_header_block_gives_the_dsn_the_same_header_as_the_whole_message(raw: bytes) -> None:
    head = SplitMessage.parse(raw).head_with([("X-Added", "1")])
    whole = SplitMessage.parse(raw).with_headers([("X-Added", "1")])
    assert Original.of(head).header == Original.of(whole).header
