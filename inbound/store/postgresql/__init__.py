"""`PostgresStore`: the `Store` over a PostgreSQL database (`[store] url`, docs/cluster.md),
shared by engines on several hosts.

Every typed method is `Store`'s own, its SQL translated (dialect.py); this class overrides
only what differs:

- Bodies: every message body, received or sent, is a row (`bytea`), never a file of the data
  dir, which another host cannot read. A large body the SMTP session wrote to a file as it
  arrived is read into its row and the file removed once the row commits.
- Claims (store/claims.py): the work an engine finishes later is claimed with `SELECT ...
  FOR UPDATE SKIP LOCKED`. The engine's id is kept in its data dir (`engine-id`), which one
  server holds at a time (store/claim.py), so a restarted engine takes back its own work at
  once; another waits for the lease. A worker process of `[server] workers` is the engine
  `<engine-id>-<its slot>`, the same across its restarts.
- Documents other engines change: their copies are dropped before the next read, as the
  engine's listener learns of the change (`Documents.catch_up`, docs/cluster.md "Live state").
- Search of the web UI: every term as a substring of a digest (ILIKE), where SQLite has FTS5.
- S3 names: PostgreSQL's text cannot hold the NUL that S3 keys may have: they are kept
  escaped (store/names.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import MessageRecord, StoredObject
from inbound.store.bodies import SpooledBody
from inbound.store.browse import search_terms
from inbound.store.claims import Claims
from inbound.store.engine import LEASE, Later, Write
from inbound.store.errors import StorageError
from inbound.store.names import ESCAPED
from inbound.store.postgresql.engine import PostgresEngine, log
from inbound.store.postgresql.reads import VersionReads
from inbound.store.s3_objects import pipelined_object_writer
from inbound.store.sent import SentBody
from inbound.store.writer import ThreadWriter, Writer

R = TypeVar("R")
# Seconds a batch of writes that nobody waits on durably waits for more (`ThreadWriter._next`).
# benchmarks/pgscale.py's load (busy machine, 2 interleaved pairs): commits per message
# 0.31-0.33 -> 0.22 with one engine and 0.66-0.69 -> 0.45-0.46 with two, the engines' CPU per
# message 1.50-1.52 -> 1.32-1.68 and 2.17-2.23 -> 1.89-1.98 ms, the server's 0.80-0.92 ->
# 0.73-0.75 ms with two.
GATHER = 0.002
SYNC_TIMEOUT = 2.0  # seconds `sync` waits for the announcements before it drops every copy
ENGINE_ID = "engine-id"


class PostgresStore(Claims):
    _names = ESCAPED
    _packs = False  # TOAST compresses them (schema.py, version 5)

    def __init__(
        self, data_dir: Path, url: str, *, lease: float = LEASE, worker: int | None = None
    ) -> None:
        self._pg = PostgresEngine(url, "", lease)
        self.lease = lease
        self._worker = worker
        super().__init__(data_dir, self._pg)
        self.elsewhere = self._pg.elsewhere
        self._versions = VersionReads(self._pg.document_version)

    def open(self, *, read_only: bool = False, process: bool = False) -> None:
        """A writer thread, whatever `process` asks (`_new_writer`)."""
        self._pg.engine_id = f"read-only-{new_uuid()}" if read_only else self._engine_id()
        super().open(read_only=read_only)
        self.shared = not read_only  # a listener runs (engine.py)

    def _new_writer(self, process: bool) -> Writer:
        return ThreadWriter(self._pg, gather=GATHER)

    def _engine_id(self) -> str:
        """This data dir's engine (or worker slot's), the same across restarts."""
        path = under(self.data_dir, ENGINE_ID)
        try:
            engine_id = path.read_text().strip()
        except FileNotFoundError:
            engine_id = new_uuid()
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(engine_id + "\n")
        return engine_id if self._worker is None else f"{engine_id}-{self._worker}"

    # ── documents other engines change ──────────────────────────────────────────────────
    async def synced(self) -> None:
        """Take in every change of a document committed before now, by any engine: the
        version read after now (`VersionReads`), then the announcements up to it (usually
        heard already). An engine that does not hear them in time drops every copy: it reads
        the store again."""
        version = await self._versions.after_now()
        heard = self._pg.hear(version, 0) or await asyncio.to_thread(
            self._pg.hear, version, SYNC_TIMEOUT
        )
        if not heard:
            log.warning("other engines' changes not heard in time: reading every document again")
            self.elsewhere.append(None)
        self.catch_up()

    def document_text(self, kind: str, key: str) -> str | None:
        self.catch_up()
        return super().document_text(kind, key)

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

    def _object_job(
        self,
        write_file: Callable[[], StoredObject],
        remove_file: Callable[[StoredObject], None],
    ) -> Write[Later]:
        return pipelined_object_writer(write_file, remove_file, self._names)

    # ── claims ──────────────────────────────────────────────────────────────────────────
    def _claim(
        self, table: str, key: str, candidates: str, params: tuple[Any, ...], then: str
    ) -> list[Any]:
        """Take the rows of `table` that `candidates` (a SELECT of `key` from `table w`, with
        `CLAIMABLE` among its conditions) finds, skipping rows another transaction holds;
        `then` selects from them (`claimed`) in the order wanted."""
        keys = ", ".join(f"w.{k.strip()}" for k in key.split(","))
        found = ", ".join(f"c.{k.strip()}" for k in key.split(","))
        return self._pg.read(
            f"WITH c AS ({candidates} FOR UPDATE OF w SKIP LOCKED),"
            f" claimed AS (UPDATE {table} w SET claimed_by = current_setting('inbound.engine')"
            f" FROM c WHERE ({keys}) = ({found}) RETURNING w.*) {then}",
            params,
        )

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
