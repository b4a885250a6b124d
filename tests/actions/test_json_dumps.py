"""`inbound.actions.json_dumps` (orjson) writes what the stdlib would, for notification values.

Notifications and Lambda events hold text (headers and content decoded with replacement, so
valid Unicode), integers, booleans, null, lists and objects; for all of them the fast encoder
must give the stdlib's compact, non-ASCII-preserving form byte for byte.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from inbound.actions import json_dumps

text = st.text(st.characters(exclude_categories=["Cs"]))  # no lone surrogates
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_same_text_as_the_stdlib(value: object) -> None:
    assert json_dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def test_message_content_round_trips() -> None:
    content = "Subject: caf\u00e9\r\n\r\n\u2028line\x00\x7f\u00ff\r\n.\r\n"
    assert json.loads(json_dumps({"content": content})) == {"content": content}
