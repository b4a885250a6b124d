"""The embedded engine: `inbound.sqlite3` under the data dir (the default store).

Durability: the spool *is* the `spool` table (WAL, synchronous=FULL), so a message is on disk
once its transaction commits. Reads use a second connection on the event-loop thread; WAL lets
them run beside the writer.

Shared by the worker processes of one server (`[server] workers`, docs/workers.md), the
engine has an id (`engine_id`): each process's writer marks the work rows it inserts as its
own (`claimed_by`) and logs the documents it changes (`document_changes`), with triggers of
its connection (TEMP: a connection without them, a single process's, writes as before); a
heartbeat thread renews its lease in `engines`; its reader knows `current_setting()` and
`now()`, which the claims' conditions ask (store/claims.py), and claims rows in one write
transaction. The writers and the claims take turns on a lock file (`writers.lock`) before
SQLite's own lock: a writer waiting on SQLite's sleeps in steps of up to 100 ms (its busy
handler), one waiting on `flock` wakes when the other's commit ends. A worker's durable commit
syncs the WAL once the lock is given up, not inside it (`_synced`): the other worker commits
meanwhile, and one fdatasync of the WAL covers both commits.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from inbound.datadir import under
from inbound.store.engine import Job, Row
from inbound.store.errors import StorageError
from inbound.store.schema import CLAIMED_TABLES, SCHEMA, migrate

log = logging.getLogger("inbound.store")


class SqliteEngine:
    def __init__(
        self,
        data_dir: Path,
        engine_id: str = "",
        lease: float = 0.0,
        *,
        sync: Callable[[int], None] = os.fdatasync,
    ) -> None:
        self._path = under(data_dir, "inbound.sqlite3")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._synchronous = "FULL"  # the writer connection's current setting (_connect)
        self.engine_id = engine_id  # shared with other processes when set
        self._lease = lease
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()
        self._turns = under(data_dir, "writers.lock") if engine_id else None
        # its descriptors while open, the writer's and the claims' (the reader's): a flock
        # belongs to an open file, so each connection that writes opens it on its own
        self._turn: int | None = None
        self._claim_turn: int | None = None
        self._wal: int | None = None  # the WAL, which a worker's writer syncs itself
        self._sync: Callable[[int], None] = sync

    def exists(self) -> bool:
        return self._path.exists()

    def open(self, *, read_only: bool) -> None:
        """`read_only` is for commands that only look (`inbound s3 get`): it creates nothing,
        no database or table, and refuses writes; a data dir without a database reads as an
        empty one."""
        if read_only:
            self._reader = self._connect_read_only()
            return
        try:
            writer = self._connect()
            writer.executescript(SCHEMA)
            migrate(writer)
            if self.engine_id:
                writer.executescript(_own_triggers(self.engine_id))
                self._renew(writer, self._lease)
            else:  # the only process on the file (store/claim.py): the workers' past is past
                writer.execute("DELETE FROM document_changes")
                writer.execute("DELETE FROM engines")
        except (OSError, sqlite3.OperationalError) as exc:
            raise StorageError(str(exc)) from exc
        self._writer = writer
        self._reader = self._connect()
        if self._turns is not None:
            self._turn = os.open(self._turns, os.O_RDWR | os.O_CREAT, 0o644)
            self._claim_turn = os.open(self._turns, os.O_RDWR)
            self._wal = os.open(self.wal, os.O_RDONLY)  # the connections keep the file
        if self.engine_id:
            self._stopping.clear()
            self._heartbeat = threading.Thread(
                target=self._beat, name="inbound-store-lease", daemon=True
            )
            self._heartbeat.start()

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for fd in (self._turn, self._wal):
            if fd is not None:
                os.close(fd)
        self._turn = self._wal = None

    def close(self) -> None:
        self._stopping.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._claim_turn is not None:
            os.close(self._claim_turn)
            self._claim_turn = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    @property
    def wal(self) -> Path:
        """The database's write-ahead log."""
        return self._path.with_name(self._path.name + "-wal")

    def checkpoint_apart(self, limit: int) -> sqlite3.Connection:
        """The writer's commits no longer checkpoint the WAL (the writer child's checkpoints
        do: store/checkpoints.py), a WAL that grew past `limit` bytes is cut back to it when
        it starts over; a connection of its own for the checkpoints."""
        assert self._writer is not None, "store is not open for writing"
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._writer.execute(f"PRAGMA journal_size_limit={int(limit)}")
        return self._connect()

    def checkpoint(self, conn: sqlite3.Connection | None = None) -> None:
        """Copy what the WAL holds into the database file as far as no reader needs it
        (PASSIVE: it waits for nobody), on `conn` or the writer's connection."""
        conn = conn or self._writer
        assert conn is not None, "store is not open for writing"
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        if self.engine_id:  # what the claims ask (store/claims.py), as PostgreSQL answers it
            conn.create_function("current_setting", 1, lambda name: self.engine_id)
            conn.create_function("now", 0, time.time)
        return conn

    # ── sharing with the other workers ──────────────────────────────────────────────────
    def _renew(self, conn: sqlite3.Connection, lease: float) -> None:
        conn.execute(
            "INSERT INTO engines (id, host, started, alive_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET alive_until = excluded.alive_until",
            (self.engine_id, f"pid {os.getpid()}", time.time(), time.time() + lease),
        )

    def _beat(self) -> None:
        """Renew this engine's lease every third of it, on a connection of its own; at the
        end, give it up, so that another worker may take over what is left at once."""
        conn = self._connect()
        try:
            while not self._stopping.wait(self._lease / 3):
                try:
                    self._renew(conn, self._lease)
                except sqlite3.Error as exc:
                    log.warning("could not renew this worker's lease: %s", exc)
            self._renew(conn, 0.0)
        except sqlite3.Error as exc:
            log.warning("could not give up this worker's lease: %s", exc)
        finally:
            conn.close()

    def claim(
        self, table: str, key: str, candidates: str, params: tuple[Any, ...], then: str
    ) -> list[Row]:
        """`Claims._claim` (store/claims.py): the rows marked this engine's and read back in
        one write transaction of the reader's connection (SQLite runs one writer at a time,
        so two workers claiming at once take disjoint rows)."""
        conn = self._reader
        assert conn is not None, "store is not open"
        with _turn(conn, self._claim_turn):
            conn.execute(
                f"UPDATE {table} SET claimed_by = ? WHERE ({key}) IN ({candidates})",
                (self.engine_id, *params),
            )
            cursor = conn.execute(
                f"WITH claimed AS (SELECT rowid AS rowid, * FROM {table}"
                f" WHERE ({key}) IN ({candidates})) {then}",
                params,
            )
            cursor.row_factory = sqlite3.Row
            found: list[Row] = cursor.fetchall()
        return found

    def data_version(self) -> int:
        """Changes when another connection commits (SQLite's `PRAGMA data_version`)."""
        assert self._reader is not None, "store is not open"
        version: int = self._reader.execute("PRAGMA data_version").fetchone()[0]
        return version

    def _connect_read_only(self) -> sqlite3.Connection:
        if self.exists():
            # mode=rw (never creates the file) with query_only, not mode=ro: a read-only
            # connection leaves the WAL's -wal and -shm files behind when it closes.
            uri = f"{self._path.absolute().as_uri()}?mode=rw"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
        else:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            conn.executescript(SCHEMA)
        conn.execute("PRAGMA query_only=ON")
        return conn

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        assert self._reader is not None, "store is not open"
        cursor = self._reader.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        """Fsynced only when `durable` (synchronous=FULL, or a worker's `_synced`); other
        records commit without one (NORMAL): a killed process loses none of them, an OS crash
        only the latest. The WAL is one append-only file, so a later fsync also makes every
        earlier commit durable, in order."""
        conn = self._writer
        assert conn is not None, "store is not open for writing"
        synchronous = "FULL" if durable and self._wal is None else "NORMAL"
        if synchronous != self._synchronous:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        with _turn(conn, self._turn):
            results = [job(conn) for job in jobs]
        if durable and self._wal is not None:
            self._synced(self._wal)
        return results

    def _synced(self, wal: int) -> None:
        """A worker's durable commit on disk, synced after its turn on `writers.lock`: the
        frames of a commit are in the WAL file when its COMMIT returns, so a sync that begins
        after it covers it, and every commit of the other workers before it (what SQLite's
        FULL does inside the commit, docs/reliability.md). The WAL starts over from its
        beginning only after a checkpoint has copied all of it into the database and synced
        that. If the sync fails, the process ends with the commit unanswered: the supervisor
        starts the worker again, its SMTP clients got no `250` (docs/workers.md)."""
        try:
            self._sync(wal)
        except OSError as exc:
            log.critical("the WAL could not be synced: %s", exc)
            os._exit(1)

    def storage_error(self, exc: Exception) -> Exception:
        """SQLite's "database or disk is full", "disk I/O error", "attempt to write a readonly
        database" and the like."""
        if isinstance(exc, sqlite3.OperationalError):
            error = StorageError(str(exc))
            error.__cause__ = exc
            return error
        return exc


@contextlib.contextmanager
def _turn(conn: sqlite3.Connection, lock: int | None) -> Iterator[None]:
    """One write transaction of `conn`: committed, or rolled back and raised; with `lock`
    (the workers' `writers.lock`) held around it."""
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if lock is not None:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _own_triggers(engine_id: str) -> str:
    """The writer's TEMP triggers: the work rows it inserts are its engine's, and each
    change of a document is logged with its engine (store/shared.py reads the log)."""
    engine = "'" + engine_id.replace("'", "''") + "'"
    claims = "".join(
        f"CREATE TEMP TRIGGER IF NOT EXISTS claim_{table} AFTER INSERT ON main.{table}"
        f" WHEN NEW.claimed_by IS NULL BEGIN UPDATE {table} SET claimed_by = {engine}"
        " WHERE rowid = NEW.rowid; END;"
        for table in CLAIMED_TABLES
    )
    logged = "".join(
        f"CREATE TEMP TRIGGER IF NOT EXISTS document_{event.lower()} AFTER {event}"
        " ON main.documents BEGIN INSERT INTO document_changes (engine, kind, key)"
        f" VALUES ({engine}, {row}.kind, {row}.key); END;"
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD"))
    )
    return claims + logged
