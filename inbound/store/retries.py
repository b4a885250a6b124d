"""Failed actions retried until their deadline (inbound/receiving/retries.py).

A message's entries are worked on only once the message is `done`: its trace is then complete
(a retry replays it) and its sequence numbers are no longer being handed out.
"""

from __future__ import annotations

from inbound.records import Listing, MessageRecord, MessageStatus, RetryEntry, RetryStatus, TraceRow
from inbound.store import rows
from inbound.store.changes import ChangeKind
from inbound.store.engine import execute
from inbound.store.writer import Database, Write

_WORK = "SELECT r.* FROM retries r JOIN messages m ON m.id = r.message_id WHERE m.status = ?"


class Retries(Database):
    def retries_due(self, now: str, limit: int) -> list[RetryEntry]:
        """Pending entries due by `now`, and expired ones whose DSN is not settled yet."""
        found = self._read(
            f"{_WORK} AND ((r.status = ? AND r.next_attempt <= ?)"
            " OR (r.status = ? AND r.dsn IS NULL))"
            " ORDER BY r.next_attempt, r.message_id, r.rule_position, r.action_index LIMIT ?",
            (MessageStatus.DONE, RetryStatus.PENDING, now, RetryStatus.EXPIRED, limit),
        )
        return [rows.retry_entry(r) for r in found]

    def retries_next_attempt(self) -> str | None:
        """The earliest `next_attempt` of a pending entry of a finished message, if any."""
        found = self._read(
            "SELECT MIN(w.next_attempt) AS t FROM retries w JOIN messages m"
            " ON m.id = w.message_id WHERE m.status = ? AND w.status = ?" + self._mine,
            (MessageStatus.DONE, RetryStatus.PENDING),
        )
        return found[0]["t"] if found else None

    def retries(
        self,
        *,
        message_id: str | None = None,
        status: RetryStatus | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> Listing[RetryEntry]:
        where = {"message_id": message_id, "status": status}
        clause = " AND ".join(f"{k} = ?" for k, v in where.items() if v is not None)
        found, total = self._page(
            f"SELECT * FROM retries {'WHERE ' + clause if clause else ''}",
            "created, message_id, rule_position, action_index",
            tuple(v for v in where.values() if v is not None),
            limit,
            offset,
        )
        return Listing((rows.retry_entry(r) for r in found), total)

    def messages_with_retries(
        self, status: RetryStatus, limit: int = 1000, offset: int = 0
    ) -> Listing[MessageRecord]:
        """Messages with at least one retry entry in `status`, oldest first."""
        found, total = self._page(
            "SELECT * FROM messages WHERE id IN (SELECT message_id FROM retries WHERE status = ?)",
            "received_at, rowid",
            (status,),
            limit,
            offset,
        )
        return Listing((rows.message(r) for r in found), total)

    def message_dsn(self, message_id: str) -> str | None:
        """The 451 DSN already settled for this message (once per message, spec §8)."""
        found = self._read(
            "SELECT dsn FROM retries WHERE message_id = ? AND dsn IS NOT NULL LIMIT 1",
            (message_id,),
        )
        return found[0]["dsn"] if found else None

    async def retry_attempted(self, entry: RetryEntry, row: TraceRow) -> None:
        """Store an attempt's outcome (`entry` as it is now) and its trace row, numbered after
        the message's last one, in one transaction."""
        values = rows.trace_values(entry.message_id, row)[2:]
        await self._write(Write(rows.trace_and_retry, entry, values))
        self.changes.post(ChangeKind.RECEIVED, entry.message_id)

    async def retry_now(self, message_id: str, now: str) -> int:
        """Make the message's pending and expired entries due at `now`; returns how many."""

        sql = (
            "UPDATE retries SET status = ?, next_attempt = ?, updated = ?"
            " WHERE message_id = ? AND status IN (?, ?)"
        )
        params = (now, now, message_id, RetryStatus.PENDING, RetryStatus.EXPIRED)
        return await self._write(Write(execute, sql, (RetryStatus.PENDING, *params)))
