"""The timestamp forms SES writes (inbound/timestamps.py)."""

from datetime import UTC, datetime, timedelta, timezone

from inbound.timestamps import from_wire, now_iso, to_wire, xml_timestamp

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
