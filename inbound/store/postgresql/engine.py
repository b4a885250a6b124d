"""The PostgreSQL engine: psycopg 3 connections to the database of `[store] url`.

Like SQLite's, one writer connection in the store's writer thread commits each batch of
queued writes in one transaction (group commit), and reads run on the event loop's thread,
each its own statement (autocommit). The connections are psycopg's synchronous ones: the
`Store` interface reads synchronously (its callers are not coroutines), as SQLite's reads
always have; a read is a round trip to the server (tens of microseconds over a local socket).

Durability: a batch that someone waits on (`250`, an API change) commits with
`synchronous_commit` on, so the `250` follows the server's WAL flush; other records commit
with it off (a server crash may lose the latest of them, never the order), as SQLite's NORMAL.

Each engine identifies itself on its connections (`inbound.engine`, the default owner of the
work it inserts) and keeps a lease on that work in `engines` (`alive_until`), renewed by a
heartbeat thread; see `PostgresStore` for the claims.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
from collections import deque
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import RowFactory, dict_row, tuple_row

from inbound.store.engine import Job, Row, Statement
from inbound.store.errors import StorageError
from inbound.store.names import escape
from inbound.store.postgresql.counting import CountReads
from inbound.store.postgresql.dialect import Dialect, Table
from inbound.store.postgresql.schema import CHANNEL, LOCK, MIGRATIONS, VERSION_TABLE
from inbound.store.postgresql.unread import Unread

log = logging.getLogger("inbound.store")


class SchemaTooNew(StorageError):
    """The database was migrated by a newer release than this one."""


class Translating:
    """The writer's connection as a write's function uses it (store/engine.py `Connection`):
    each statement translated from the query modules' SQL (dialect.py), sent in the
    transaction's pipeline without waiting for its result (`Result`)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        dialect: Dialect,
        pipeline: psycopg.Pipeline,
        unread: Unread,
    ) -> None:
        self._conn = conn
        self._dialect = dialect
        self._pipeline = pipeline
        self._unread = unread  # the statements whose results nobody reads

    def execute(self, sql: str, parameters: Any = (), /) -> Result:
        return Result(self._conn.execute(self._dialect(sql), parameters), self._pipeline)

    def execute_together(self, statements: Sequence[Statement]) -> None:
        """`store.engine.execute_together`: one statement (`Dialect.together`), its result
        unread (a failure still fails the transaction: unread.py)."""
        sql = self._dialect.together(tuple(sql for sql, _ in statements))
        parameters = [value for _, values in statements for value in values]
        self._unread.send(self._pipeline, sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Result:
        cursor = self._conn.cursor()
        cursor.executemany(self._dialect(sql), parameters)
        return Result(cursor, self._pipeline)


class Result:
    """A statement's cursor in a pipeline: its result is waited for only when a write reads
    it. psycopg's fetch methods wait by themselves; `rowcount` would read -1 before the
    result has come, so it waits for the results sent so far (`Pipeline.sync`: inside the
    transaction's BEGIN, a sync commits nothing). After the transaction (a `Later`'s
    `settle`), every result is in."""

    __slots__ = ("_cursor", "_pipeline")

    def __init__(self, cursor: psycopg.Cursor[Any], pipeline: psycopg.Pipeline) -> None:
        self._cursor = cursor
        self._pipeline = pipeline

    @property
    def rowcount(self) -> int:
        self._results()
        return self._cursor.rowcount

    @property
    def description(self) -> Any:
        self._results()
        return self._cursor.description

    def _results(self) -> None:
        if self._pipeline.status != psycopg.pq.PipelineStatus.OFF:
            self._pipeline.sync()

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class PostgresEngine:
    def __init__(self, url: str, engine_id: str, lease: float) -> None:
        self._url = url
        self.engine_id = engine_id
        self.lease = lease  # seconds a heartbeat keeps this engine's claims
        self._writer: psycopg.Connection[Any] | None = None
        self._unread: Unread | None = None  # the writer's (unread.py)
        self._reader: psycopg.Connection[Any] | None = None
        self._counting: CountReads | None = None  # `document_version`'s
        self._read_only = False
        self._dialect = Dialect({})
        self._heartbeat: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        # where the documents other engines change are told (`Documents.elsewhere`), and the
        # last `document_version` announced
        self.elsewhere: deque[tuple[str, str] | None] = deque()
        self._announced = 0
        self._heard = threading.Condition()

    # ── connections ─────────────────────────────────────────────────────────────────────
    def _connect(
        self, *, read_only: bool = False, rows: RowFactory[Any] = dict_row
    ) -> psycopg.Connection[Any]:
        """Rows by name for reads; the writer's are tuples, as SQLite's writer returns them."""
        try:
            conn = psycopg.connect(self._url, autocommit=True, row_factory=rows)
            conn.execute(
                "SELECT set_config('inbound.engine', %s, false),"
                " set_config('inbound.lease', %s, false),"
                " set_config('default_transaction_read_only', %s, false)",
                (self.engine_id, f"{self.lease} seconds", "on" if read_only else "off"),
            )
        except psycopg.Error as exc:
            raise StorageError(f"PostgreSQL: {exc}".strip()) from exc
        return conn

    def _connect_writer(self) -> psycopg.Connection[Any]:
        """The writer's connection. Values too large for a row's page (bodies, notifications
        with their content) are compressed with lz4 rather than PostgreSQL's default pglz
        where the server has it (14 and later, built with lz4): measured with 10 KB messages
        (benchmarks/pgscale.py), pglz was two thirds of the server's CPU per message
        (0.85 -> 0.57 ms with lz4)."""
        conn = self._connect(rows=tuple_row)
        unknown = (psycopg.errors.InvalidParameterValue, psycopg.errors.UndefinedObject)
        with contextlib.suppress(*unknown):  # before 14 or without lz4: its default, pglz
            conn.execute("SET default_toast_compression = lz4")
        return conn

    def exists(self) -> bool:
        conn = self._connect(read_only=True)
        try:
            found = conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()
            return found is not None and found["t"] is not None
        finally:
            conn.close()

    def open(self, *, read_only: bool) -> None:
        self._read_only = read_only
        if not read_only:
            writer = self._connect_writer()
            try:
                _migrate(writer)
                writer.execute(
                    "INSERT INTO engines (id, host, started, alive_until)"
                    " VALUES (%s, %s, now(), now() + %s::interval) ON CONFLICT (id) DO UPDATE"
                    " SET host = EXCLUDED.host, started = now(),"
                    " alive_until = EXCLUDED.alive_until",
                    (self.engine_id, socket.gethostname(), f"{self.lease} seconds"),
                )
            except psycopg.Error as exc:
                writer.close()
                raise StorageError(f"PostgreSQL: {exc}") from exc
            self._writer = writer
            self._stopping.clear()
            self._heartbeat = threading.Thread(
                target=self._beat, name="inbound-store-lease", daemon=True
            )
            self._heartbeat.start()
            self._listener = threading.Thread(
                target=self._listen, name="inbound-store-changes", daemon=True
            )
            self._listener.start()
        self._reader = self._connect(read_only=read_only)
        self._dialect = Dialect(_tables(self._reader))

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        self._stopping.set()
        for thread in (self._heartbeat, self._listener):
            if thread is not None:
                thread.join()
        self._heartbeat = self._listener = None
        if self._reader is not None:
            self._reader.close()
        self._reader = None
        self._close_counting()

    def _close_counting(self) -> None:
        if self._counting is not None:
            self._counting.close()
            self._counting = None

    # ── reads and claims ────────────────────────────────────────────────────────────────
    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        return self.native(self._dialect(sql), params)

    def native(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """A statement in PostgreSQL's own SQL (claims: `PostgresStore`), committed alone.

        A value with a NUL (an id, a filter or a search term a request gave) is compared as
        the store keeps text with a NUL (escaped, store/names.py), which PostgreSQL's text
        cannot hold: it finds what SQLite would, nothing but text stored with that NUL."""
        if any(isinstance(p, str) and "\0" in p for p in params):
            params = [escape(p) if isinstance(p, str) else p for p in params]
        reader = self._reader
        assert reader is not None, "store is not open"
        if reader.broken:
            reader = self._reader = self._connect(read_only=self._read_only)
        try:
            cursor = reader.execute(sql, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.OperationalError as exc:
            raise StorageError(f"PostgreSQL: {exc}") from exc

    # ── writes ──────────────────────────────────────────────────────────────────────────
    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        conn = self._writer
        assert conn is not None, "store is not open for writing"
        if conn.broken:  # the server restarted or the network dropped: a new connection
            conn = self._writer = self._connect_writer()
        unread = self._unread
        if unread is None or unread.conn is not conn:
            unread = self._unread = Unread(conn)
        unread.check()
        try:
            # One round trip for the whole transaction, not one per statement: the writer's
            # statements are sent as they come and their results read at the end (or when a
            # write reads one: `Result`). Measured with 10 KB messages (benchmarks/pgscale.py):
            # ~9 statements a message, each waiting for the server, kept the writer thread
            # waiting for 85% of its time and bounded one engine's throughput.
            with conn.pipeline() as pipeline:
                unread.send(pipeline, "BEGIN")
                if not durable:
                    unread.send(pipeline, "SET LOCAL synchronous_commit = off")
                translating = Translating(conn, self._dialect, pipeline, unread)
                results = [job(translating) for job in jobs]
                unread.send(pipeline, "COMMIT")
        except BaseException:
            unread.failed()
            if not conn.broken:
                conn.execute("ROLLBACK")
            raise
        unread.committed()
        return results

    def storage_error(self, exc: Exception) -> Exception:
        """A lost connection or a server that refuses writes (disk full, read-only)."""
        if isinstance(exc, psycopg.OperationalError | psycopg.errors.DiskFull):
            error = StorageError(f"PostgreSQL: {exc}")
            error.__cause__ = exc
            return error
        return exc

    # ── the lease ───────────────────────────────────────────────────────────────────────
    def _beat(self) -> None:
        """Renew this engine's lease every third of it, on a connection of its own; at the
        end, give it up, so another engine may take over what is left at once."""
        conn: psycopg.Connection[Any] | None = None
        renew = "UPDATE engines SET alive_until = now() + %s::interval WHERE id = %s"
        while not self._stopping.wait(self.lease / 3):
            try:
                if conn is None or conn.broken:
                    conn = self._connect()
                conn.execute(renew, (f"{self.lease} seconds", self.engine_id))
            except (psycopg.Error, StorageError) as exc:
                log.warning("could not renew this engine's lease: %s", exc)
        try:
            conn = conn if conn is not None and not conn.broken else self._connect()
            conn.execute(renew, ("0 seconds", self.engine_id))
            conn.close()
        except (psycopg.Error, StorageError) as exc:
            log.warning("could not give up this engine's lease: %s", exc)

    # ── what other engines change ───────────────────────────────────────────────────────
    def _listen(self) -> None:
        """Tell `elsewhere` of the documents other engines change, as their commits are
        announced (schema version 2), on a connection of its own. After a lost connection,
        what was announced meanwhile is unknown: every copy is dropped (None)."""
        conn: psycopg.Connection[Any] | None = None
        while not self._stopping.is_set():
            try:
                if conn is None or conn.broken:
                    conn = self._connect()
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.elsewhere.append(None)
                    self._announce(_document_version(conn))
                for note in conn.notifies(timeout=0.5):
                    engine, kind, key, version = json.loads(note.payload)
                    if engine != self.engine_id:
                        self.elsewhere.append((kind, key))
                    self._announce(version)
            except (psycopg.Error, StorageError) as exc:
                log.warning("not told of other engines' changes: %s", exc)
                self._stopping.wait(1.0)
        if conn is not None:
            conn.close()

    def _announce(self, version: int) -> None:
        with self._heard:
            self._announced = max(self._announced, version)
            self._heard.notify_all()

    async def document_version(self) -> int:
        """How many changes of documents have committed (`VersionReads`): read on the event
        loop without blocking it, on a connection of its own (counting.py). Each RCPT waits for
        one such read (shared, reads.py): in a thread, each read also waited for the thread
        pool and for the GIL, 2.6 ms per RCPT with one engine and 4-4.8 ms with two
        (benchmarks/pgscale.py, busy machine), a fifth of each message's time on the SMTP
        connection."""
        loop = asyncio.get_running_loop()
        if self._counting is None or self._counting.closed or self._counting.loop is not loop:
            self._close_counting()
            self._counting = await CountReads.connect(self._url, _DOCUMENT_VERSION)
        return await self._counting.read()

    def hear(self, version: int, timeout: float) -> bool:
        """Wait until the changes up to `version` are announced; False after `timeout`."""
        with self._heard:
            return self._heard.wait_for(lambda: self._announced >= version, timeout)


_DOCUMENT_VERSION = "SELECT n FROM document_version AS version"


def _document_version(conn: psycopg.Connection[Any]) -> int:
    """How many changes of documents have committed (schema version 2)."""
    found = conn.execute(_DOCUMENT_VERSION).fetchone()
    assert found is not None
    return int(found["n"])


def _migrate(conn: psycopg.Connection[Any]) -> None:
    """Bring the schema to the newest version, once among engines that start together."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK,))
        conn.execute(VERSION_TABLE)
        found = conn.execute("SELECT version FROM schema_version").fetchone()
        version = 0 if found is None else found[0]
        if version > len(MIGRATIONS):
            raise SchemaTooNew(
                f"the database's schema is version {version}, newer than this release's"
                f" {len(MIGRATIONS)}: upgrade inbound"
            )
        for migration in MIGRATIONS[version:]:
            conn.execute(migration)
        if found is None:
            conn.execute("INSERT INTO schema_version VALUES (%s)", (len(MIGRATIONS),))
        else:
            conn.execute("UPDATE schema_version SET version = %s", (len(MIGRATIONS),))


def _tables(conn: psycopg.Connection[Any]) -> dict[str, Table]:
    """Each table's primary key and columns, for `INSERT OR REPLACE` (dialect.py)."""
    columns: dict[str, list[str]] = {}
    for row in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(row["table_name"], []).append(row["column_name"])
    keys: dict[str, list[str]] = {}
    for row in conn.execute(
        "SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc"
        " JOIN information_schema.key_column_usage k"
        " USING (constraint_catalog, constraint_schema, constraint_name)"
        " WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()"
        " ORDER BY tc.table_name, k.ordinal_position"
    ):
        keys.setdefault(row["table_name"], []).append(row["column_name"])
    return {name: Table(tuple(keys.get(name, ())), tuple(c)) for name, c in columns.items()}
