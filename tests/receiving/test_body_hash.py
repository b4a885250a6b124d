"""X-SES-DKIM-SIGNATURE's `bh` is hashed in place, without copying the body (issue 18 item 2),
and a body up to `HELD_HASH_MAX` in pieces (receipt.py): the same value as the canonical body
built as a copy and hashed whole, whatever the body, its size and its line ends."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from inbound.receiving.receipt import HELD_HASH_MAX, HELD_PIECE, ses_dkim_signature

_SIZES = [HELD_PIECE - 1, HELD_PIECE, HELD_PIECE + 1, 3 * HELD_PIECE, HELD_HASH_MAX - 2,
          HELD_HASH_MAX, HELD_HASH_MAX + 1]  # fmt: skip
_LARGE = st.one_of(st.sampled_from(_SIZES), st.integers(0, HELD_HASH_MAX + HELD_PIECE))
_ENDS = st.lists(st.sampled_from([b"\r", b"\n", b"\r\n"]), max_size=5).map(b"".join)


@given(
    head=st.binary(max_size=40),
    body=st.one_of(
        st.binary(max_size=200), _LARGE.map(lambda n: (bytes(range(256)) * (n // 256 + 1))[:n])
    ),
    tail=st.one_of(_ENDS, st.integers(4000, 9000).map(lambda n: b"\r\n" * n)),
)
def test_body_hash_is_that_of_the_canonical_copy(head: bytes, body: bytes, tail: bytes) -> None:
    whole = body + tail
    canonical = whole.rstrip(b"\r\n") + b"\r\n" if whole.strip(b"\r\n") else b"\r\n"
    expected = base64.b64encode(hashlib.sha256(canonical).digest()).decode()
    signature = ses_dkim_signature(head + whole, len(head), datetime.now(UTC), b"k" * 16)
    assert f" bh={expected};" in signature
