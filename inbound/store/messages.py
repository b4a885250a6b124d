"""Received messages: their receipt-state snapshots, the spool, and each message's trace.

A message's body is in the spool table, or, when the SMTP session wrote it to disk as it
arrived (a large one), in the file `spool/<message id>` (store/bodies.py)."""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from inbound.datadir import under
from inbound.records import Listing, MessageRecord, MessageStatus, RetryEntry, TraceRow
from inbound.store import bodies, rows
from inbound.store.bodies import BodyWriter, SpooledBody
from inbound.store.changes import ChangeKind
from inbound.store.documents import Documents
from inbound.store.engine import execute_each, execute_together
from inbound.store.packing import Large, execute_packed, unpacked_bytes
from inbound.store.writer import Row, StorageError, Write
from inbound.timestamps import now_iso

_SPOOL = "INSERT INTO spool (id, raw, codec) VALUES (?, ?, ?)"  # raw: a `Large`
_MESSAGE = (
    "INSERT INTO messages (id, received_at, mail_from, recipients, client_ip, helo, tls,"
    " state_id, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_RAW = "SELECT raw, codec FROM spool WHERE id = ?"


def _body(row: Row) -> bytes:
    return unpacked_bytes(row["raw"], row["codec"])


def _message_values(record: MessageRecord) -> tuple[Any, ...]:
    """`_MESSAGE`'s parameters."""
    return (
        record.id,
        record.received_at,
        record.mail_from,
        rows.json_text(record.recipients),
        record.client_ip,
        record.helo,
        int(record.tls),
        record.state_id,
        record.size,
    )


class Messages(Documents):
    async def save_state(
        self,
        state_id: str,
        body: str,
        parts: Mapping[str, str] | None = None,
        with_documents: Sequence[tuple[str, str, Any]] = (),
    ) -> None:
        """A receipt state's text, with the texts it names by digest (its rules) that may not
        be stored yet, and `with_documents` (kind, key, body; None deletes it: the document
        naming the state, an identity whose verification it holds), in one transaction: an
        API edit is one commit. Texts are content-addressed, so each is kept once."""
        texts = [*(parts or {}).items(), (state_id, body)]
        write = Write(execute_each, "INSERT OR IGNORE INTO states (id, body) VALUES (?, ?)", texts)
        await self._with_documents(write, with_documents)

    def load_state(self, state_id: str) -> str:
        body: str = self._read("SELECT body FROM states WHERE id = ?", (state_id,))[0]["body"]
        return body

    def body_writer(self) -> BodyWriter:
        """Where an SMTP session writes a large message as it arrives, for `spool()`."""
        return BodyWriter(under(self.data_dir, bodies.PARTIAL))

    def _body_path(self, message_id: str) -> Path:
        return under(self.data_dir, bodies.SPOOL, message_id)

    async def spool(self, record: MessageRecord, raw: bytes | SpooledBody) -> None:
        """Keep the message and its body durably (fsynced) before returning: the caller
        answers `250` then. A `SpooledBody` becomes the message's file first."""
        if not isinstance(raw, SpooledBody):
            await self.queue_spool(record, raw)
            return
        path = self._body_path(record.id)
        try:
            await asyncio.to_thread(bodies.adopt, raw, path)
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        with bodies.kept_only_if_recorded(path):
            await self._write(Write(execute_together, [(_MESSAGE, _message_values(record))]))
        self.changes.post(ChangeKind.RECEIVED, record.id)

    def queue_spool(self, record: MessageRecord, raw: bytes) -> asyncio.Future[None]:
        """`spool()` of a body held in memory, queued now: the future is done once the
        message is durable. Awaited by the one who answers `250`, the commit wakes that
        answer itself, not a task that would wake it a turn of the event loop later
        (docs/cpu.md, "Third round")."""
        body = Large(raw, self._packs)
        statements = [(_SPOOL, (record.id, body)), (_MESSAGE, _message_values(record))]
        written = self._queue_write(Write(execute_packed, statements))
        written.add_done_callback(functools.partial(self._announce_received, record.id))
        return written

    def _announce_received(self, message_id: str, written: asyncio.Future[None]) -> None:
        if not written.cancelled() and written.exception() is None:
            self.changes.post(ChangeKind.RECEIVED, message_id)

    def raw(self, message_id: str) -> bytes | None:
        found = self._read(_RAW, (message_id,))
        return _body(found[0]) if found else bodies.read(self._body_named(message_id))

    def _body_named(self, message_id: str) -> Path | None:
        return bodies.named(under(self.data_dir, bodies.SPOOL), message_id)

    def body_file(self, message_id: str) -> Path | None:
        """The file of a body kept as one, for a reader that streams it; None otherwise."""
        path = self._body_named(message_id)
        return path if path is not None and path.is_file() else None

    async def read_raw(self, message_id: str) -> bytes | None:
        """`raw()`, reading a body file in a thread: the event loop does not wait on the disk."""
        found = self._read(_RAW, (message_id,))
        if found:
            return _body(found[0])
        return await asyncio.to_thread(bodies.read, self._body_named(message_id))

    def discard_orphan_bodies(self) -> int:
        """Delete the body files a killed server left without a committed message: partial
        ones and those whose row never committed; how many. Only `serve` calls it, before it
        listens: one server per data dir, so no write of them can be in progress."""
        count = bodies.discard_partial(under(self.data_dir, bodies.PARTIAL))
        return count + bodies.discard_unrecorded(
            under(self.data_dir, bodies.SPOOL),
            lambda name: bool(self._read("SELECT 1 FROM messages WHERE id = ?", (name,))),
        )

    async def reset(self) -> None:
        """Every table `Database.reset` empties, and the body files with the spool table."""
        await super().reset()
        await asyncio.to_thread(shutil.rmtree, under(self.data_dir, bodies.SPOOL), True)
        self.changes.post(ChangeKind.RESET)

    def message(self, message_id: str) -> MessageRecord | None:
        found = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return rows.message(found[0]) if found else None

    def messages(
        self, *, status: MessageStatus | None = None, limit: int = 1000, offset: int = 0
    ) -> Listing[MessageRecord]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        found, total = self._page(
            f"SELECT * FROM messages {where}", "received_at, rowid", params, limit, offset
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
        if finished:
            done = (MessageStatus.DONE, now_iso(), message_id)
            statements.append(
                ("UPDATE messages SET status = ?, finished_at = ? WHERE id = ?", done)
            )
        write = Write(rows.trace_and_retries, statements, entries)
        await self._write(write, durable=False)
        self.changes.post(ChangeKind.RECEIVED, message_id)

    def trace(self, message_id: str) -> list[TraceRow]:
        found = self._read("SELECT * FROM trace WHERE message_id = ? ORDER BY seq", (message_id,))
        return [rows.trace_row(r) for r in found]
