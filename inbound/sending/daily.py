"""An engine's running count of the DeliveryAttempts of the last 24 hours of one Region, by
bucket: what a send's quota check reads on the event loop, without reading the store (its
statistics are rows: store/statistics.py). The store's check in the send's own transaction is
what decides (`Count.check`); this one answers first, in SES's order of checks, and spends no
rate on a send over the quota.

It is what the store had committed when it was read, then each send's bucket as committed
(with other engines' counts: the store's check reads it anyway), plus what this engine has
queued and not yet seen committed.
"""

from __future__ import annotations

from collections.abc import Iterable


class DailyCounts:
    def __init__(self, committed: Iterable[tuple[str, int]]) -> None:
        self._counts = dict(committed)  # by bucket: committed, plus queued
        self._queued: dict[int, tuple[str, int]] = {}  # by write: its bucket and attempts
        self._writes = 0
        self._applied = 0  # the last write whose bucket as committed was taken in

    def since(self, first: str) -> int:
        """The DeliveryAttempts from the bucket `first` on (at most a day of buckets)."""
        return sum(n for start, n in self._counts.items() if start >= first)

    def queue(self, bucket: str, attempts: int, first: str) -> int:
        """Count `attempts` queued in `bucket` (a new bucket drops those before `first`);
        returns the write's number for `done`."""
        if bucket not in self._counts:
            self._counts = {b: n for b, n in self._counts.items() if b >= first}
        self._counts[bucket] = self._counts.get(bucket, 0) + attempts
        self._writes += 1
        self._queued[self._writes] = (bucket, attempts)
        return self._writes

    def done(self, write: int, stored: bool, committed: int | None) -> None:
        """Write `write` was stored (with its bucket's DeliveryAttempts as `committed`, if
        known), or not. Writes commit in the order they were queued, but are told in any
        order, or not at all (a send whose caller went away): a bucket as committed includes
        every earlier write, so the earlier ones are settled by it."""
        found = self._queued.pop(write, None)
        if found is None or write < self._applied:
            return
        bucket, attempts = found
        if bucket not in self._counts:
            return
        if not stored:
            self._counts[bucket] -= attempts
        elif committed is not None:
            self._applied = write
            self._queued = {w: q for w, q in self._queued.items() if w > write}
            later = sum(n for b, n in self._queued.values() if b == bucket)
            self._counts[bucket] = committed + later
