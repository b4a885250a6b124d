"""Property: the escape of S3 names on PostgreSQL (store/names.py) has no NUL, reads back as
it was, and keeps what listings compare: UTF-8 binary order and prefixes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inbound.store.names import escape, unescape

# The characters the escape touches, drawn often, among any others
NAMES = st.lists(
    st.one_of(st.sampled_from(["\0", "\x01", "\x02", "a"]), st.characters(codec="utf-8"))
).map("".join)


@given(NAMES, NAMES)
def test_the_escape_reads_back_and_keeps_order_and_prefixes(a: str, b: str) -> None:
    assert "\0" not in escape(a)
    assert unescape(escape(a)) == a
    assert (escape(a) < escape(b)) == (a.encode() < b.encode())
    assert escape(b).startswith(escape(a)) == b.startswith(a)
