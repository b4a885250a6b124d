"""The content scanners' look for encoded parts: a chunked search that must find exactly what a
case-insensitive search of the whole message finds, markers across chunk boundaries included."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from inbound.receiving.verdicts import has_encoded_part

_WHOLE = re.compile(rb"base64|quoted-printable", re.IGNORECASE)
_PIECES = st.sampled_from(
    [b"base64", b"BASE64", b"bAsE6", b"4", b"quoted-", b"Printable", b"QUOTED-PRINTABLE", b"x",
     b" ", b"\r\n", b"\xc3\xa9", b"b", b"-"]
)  # fmt: skip


@given(pieces=st.lists(_PIECES, max_size=30), chunk=st.integers(1, 40))
def test_a_chunked_search_finds_what_a_whole_search_finds(pieces: list[bytes], chunk: int) -> None:
    raw = b"".join(pieces)
    assert has_encoded_part(raw, chunk) == (_WHOLE.search(raw) is not None)


def test_a_marker_across_the_default_chunk_boundary_is_found() -> None:
    raw = b"x" * ((1 << 20) - 3) + b"Base64" + b"y" * 10
    assert has_encoded_part(raw)
    assert not has_encoded_part(b"x" * (3 << 20))
