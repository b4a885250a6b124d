"""A message split into its header fields and body (headers.SplitMessage.parse) as the general
form splits it: a regex search for the blank line, a regex split into lines, each line decoded
on its own. The fast form (`find`s for the blank line, the block decoded at once and split at
LF) must give the same fields and body offset for any bytes."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from inbound.headers import Header, SplitMessage, fields_of


def _general(raw: bytes) -> tuple[tuple[Header, ...], int]:
    if raw[:1] in (b"\r", b"\n"):
        return (), 2 if raw.startswith(b"\r\n") else 1
    found = re.search(rb"\r?\n\r?\n", raw)
    head, offset = (raw, len(raw)) if found is None else (raw[: found.start()], found.end())
    lines = [line.decode("utf-8", "replace") for line in re.split(rb"\r?\n", head)]
    return tuple(fields_of(lines)), offset


# the bytes that matter: line ends, folding, colons, spaces, and UTF-8 (whole, cut, invalid)
_PIECES = st.sampled_from(
    [b"\r", b"\n", b"\r\n", b" ", b"\t", b":", b"a", b"From", b"X-A", b"\xe2\x82\xac", b"\xe2\x82",
     b"\xf0\x9f", b"\xff", b"\x80", b"\x00"]
)  # fmt: skip
_RAW = st.one_of(st.lists(_PIECES, max_size=40).map(b"".join), st.binary(max_size=200))


@settings(max_examples=2000, deadline=None)
@given(raw=_RAW)
@example(raw=b"From: a\r\n \tfolded\r\nX: \xe2\x82\r\n\r\nbody")
@example(raw=b"X: a\r\r\n\r\nbody")
@example(raw=b"X: a\n\r\nY: b")
@example(raw=b"X: a\r")
@example(raw=b"no colon\r\n cont: x\r\nY:\xf0\x9f\n\n")
def test_the_split_is_the_general_one(raw: bytes) -> None:
    split = SplitMessage.parse(raw)
    assert (split.headers, split.body_offset) == _general(raw)
