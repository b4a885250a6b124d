"""`inbound.ids` writes a message id's base32hex itself (one per received message, on the
event loop): the text `base64.b32hexencode` makes of the same bytes, lower case."""

from __future__ import annotations

import base64

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
