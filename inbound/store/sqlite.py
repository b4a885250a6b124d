"""The embedded engine: `inbound.sqlite3` under the data dir (the default store).

Durability: the spool *is* the `spool` table (WAL, synchronous=FULL), so a message is on disk
once its transaction commits. Reads use a second connection on the event-loop thread; WAL lets
them run beside the writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inbound.datadir import under
from inbound.store.engine import Job, Row
from inbound.store.errors import StorageError
from inbound.store.schema import SCHEMA, migrate


class SqliteEngine:
    def __init__(self, data_dir: Path) -> None:
        self._path = under(data_dir, "inbound.sqlite3")
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._synchronous = "FULL"  # the writer connection's current setting (_connect)

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
        except (OSError, sqlite3.OperationalError) as exc:
            raise StorageError(str(exc)) from exc
        self._writer = writer
        self._reader = self._connect()

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

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
        """Fsynced (synchronous=FULL) only when `durable`; other records commit without one
        (NORMAL): a killed process loses none of them, an OS crash only the latest. The WAL
        is one append-only file, so a later fsync also makes every earlier commit durable,
        in order."""
        conn = self._writer
        assert conn is not None, "store is not open for writing"
        synchronous = "FULL" if durable else "NORMAL"
        if synchronous != self._synchronous:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        conn.execute("BEGIN IMMEDIATE")
        try:
            results = [job(conn) for job in jobs]
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return results

    def storage_error(self, exc: Exception) -> Exception:
        """SQLite's "database or disk is full", "disk I/O error", "attempt to write a readonly
        database" and the like."""
        if isinstance(exc, sqlite3.OperationalError):
            error = StorageError(str(exc))
            error.__cause__ = exc
            return error
        return exc
