"""Timestamps in the forms SES writes them, so every module writes and reads them one way.

SES's form is ISO 8601 with milliseconds and `Z` for UTC: `mail.timestamp`, an SNS
notification's `Timestamp`, `CreatedTimestamp` in rules.json and the API's JSON, and every time
the store keeps (due times compare as text). A moment with another offset keeps it, so a
rules.json `CreatedTimestamp` written with one is exported as written.

The Query API's XML is the other form: always converted to UTC, formatted as botocore's
serializer does (`xml_timestamp`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def to_wire(moment: datetime) -> str:
    """`2016-03-02T01:02:03.456Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_wire(text: str) -> datetime:
    """The inverse of `to_wire`; naive if `text` has no offset."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_iso() -> str:
    return wire_of_ns(time.time_ns())


# The last second `wire_of_ns` formatted, with its text: a second's several calls format it once.
_second: list[tuple[int, str]] = [(-1, "")]


def wire_of_ns(ns: int) -> str:
    """`to_wire` of the UTC moment `ns` nanoseconds after the epoch (from 1970 to 9999),
    milliseconds cut as `to_wire` cuts them: a third of its time, with the second's text kept
    (several times per received message on the event loop). A property test checks it."""
    seconds, rest = divmod(ns, 1_000_000_000)
    last = _second[0]
    if last[0] != seconds:
        last = _second[0] = (seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)))
    return f"{last[1]}.{rest // 1_000_000:03d}Z"


def xml_timestamp(moment: datetime) -> str:
    """`2016-03-02T01:02:03.456Z` for an aware `moment`, whatever its offset."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"
