"""The writes of the sending statistics (store/statistics.py): the functions the store's writer
runs, in a module that imports no asyncio (the writer may be a process: store/writer_child.py).

A count adds to one 15-minute bucket's row (an UPSERT increment), so a send's write is the
same few statements however many buckets the two weeks hold; the statistics were one JSON
document before, parsed and written whole by every send (docs/cpu.md, "Sending").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbound.store.engine import Connection, Write

# The counters of a bucket, as SendDataPoint names them, in their columns' order.
COUNTERS = ("DeliveryAttempts", "Bounces", "Complaints", "Rejects")
COLUMNS = "delivery_attempts, bounces, complaints, rejects"

_ADD = (
    f"INSERT INTO send_statistics (region, bucket, {COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (region, bucket) DO UPDATE SET"
    " delivery_attempts = send_statistics.delivery_attempts + excluded.delivery_attempts,"
    " bounces = send_statistics.bounces + excluded.bounces,"
    " complaints = send_statistics.complaints + excluded.complaints,"
    " rejects = send_statistics.rejects + excluded.rejects"
)
# The Region's lock row: engines checking the 24-hour quota at once take turns (PostgreSQL
# holds an updated row's lock until the commit; SQLite has one writer at a time).
_LOCK = (
    "INSERT INTO send_quota_locks (region) VALUES (?)"
    " ON CONFLICT (region) DO UPDATE SET region = excluded.region"
)
# The DeliveryAttempts since the first bucket of the last 24 hours, and the current bucket's.
_DAY = (
    "SELECT COALESCE(SUM(delivery_attempts), 0),"
    " COALESCE(SUM(CASE WHEN bucket = ? THEN delivery_attempts ELSE 0 END), 0)"
    " FROM send_statistics WHERE region = ? AND bucket >= ?"
)
_PRUNE = "DELETE FROM send_statistics WHERE region = ? AND bucket < ?"


@dataclass(frozen=True)
class Count:
    """Counts (`COUNTERS`' order) added to the bucket starting at `bucket` (a wire timestamp,
    which compare as text) of `region`. `oldest`: the first bucket kept, those before it are
    deleted (given once per new bucket: what is kept stays two weeks, not more). `check`, given
    the DeliveryAttempts committed from the bucket `day` on (without this count; the Region's
    lock row held), may raise, refusing the count and its transaction: the 24-hour quota that
    engines counting at once cannot pass together."""

    region: str
    bucket: str
    counts: tuple[int, ...]
    oldest: str | None = None
    day: str = ""
    check: Callable[[float], None] | None = None


def count(c: Connection, first: Write[Any] | None, counted: Count) -> int | None:
    """`first` (another write of the transaction), then `counted`. With a `check`, returns the
    bucket's DeliveryAttempts as committed (with other engines' counts): the one statement
    whose result is read in the middle of the transaction, as the check needs it anyway."""
    if first is not None:
        first(c)
    region, bucket = counted.region, counted.bucket
    if counted.oldest is not None:
        c.execute(_PRUNE, (region, counted.oldest))
    if counted.check is not None:
        c.execute(_LOCK, (region,))
    c.execute(_ADD, (region, bucket, *counted.counts))
    if counted.check is None:
        return None
    day, current = c.execute(_DAY, (bucket, region, counted.day)).fetchone()
    counted.check(float(day - counted.counts[0]))
    return int(current)
