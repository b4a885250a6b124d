"""The timestamp forms SES writes (inbound/timestamps.py)."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from inbound.timestamps import from_wire, now_iso, to_wire, wire_of_ns, xml_timestamp

MOMENT = datetime(2016, 3, 2, 1, 2, 3, 456789, tzinfo=UTC)


def test_wire_form_has_milliseconds_and_z() -> None:
    assert to_wire(MOMENT) == "2016-03-02T01:02:03.456Z"
    assert from_wire("2016-03-02T01:02:03.456Z") == MOMENT.replace(microsecond=456000)
    assert from_wire(now_iso()).tzinfo is not None


def test_wire_form_keeps_another_offset() -> None:
    moment = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert to_wire(moment) == "2016-03-02T03:02:03.456+02:00"
    assert from_wire(to_wire(moment)) == MOMENT.replace(microsecond=456000)


def test_xml_form_is_always_utc() -> None:
    moment = MOMENT.astimezone(timezone(timedelta(hours=2)))
    assert xml_timestamp(moment) == "2016-03-02T01:02:03.456Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_NS = st.integers(0, (_LAST - _EPOCH) // timedelta(microseconds=1) * 1000 + 999)


@given(ns=st.lists(_NS, min_size=1, max_size=4))
@example(ns=[0, 999_999, 1_000_000, 999_999_999, 1_000_000_000, 1_500_000_000])
def test_now_is_written_as_to_wire_writes_it(ns: list[int]) -> None:
    """`now_iso`'s formatting of a clock reading (the second's text kept between calls)."""
    for reading in ns:
        moment = _EPOCH + timedelta(microseconds=reading // 1000)
        assert wire_of_ns(reading) == to_wire(moment)
