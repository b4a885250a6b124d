"""Mail accepted by the Send* operations: one row per message, its bytes apart, and the
messages whose delivery is not finished (`sent_pending`, written with the message and removed
with its last trace step, so a restart finds exactly the unfinished ones).

A message's bytes are a blob of `sent_raw`, or, above `FILE_ABOVE`, the file
`sent/<MessageId>` under the data dir, for the reasons store/bodies.py gives for received
bodies (a 40 MB blob is written twice and holds the one writer thread for the whole write).
The file is fsynced and renamed into place (its folder fsynced) before the row commits, so a
message is never accepted without its bytes; a kill between the two leaves a file without a
row, which `discard_orphan_sent_bodies()` removes at the next start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound.datadir import under
from inbound.records import Listing, ReturnedMail, SentMessage, SentStatus
from inbound.store import bodies, rows
from inbound.store.changes import ChangeKind
from inbound.store.documents import Documents
from inbound.store.engine import execute
from inbound.store.statistics import Statistics
from inbound.store.statistics_writes import Count
from inbound.store.writer import Connection, Row, Write

log = logging.getLogger("inbound.store")
SENT_BODIES = "sent"
# Above this a sent message's bytes are a file: the SMTP reader's spooling threshold
# (receiving/data.py), so the 10 KB and 1 MB sends keep their blob and its group commit.
FILE_ABOVE = 2 * 1024 * 1024


@dataclass(frozen=True)
class SentBody:
    """A sent message's bytes as `Sent.add_sent` takes them: `raw`, stored as a blob with the
    row, or already the file `path` (above FILE_ABOVE), which a send refused before its row
    was queued must `discard()`."""

    raw: bytes | None
    path: Path | None = None

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class Sent(Statistics, Documents):
    async def sent_body(self, message_id: str, raw: bytes | None) -> SentBody:
        """`raw` (None: nothing was built) as `add_sent` takes it; above FILE_ABOVE written to
        its file first, durably and off the event loop, so that `add_sent` queues the row
        without an await."""
        if raw is None or len(raw) <= FILE_ABOVE:
            return SentBody(raw)
        path = self._sent_body_path(message_id)
        await bodies.keep(raw, under(self.data_dir, bodies.PARTIAL), path)
        return SentBody(None, path)

    def add_sent(
        self,
        message: SentMessage,
        body: SentBody,
        *,
        counted: Count | None = None,
    ) -> asyncio.Future[Any]:
        """Store a sent message durably (fsynced): queued at once, in call order; the future
        is done once it is on disk, and the caller answers the Send* request with its MessageId
        only then, as receiving answers `250` only after the spool. `counted` is counted in the
        same transaction (`count_sending`): the sending statistics that count the message, so
        no kill keeps the one without the other; its check may refuse the count, and the
        message with it. A row that cannot be stored takes its body file with it."""
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

        insert = Write(_insert_sent, params, body.raw)
        write: asyncio.Future[Any] = (
            self._queue_write(insert) if counted is None else self.count_sending(counted, insert)
        )

        def committed(done: asyncio.Future[Any]) -> None:
            if done.cancelled():  # the caller went away; the writer goes on (and posts nothing)
                return
            if done.exception() is None:
                self.changes.post(ChangeKind.SENT, message.id)
            else:
                body.discard()

        write.add_done_callback(committed)
        return write

    def _sent_body_path(self, message_id: str) -> Path:
        return under(self.data_dir, SENT_BODIES, message_id)

    def sent_pending_ids(self) -> list[str]:
        """The messages whose delivery has not finished, oldest first: what a process left
        for the next one (the delivery worker is handed the messages stored after it starts)."""
        found = self._read(
            "SELECT id FROM sent_pending JOIN sent USING (id) ORDER BY sent.created, sent.rowid"
        )
        return [r["id"] for r in found]

    async def add_sent_steps(
        self, message_id: str, steps: list[dict[str, Any]], *, returned: str | None = None
    ) -> None:
        """Append `steps` to the message's trace, committed before returning (not fsynced: a
        killed process loses none of it); with `returned`, that returned mail is marked done."""
        await self._write(Write(_append_steps, message_id, steps, None, returned), durable=False)
        self.changes.post(ChangeKind.SENT, message_id)

    def record_sent_steps(
        self, message_id: str, steps: list[dict[str, Any]], *, finished: SentStatus | None = None
    ) -> None:
        """Queue `steps` for the message's trace without waiting for the commit: the delivery
        worker's journal, which waited for one commit per event (profiled: a fifth of a send's
        CPU on the event loop). Writes commit in submission order, so a record is never
        committed before the effects the worker stored ahead of it; a kill loses at most the
        last batch's records, and the resumed message makes those effects again (at least
        once, as for the step in flight). With `finished`, the message takes that status and
        leaves the pending list in the same transaction. Announced once committed when
        someone listens (store/changes.py)."""
        append = Write(_append_steps, message_id, steps, finished, None)
        if not self.changes.listening:
            self._submit(append)
            return

        def committed(done: asyncio.Future[None]) -> None:
            if done.cancelled():
                return
            if done.exception() is None:
                self.changes.post(ChangeKind.SENT, message_id)
            else:  # as the writer logs a record queued without a future
                log.warning(
                    "a record of sent message %s was not stored: %s", message_id, done.exception()
                )

        self._queue_write(append, durable=False).add_done_callback(committed)

    async def add_sent_return(self, returned: ReturnedMail, raw: bytes) -> None:
        """Keep mail addressed to a sent message's envelope sender, durably (fsynced): the
        caller (a Bounce action, SendBounce) counts it as sent once this returns."""
        params = (returned.id, returned.sent_id, raw, returned.created)
        sql = "INSERT INTO sent_returns (id, sent_id, raw, created) VALUES (?, ?, ?, ?)"
        await self._write(Write(execute, sql, params))

    def sent_returns_due(self, limit: int) -> list[tuple[ReturnedMail, bytes]]:
        """Returned mail whose consequences are not published yet, oldest first."""
        found = self._read(
            "SELECT * FROM sent_returns WHERE done = 0 ORDER BY created, rowid LIMIT ?", (limit,)
        )
        return [returned(r) for r in found]

    def sent(self, limit: int = 1000, offset: int = 0) -> Listing[SentMessage]:
        """Oldest first, as the received messages are listed."""
        found, total = self._page("SELECT * FROM sent", "created, rowid", (), limit, offset)
        return Listing((_sent(r) for r in found), total)

    def sent_counts(self) -> dict[str, int]:
        """For `GET /api/stats`: how many messages the Send* operations stored, and how many of
        them delivery has not finished."""
        found = self._read(
            "SELECT (SELECT COUNT(*) FROM sent) AS sent,"
            " (SELECT COUNT(*) FROM sent_pending) AS pending"
        )
        return {"sent": found[0]["sent"], "sentPending": found[0]["pending"]}

    def sent_created_between(self, first: str, last: str, limit: int) -> list[SentMessage]:
        """Messages accepted from `first` to `last` (wire timestamps, which compare as text),
        oldest first, at most `limit`."""
        found = self._read(
            "SELECT * FROM sent WHERE created >= ? AND created <= ?"
            " ORDER BY created, rowid LIMIT ?",
            (first, last, limit),
        )
        return [_sent(r) for r in found]

    def sent_message(self, message_id: str) -> SentMessage | None:
        found = self._read("SELECT * FROM sent WHERE id = ?", (message_id,))
        return _sent(found[0]) if found else None

    def sent_raw(self, message_id: str) -> bytes | None:
        """The message's bytes, from its blob or its file; None for a rendering failure."""
        found = self._read("SELECT raw FROM sent_raw WHERE id = ?", (message_id,))
        return bytes(found[0]["raw"]) if found else bodies.read(self._sent_body_named(message_id))

    def _sent_body_named(self, message_id: str) -> Path | None:
        return bodies.named(under(self.data_dir, SENT_BODIES), message_id)

    def sent_body_file(self, message_id: str) -> Path | None:
        """The file of a message's bytes kept as one, for a reader that streams it."""
        path = self._sent_body_named(message_id)
        return path if path is not None and path.is_file() else None

    def discard_orphan_sent_bodies(self) -> int:
        """Delete the files of messages whose row never committed (a kill between the file
        and the row: never answered); how many. Before `serve` accepts anything."""
        return bodies.discard_unrecorded(
            under(self.data_dir, SENT_BODIES),
            lambda name: bool(self._read("SELECT 1 FROM sent WHERE id = ?", (name,))),
        )

    async def reset(self) -> None:
        """The tables, and the files of the sent messages with them."""
        await super().reset()
        await asyncio.to_thread(shutil.rmtree, under(self.data_dir, SENT_BODIES), True)


