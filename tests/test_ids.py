"""inbound/ids.py: a version-4 UUID formatted by hand is `uuid.UUID`'s text of it."""

from __future__ import annotations

import uuid

from hypothesis import example, given
from hypothesis import strategies as st

from inbound import ids


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
@example(0)
@example((1 << 128) - 1)
def test_uuid4_text_is_uuid_s(bits: int) -> None:
    assert ids.uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_new_uuid_is_a_version_4_uuid() -> None:
    found = uuid.UUID(ids.new_uuid())
    assert found.version == 4 and found.variant == uuid.RFC_4122
