"""Outgoing mail queued for the relay: `queued` → `sending` → `sent` | `deferred` | `failed`."""

from __future__ import annotations

import json
from typing import Any

from inbound.records import Listing, OutboxMessage, OutboxStatus, RelayOutcome
from inbound.store import rows
from inbound.store.engine import execute, execute_unread
from inbound.store.writer import Connection, Database, Row, Write

# Every column but the bytes (`outbox_raw` reads those).
COLUMNS = (
    "id, mail_from, recipients, message_id, status, created, attempts, last_attempt,"
    " next_attempt, last_error, remote_reply"
)


class Outbox(Database):
    def queue_outbox(self, message: OutboxMessage, raw: bytes) -> None:
        """Queue without waiting: the relay flushes before it reads the outbox."""
        params = (
            message.id,
            message.mail_from,
            json.dumps(list(message.recipients)),
            raw,
            message.message_id,
            message.status,
            message.created,
        )
        sql = (
            "INSERT OR REPLACE INTO outbox"
            " (id, mail_from, recipients, raw, message_id, status, created)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        self._submit(Write(execute_unread, sql, params))

    def outbox(self, limit: int = 1000, offset: int = 0) -> Listing[OutboxMessage]:
        found, total = self._page(
            f"SELECT {COLUMNS} FROM outbox", "created, rowid", (), limit, offset
        )
        return Listing((outbox_message(r) for r in found), total)

    def outbox_due(self, now: str, limit: int) -> list[OutboxMessage]:
        """Outbox messages to attempt now, oldest first. `sending` ones are left by a crash
        mid-attempt (the relay marks one at a time): try them again."""
        found = self._read(
            f"SELECT {COLUMNS} FROM outbox"
            " WHERE status IN (?, ?) OR (status = ? AND next_attempt <= ?)"
            " ORDER BY created, rowid LIMIT ?",
            (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.DEFERRED, now, limit),
        )
        return [outbox_message(r) for r in found]

    def outbox_next_attempt(self) -> str | None:
        """The earliest `next_attempt` of a deferred message (ISO 8601 UTC), if any."""
        found = self._read(
            "SELECT MIN(w.next_attempt) AS t FROM outbox w WHERE w.status = ?" + self._mine,
            (OutboxStatus.DEFERRED,),
        )
        return found[0]["t"] if found else None

    def outbox_raw(self, outbox_id: str) -> bytes | None:
        found = self._read("SELECT raw FROM outbox WHERE id = ?", (outbox_id,))
        return bytes(found[0]["raw"]) if found else None

    async def outbox_sending(self, outbox_id: str, now: str) -> None:
        """Durably mark an attempt as started before the first SMTP byte goes out."""
        sql = (
            "UPDATE outbox SET status = ?, attempts = attempts + 1,"
            " last_attempt = ?, next_attempt = NULL WHERE id = ?"
        )
        await self._write(Write(execute, sql, (OutboxStatus.SENDING, now, outbox_id)))

    async def outbox_result(
        self,
        outbox_id: str,
        status: OutboxStatus,
        *,
        last_error: str | None,
        remote_reply: str | None,
        next_attempt: str | None = None,
    ) -> None:
        """Record how an attempt ended. For the entry holding a sent message's recipients, the
        outcome is also kept for delivery to publish (`relay_outcomes_due`), in the same
        transaction: a restart between the two cannot lose it."""
        assert status in _ENDED, status

        values = (status, last_error, remote_reply, next_attempt, outbox_id)
        await self._write(Write(_record_result, values))

    def relay_outcomes_due(self, limit: int) -> list[RelayOutcome]:
        """Relay outcomes of sent mail whose events are not published yet, oldest first."""
        found = self._read("SELECT * FROM relay_outcomes ORDER BY rowid LIMIT ?", (limit,))
        return [relay_outcome(r) for r in found]

    async def relay_outcome_published(self, outcome: RelayOutcome) -> None:
        sql = "DELETE FROM relay_outcomes WHERE outbox_id = ? AND attempt = ?"
        await self._write(Write(execute, sql, (outcome.outbox_id, outcome.attempt)), durable=False)

    async def outbox_retry(self, outbox_id: str) -> OutboxStatus | None:
        """Queue a deferred or failed message again; returns its status before, None if absent
        (the status is unchanged unless it was deferred or failed)."""
        return await self._write(Write(_retry, outbox_id))


_ENDED = (OutboxStatus.SENT, OutboxStatus.DEFERRED, OutboxStatus.FAILED)  # an attempt's ends


def _record_result(c: Connection, values: tuple[Any, ...]) -> None:
    c.execute(
        "UPDATE outbox SET status = ?, last_error = ?, remote_reply = ?, next_attempt = ?"
        " WHERE id = ?",
        values,
    )
    c.execute(
        "INSERT OR IGNORE INTO relay_outcomes"
        " (outbox_id, attempt, sent_id, status, queued, remote_reply, last_error)"
        " SELECT id, attempts, message_id, status, created, remote_reply, last_error"
        " FROM outbox WHERE id = ? AND message_id IN (SELECT id FROM sent)",
        (values[-1],),
    )


def _retry(c: Connection, outbox_id: str) -> OutboxStatus | None:
    row = c.execute("SELECT status FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
    if row is None:
        return None
    before = OutboxStatus(row[0])
    if before in (OutboxStatus.DEFERRED, OutboxStatus.FAILED):
        c.execute(
            "UPDATE outbox SET status = ?, next_attempt = NULL WHERE id = ?",
            (OutboxStatus.QUEUED, outbox_id),
        )
    return before


def outbox_message(row: Row) -> OutboxMessage:
    return rows.record(
        OutboxMessage,
        row,
        recipients=tuple(json.loads(row["recipients"])),
        status=OutboxStatus(row["status"]),
    )


def relay_outcome(row: Row) -> RelayOutcome:
    return rows.record(RelayOutcome, row, status=OutboxStatus(row["status"]))
