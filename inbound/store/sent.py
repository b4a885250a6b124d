"""Mail accepted by the Send* operations: one row per message, its bytes apart."""

from __future__ import annotations

import json

from inbound.records import SentMessage, SentStatus
from inbound.store import rows
from inbound.store.writer import Connection, Database, Row


class Sent(Database):
    async def add_sent(self, message: SentMessage, raw: bytes | None) -> None:
        """Store a sent message durably (fsynced) before returning: the caller answers the
        Send* request with its MessageId only then, as receiving answers `250` only after the
        spool. `raw` is None when nothing was built (a rendering failure)."""
        params = (
            message.id,
            message.operation,
            message.created,
            message.source,
            message.mail_from,
            json.dumps(list(message.recipients)),
            message.return_path,
            message.configuration_set,
            json.dumps(message.tags),
            message.status,
            message.size,
            json.dumps(message.trace),
        )

        def insert(c: Connection) -> None:
            c.execute("INSERT INTO sent VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", params)
            if raw is not None:
                c.execute("INSERT INTO sent_raw (id, raw) VALUES (?, ?)", (message.id, raw))

        await self._write(insert)

    def sent(self, limit: int = 1000) -> list[SentMessage]:
        """Oldest first, as the received messages are listed."""
        found = self._read("SELECT * FROM sent ORDER BY created, rowid LIMIT ?", (limit,))
        return [_sent(r) for r in found]

    def sent_message(self, message_id: str) -> SentMessage | None:
        found = self._read("SELECT * FROM sent WHERE id = ?", (message_id,))
        return _sent(found[0]) if found else None

    def sent_raw(self, message_id: str) -> bytes | None:
        found = self._read("SELECT raw FROM sent_raw WHERE id = ?", (message_id,))
        return bytes(found[0]["raw"]) if found else None


def _sent(row: Row) -> SentMessage:
    return rows.record(
        SentMessage,
        row,
        recipients=tuple(json.loads(row["recipients"])),
        tags=json.loads(row["tags"]),
        status=SentStatus(row["status"]),
        trace=json.loads(row["trace"]),
    )
