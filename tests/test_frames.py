"""inbound/frames.py: what the server and its child processes send each other."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.frames import Unframer, frame

VALUES = st.lists(
    st.recursive(
        st.none() | st.integers() | st.text() | st.binary(),
        lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
        max_leaves=8,
    ),
    max_size=8,
)


@given(values=VALUES, cuts=st.lists(st.integers(min_value=0), max_size=10))
def test_frames_cut_anywhere_come_out_whole_and_in_order(
    values: list[object], cuts: list[int]
) -> None:
    stream = b"".join(frame(v) for v in values)
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    frames = Unframer(1 << 20, chunk=0)
    found: list[object] = []
    for start, end in itertools.pairwise(bounds):
        found += frames.feed(stream[start:end])
    assert found == values
    assert frames.feed(b"") == []  # nothing left over


def test_a_frame_over_the_bound_is_refused_from_its_head() -> None:
    frames = Unframer(16, chunk=0)
    with pytest.raises(ValueError, match="a frame of"):
        frames.feed(frame(b"x" * 64)[:4])  # its length alone: refused before its body comes
