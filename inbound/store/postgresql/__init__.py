"""`PostgresStore`: the `Store` over a PostgreSQL database (`[store] url`, docs/cluster.md),
shared by engines on several hosts.

Every typed method is `Store`'s own, its SQL translated (dialect.py); this class overrides
only what differs:

- Bodies: every message body, received or sent, is a row (`bytea`), never a file of the data
  dir, which another host cannot read. A large body the SMTP session wrote to a file as it
  arrived is read into its row and the file removed once the row commits.
- Claims: the work an engine finishes later (pending messages, due retries and outbox
  entries, sent messages to deliver, relay outcomes and returned mail to publish) is claimed
  with `SELECT ... FOR UPDATE SKIP LOCKED`: a row is taken if nobody holds it, this engine
  already does, or its holder's lease (`engines.alive_until`, renewed by the engine's
  heartbeat) has run out. A row an engine inserts is its own from the start. The engine's id
  is kept in its data dir (`engine-id`), which one server holds at a time (store/claim.py),
  so a restarted engine takes back its own work at once; another waits for the lease.
- Documents other engines change: their copies are dropped before the next read, as the
  engine's listener learns of the change (`Documents.catch_up`, docs/cluster.md "Live state").
- Search of the web UI: every term as a substring of a digest (ILIKE), where SQLite has FTS5.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import (
    MessageRecord,
    MessageStatus,
    OutboxMessage,
    OutboxStatus,
    RelayOutcome,
    RetryEntry,
    RetryStatus,
    ReturnedMail,
)
from inbound.store import outbox, rows, sent
from inbound.store.bodies import SpooledBody
from inbound.store.browse import search_terms
from inbound.store.errors import StorageError
from inbound.store.postgresql.engine import PostgresEngine, log
from inbound.store.sent import SentBody
from inbound.store.store import Store

R = TypeVar("R")
SYNC_TIMEOUT = 2.0  # seconds `sync` waits for the announcements before it drops every copy
LEASE = 30.0  # seconds an engine's claims outlive its last heartbeat
ENGINE_ID = "engine-id"

# A work row this engine may take: nobody's, its own, or a lapsed engine's.
_CLAIMABLE = (
    "(w.claimed_by IS NULL OR w.claimed_by = current_setting('inbound.engine')"
    " OR NOT EXISTS (SELECT 1 FROM engines e WHERE e.id = w.claimed_by"
    " AND e.alive_until > now()))"
)


class PostgresStore(Store):
    def __init__(self, data_dir: Path, url: str, *, lease: float = LEASE) -> None:
        self._pg = PostgresEngine(url, "", lease)
        super().__init__(data_dir, self._pg)
        self.elsewhere = self._pg.elsewhere

    def open(self, *, read_only: bool = False) -> None:
        self._pg.engine_id = f"read-only-{new_uuid()}" if read_only else self._engine_id()
        super().open(read_only=read_only)
        self.shared = not read_only  # a listener runs (engine.py)

    def _engine_id(self) -> str:
        """This data dir's engine, the same across restarts."""
        path = under(self.data_dir, ENGINE_ID)
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            engine_id = new_uuid()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(engine_id + "\n")
            return engine_id

    # ── documents other engines change ──────────────────────────────────────────────────
    def sync(self) -> None:
        """Take in every change of a document committed before now, by any engine: the
        version read now, then the announcements up to it (usually heard already). An engine
        that does not hear them in time drops every copy: it reads the store again."""
        if not self._pg.hear(self._pg.document_version(), SYNC_TIMEOUT):
            log.warning("other engines' changes not heard in time: reading every document again")
            self.elsewhere.append(None)
        self.catch_up()

    def document(self, kind: str, key: str) -> Any | None:
        self.catch_up()
        return super().document(kind, key)

    def documents(self, kind: str) -> dict[str, Any]:
        self.catch_up()
        return super().documents(kind)

    def records(self, kind: str, decode: Callable[[str, Any], R]) -> Mapping[str, R]:
        self.catch_up()
        return super().records(kind, decode)

    # ── bodies ──────────────────────────────────────────────────────────────────────────
    async def spool(self, record: MessageRecord, raw: bytes | SpooledBody) -> None:
        if not isinstance(raw, SpooledBody):
            return await super().spool(record, raw)
        try:
            data = await asyncio.to_thread(raw.path.read_bytes)
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        try:
            await super().spool(record, data)
        finally:
            raw.path.unlink(missing_ok=True)

    async def sent_body(self, message_id: str, raw: bytes | None) -> SentBody:
        return SentBody(raw)

    # ── claims ──────────────────────────────────────────────────────────────────────────
    def _claim(
        self, table: str, key: str, candidates: str, params: tuple[Any, ...], then: str
    ) -> list[Any]:
        """Take the rows of `table` that `candidates` (a SELECT of `key` from `table w`, with
        `_CLAIMABLE` among its conditions) finds, skipping rows another transaction holds;
        `then` selects from them (`claimed`) in the order wanted."""
        keys = ", ".join(f"w.{k.strip()}" for k in key.split(","))
        found = ", ".join(f"c.{k.strip()}" for k in key.split(","))
        return self._pg.native(
            f"WITH c AS ({candidates} FOR UPDATE OF w SKIP LOCKED),"
            f" claimed AS (UPDATE {table} w SET claimed_by = current_setting('inbound.engine')"
            f" FROM c WHERE ({keys}) = ({found}) RETURNING w.*) {then}",
            params,
        )

    def claim_unfinished(self) -> list[MessageRecord]:
        found = self._claim(
            "messages",
            "id",
            f"SELECT w.id FROM messages w WHERE w.status = %s AND {_CLAIMABLE}",
            (MessageStatus.PENDING,),
            "SELECT * FROM claimed ORDER BY received_at, rowid",
        )
        return [rows.message(r) for r in found]

    def retries_due(self, now: str, limit: int) -> list[RetryEntry]:
        found = self._claim(
            "retries",
            "message_id, rule_position, action_index",
            "SELECT w.message_id, w.rule_position, w.action_index FROM retries w"
            " JOIN messages m ON m.id = w.message_id WHERE m.status = %s"
            " AND ((w.status = %s AND w.next_attempt <= %s) OR (w.status = %s AND w.dsn IS NULL))"
            f" AND {_CLAIMABLE}"
            " ORDER BY w.next_attempt, w.message_id, w.rule_position, w.action_index LIMIT %s",
            (MessageStatus.DONE, RetryStatus.PENDING, now, RetryStatus.EXPIRED, limit),
            "SELECT * FROM claimed ORDER BY next_attempt, message_id, rule_position, action_index",
        )
        return [rows.retry_entry(r) for r in found]

    def outbox_due(self, now: str, limit: int) -> list[OutboxMessage]:
        found = self._claim(
            "outbox",
            "id",
            "SELECT w.id FROM outbox w WHERE (w.status IN (%s, %s)"
            f" OR (w.status = %s AND w.next_attempt <= %s)) AND {_CLAIMABLE}"
            " ORDER BY w.created, w.rowid LIMIT %s",
            (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.DEFERRED, now, limit),
            f"SELECT {outbox.COLUMNS} FROM claimed ORDER BY created, rowid",
        )
        return [outbox.outbox_message(r) for r in found]

    def sent_pending_ids(self) -> list[str]:
        found = self._claim(
            "sent_pending",
            "id",
            f"SELECT w.id FROM sent_pending w WHERE {_CLAIMABLE}",
            (),
            "SELECT s.id FROM claimed JOIN sent s ON s.id = claimed.id ORDER BY s.created, s.rowid",
        )
        return [r["id"] for r in found]

    def relay_outcomes_due(self, limit: int) -> list[RelayOutcome]:
        found = self._claim(
            "relay_outcomes",
            "outbox_id, attempt",
            f"SELECT w.outbox_id, w.attempt FROM relay_outcomes w WHERE {_CLAIMABLE}"
            " ORDER BY w.rowid LIMIT %s",
            (limit,),
            "SELECT * FROM claimed ORDER BY rowid",
        )
        return [outbox.relay_outcome(r) for r in found]

    def sent_returns_due(self, limit: int) -> list[tuple[ReturnedMail, bytes]]:
        found = self._claim(
            "sent_returns",
            "id",
            f"SELECT w.id FROM sent_returns w WHERE w.done = 0 AND {_CLAIMABLE}"
            " ORDER BY w.created, w.rowid LIMIT %s",
            (limit,),
            "SELECT * FROM claimed ORDER BY created, rowid",
        )
        return [sent.returned(r) for r in found]

    # ── search ──────────────────────────────────────────────────────────────────────────
    @staticmethod
    def _searching(direction: Any, text: str, where: list[str], params: list[Any]) -> bool:
        if not text.strip():
            return True
        terms = search_terms(text)
        if not terms:
            return False
        where.append(
            "m.id IN (SELECT d.message_id FROM digest_text t JOIN digests d"
            " ON d.rowid = t.rowid WHERE d.kind = ?"
            + " AND (t.sender || ' ' || t.recipients || ' ' || t.subject || ' ' || t.body)"
            " ILIKE ?" * len(terms) + ")"
        )
        params += [direction, *(f"%{_escaped(t)}%" for t in terms)]
        return True


def _escaped(term: str) -> str:
    """`term` as a literal in an ILIKE pattern."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
