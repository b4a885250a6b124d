"""The account-level suppression list: one row per Region and address (SES v2's
PutSuppressedDestination and what delivery adds after a hard bounce or a complaint), listed in
the order it changed (`updated`, then address), so a page can resume after its last row."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from inbound.records import SuppressedDestination, SuppressionReason
from inbound.store.engine import execute_each
from inbound.store.writer import Database, Row, Write

_UPSERT = "INSERT OR REPLACE INTO suppressed VALUES (?, ?, ?, ?, ?, ?)"


class Suppressed(Database):
    async def put_suppressed(self, region: str, entries: Iterable[SuppressedDestination]) -> None:
        """Add `entries` (or replace what the list has for their addresses), durably before
        returning, in one transaction."""
        rows = [
            (region, e.address, e.reason, e.updated, e.message_id, e.feedback_id) for e in entries
        ]
        await self._write(Write(execute_each, _UPSERT, rows))

    async def delete_suppressed(self, region: str, addresses: Collection[str]) -> int:
        """Remove `addresses` in one transaction; returns how many were on the list."""
        rows = [(region, a) for a in addresses]
        sql = "DELETE FROM suppressed WHERE region = ? AND address = ?"
        return await self._write(Write(execute_each, sql, rows))

    def suppressed(
        self, region: str, addresses: Collection[str]
    ) -> dict[str, SuppressedDestination]:
        """The entries of those of `addresses` that are on the list, by address."""
        if not addresses:
            return {}
        marks = ", ".join("?" * len(addresses))
        found = self._read(
            f"SELECT * FROM suppressed WHERE region = ? AND address IN ({marks})",
            (region, *addresses),
        )
        return {r["address"]: _entry(r) for r in found}

    def suppressed_page(
        self,
        region: str,
        *,
        reasons: Collection[SuppressionReason],
        start: str | None,
        end: str | None,
        after: tuple[str, str] | None,
        limit: int,
    ) -> list[SuppressedDestination]:
        """Up to `limit` entries with one of `reasons`, updated at or after `start` and before
        `end` (either may be None), that come after `after` (an entry's (updated, address)) in
        list order."""
        sql = ["SELECT * FROM suppressed WHERE region = ?"]
        params: list[object] = [region]
        sql.append(f"AND reason IN ({', '.join('?' * len(reasons))})")
        params.extend(reasons)
        if start is not None:
            sql.append("AND updated >= ?")
            params.append(start)
        if end is not None:
            sql.append("AND updated < ?")
            params.append(end)
        if after is not None:
            sql.append("AND (updated, address) > (?, ?)")
            params.extend(after)
        sql.append("ORDER BY updated, address LIMIT ?")
        params.append(limit)
        return [_entry(r) for r in self._read(" ".join(sql), tuple(params))]


def _entry(row: Row) -> SuppressedDestination:
    return SuppressedDestination(
        row["address"],
        SuppressionReason(row["reason"]),
        row["updated"],
        row["message_id"],
        row["feedback_id"],
    )