def _insert_sent(c: Connection, params: tuple[Any, ...], raw: bytes | None) -> None:
    """A sent message's rows: the message, its body unless in a file (`raw` None), and its
    place on the pending list."""
    c.execute("INSERT INTO sent VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", params)
    if raw is not None:
        c.execute("INSERT INTO sent_raw (id, raw) VALUES (?, ?)", (params[0], raw))
    c.execute("INSERT INTO sent_pending (id) VALUES (?)", (params[0],))


def _append_steps(
    c: Connection,
    message_id: str,
    steps: list[dict[str, Any]],
    finished: SentStatus | None,
    returned: str | None,
) -> None:
    row = c.execute("SELECT trace FROM sent WHERE id = ?", (message_id,)).fetchone()
    if row is None:  # reset through the API meanwhile
        return
    trace = json.dumps([*json.loads(row[0]), *steps])
    c.execute("UPDATE sent SET trace = ? WHERE id = ?", (trace, message_id))
    if finished is not None:
        c.execute("UPDATE sent SET status = ? WHERE id = ?", (finished, message_id))
        c.execute("DELETE FROM sent_pending WHERE id = ?", (message_id,))
    if returned is not None:
        c.execute("UPDATE sent_returns SET done = 1 WHERE id = ?", (returned,))


def _sent(row: Row) -> SentMessage:
    return rows.record(
        SentMessage,
        row,
        recipients=tuple(json.loads(row["recipients"])),
        tags=json.loads(row["tags"]),
        status=SentStatus(row["status"]),
        trace=json.loads(row["trace"]),
    )


def returned(row: Row) -> tuple[ReturnedMail, bytes]:
    """A `sent_returns` row: the returned mail and its bytes."""
    return (
        ReturnedMail(row["id"], row["sent_id"], row["created"], bool(row["done"])),
        bytes(row["raw"]),
    )
