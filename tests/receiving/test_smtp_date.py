"""The Received header's date (receipt.smtp_date) is `email.utils.format_datetime`'s text for
every moment: UTC ones, formatted by receipt.py itself, and any other offset or a naive one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from hypothesis import example, given
from hypothesis import strategies as st

from inbound.receiving.receipt import smtp_date

_ZONES = st.one_of(
    st.just(UTC),
    st.none(),
    st.integers(-24 * 60 + 1, 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m))),
    st.integers(-86399, 86399).map(lambda s: timezone(timedelta(seconds=s))),
)


@given(moment=st.datetimes(timezones=_ZONES))
@example(moment=datetime(1, 1, 1, tzinfo=UTC))
@example(moment=datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))
def test_smtp_date_is_format_datetime(moment: datetime) -> None:
    assert smtp_date(moment) == format_datetime(moment)
