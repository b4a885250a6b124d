"""The sending statistics (GetSendStatistics, GetSendQuota): one row per Region and 15-minute
bucket of `send_statistics`, each count added to its bucket's row (store/statistics_writes.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from inbound.store.statistics_writes import COLUMNS, COUNTERS, Count, count
from inbound.store.writer import Database, Write


class Statistics(Database):
    def count_sending(
        self, counted: Count, first: Write[Any] | None = None
    ) -> asyncio.Future[int | None]:
        """Add `counted` durably, in one transaction after `first` (another write, such as the
        sent message the count is for): queued at once, in call order; the future is done
        once it is on disk, with what `statistics_writes.count` returns, or its check's
        error (then nothing of the transaction is stored)."""
        return self._queue_write(Write(count, first, counted))

    def send_statistics(self, region: str, since: str) -> list[tuple[str, dict[str, int]]]:
        """The buckets of `region` from the one starting at `since` on, oldest first: each its
        start (a wire timestamp) and its counts by SendDataPoint name."""
        found = self._read(
            f"SELECT bucket, {COLUMNS} FROM send_statistics WHERE region = ? AND bucket >= ?"
            " ORDER BY bucket",
            (region, since),
        )
        columns = list(zip(COUNTERS, COLUMNS.split(", "), strict=True))
        return [(r["bucket"], {name: int(r[column]) for name, column in columns}) for r in found]
