"""`inbound.ids` writes a message id's base32hex itself (one per received message, on the
event loop): the text `base64.b32hexencode` makes of the same bytes, lower case. A new id
begins with the time it was made, so that ids sort in the order of their making (the
store's indexes on them grow at their end: docs/cpu.md)."""

from __future__ import annotations

import base64
import time

from hypothesis import example, given
from hypothesis import strategies as st

from inbound import ids


@given(st.binary(min_size=25, max_size=25))
@example(bytes(25))
@example(b"\xff" * 25)
def test_message_id_text_is_base32hex(raw: bytes) -> None:
    expected = base64.b32hexencode(raw).decode("ascii").lower()
    assert ids._id_text(int.from_bytes(raw)) == expected


def test_new_message_ids_are_their_form() -> None:
    message_id = ids.new_message_id()
    assert len(message_id) == 40 and set(message_id) <= set(ids._DIGITS)
    assert ids.new_message_id() != message_id


@given(st.integers(0, (1 << 48) - 2), st.integers(1, 1 << 20))
def test_a_later_message_id_sorts_after_an_earlier_one(earlier: int, later_by: int) -> None:
    later = min(earlier + later_by, (1 << 48) - 1)
    first, second = ids.message_id_at(earlier), ids.message_id_at(later)
    assert first < second
    assert len(second) == 40 and set(first + second) <= set(ids._DIGITS)


def test_a_new_message_id_begins_with_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    message_id = ids.new_message_id()
    after = time.time_ns() // 1_000_000
    assert ids.message_id_at(before)[:9] <= message_id[:9] <= ids.message_id_at(after)[:9]
    # the rest is random: two ids of the same millisecond differ
    assert ids.message_id_at(before) != ids.message_id_at(before)
