"""Received messages: their receipt-state snapshots, the spool, and each message's trace."""

from __future__ import annotations

import json
from collections.abc import Sequence

from inbound.records import Listing, MessageRecord, MessageStatus, RetryEntry, TraceRow
from inbound.store import rows
from inbound.store.writer import Connection, Database
from inbound.timestamps import now_iso


class Messages(Database):
    async def save_state(self, state_id: str, body: str) -> None:
        await self._write(
            lambda c: c.execute(
                "INSERT OR IGNORE INTO states (id, body) VALUES (?, ?)", (state_id, body)
            )
        )

    def load_state(self, state_id: str) -> str:
        body: str = self._read("SELECT body FROM states WHERE id = ?", (state_id,))[0]["body"]
        return body

    async def spool(self, record: MessageRecord, raw: bytes) -> None:
        def insert(c: Connection) -> None:
            c.execute("INSERT INTO spool (id, raw) VALUES (?, ?)", (record.id, raw))
            c.execute(
                "INSERT INTO messages (id, received_at, mail_from, recipients, client_ip, helo,"
                " tls, state_id, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.received_at,
                    record.mail_from,
                    json.dumps(record.recipients),
                    record.client_ip,
                    record.helo,
                    int(record.tls),
                    record.state_id,
                    record.size,
                ),
            )

        await self._write(insert)

    def raw(self, message_id: str) -> bytes | None:
        found = self._read("SELECT raw FROM spool WHERE id = ?", (message_id,))
        return bytes(found[0]["raw"]) if found else None

    def message(self, message_id: str) -> MessageRecord | None:
        found = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return rows.message(found[0]) if found else None

    def messages(
        self, *, status: MessageStatus | None = None, limit: int = 1000, offset: int = 0
    ) -> Listing[MessageRecord]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        found, total = self._page(
            f"SELECT * FROM messages {where} ORDER BY received_at, rowid", params, limit, offset
        )
        return Listing((rows.message(r) for r in found), total)

    def counts(self) -> dict[str, int]:
        found = self._read("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
        by_status = {r["status"]: r["n"] for r in found}
        return {
            "messages": sum(by_status.values()),
            "pending": by_status.get(MessageStatus.PENDING, 0),
        }

    async def add_trace(
        self,
        message_id: str,
        steps: Sequence[TraceRow],
        *,
        finished: bool = False,
        retries: Sequence[RetryEntry] = (),
    ) -> None:
        """Record steps of a message in one write; `finished` also marks the message done.
        `retries` (failed actions to retry) commit with the rows that report the failures.
        Returns once committed, so that the next action never starts before the record of
        the previous one exists: a killed process then never repeats a completed action."""
        statements = rows.trace_inserts(message_id, steps)
        entries = tuple(retries)  # the caller reuses its list
        done_at = now_iso() if finished else None

        def write(c: Connection) -> None:
            for sql, params in statements:
                c.execute(sql, params)
            if entries:
                rows.insert_retries(c, entries)
            if done_at is not None:
                c.execute(
                    "UPDATE messages SET status = ?, finished_at = ? WHERE id = ?",
                    (MessageStatus.DONE, done_at, message_id),
                )

        await self._write(write, durable=False)

    def trace(self, message_id: str) -> list[TraceRow]:
        found = self._read("SELECT * FROM trace WHERE message_id = ? ORDER BY seq", (message_id,))
        return [rows.trace_row(r) for r in found]
