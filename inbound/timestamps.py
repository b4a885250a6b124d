"""Timestamps in the forms SES writes them, so every module writes and reads them one way.

SES's form is ISO 8601 with milliseconds and `Z` for UTC: `mail.timestamp`, an SNS
notification's `Timestamp`, `CreatedTimestamp` in rules.json and the API's JSON, and every time
the store keeps (due times compare as text). A moment with another offset keeps it, so a
rules.json `CreatedTimestamp` written with one is exported as written.

The Query API's XML is the other form: always converted to UTC, formatted as botocore's
serializer does (`xml_timestamp`).
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_wire(moment: datetime) -> str:
    """`2016-03-02T01:02:03.456Z`."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_wire(text: str) -> datetime:
    """The inverse of `to_wire`; naive if `text` has no offset."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now_iso() -> str:
    return to_wire(datetime.now(UTC))


def xml_timestamp(moment: datetime) -> str:
    """`2016-03-02T01:02:03.456Z` for an aware `moment`, whatever its offset."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond // 1000:03d}Z"
