"""The connections to `inbound.sqlite3` and its one writer thread (group commit).

Durability: the spool *is* the `spool` table of `inbound.sqlite3` (WAL, synchronous=FULL), so a
message is on disk once its transaction commits. Writes go through one writer thread that
commits whatever is queued in one transaction (group commit): concurrent SMTP sessions share
one fsync instead of paying one each (spec benchmarking.md). Reads use a second connection on
the event-loop thread; WAL lets them run beside the writer.

The query modules beside this one build on `Database`; nothing outside the package sees a
connection or a row.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inbound.datadir import under
from inbound.store.changes import Changes
from inbound.store.schema import RESET_TABLES, SCHEMA, migrate

T = TypeVar("T")
log = logging.getLogger("inbound.store")

_BATCH = 512
Connection = sqlite3.Connection
Row = sqlite3.Row


class StorageError(Exception):
    """The data dir could not take a write: the disk is full, the file system is read-only or
    failing. Nothing of the write was kept; the same write can succeed once the cause is gone,
    so callers answer it with a temporary failure (SMTP `451`) or try again later."""


class _Job:
    __slots__ = ("durable", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[Connection], Any],
        loop: Any = None,
        future: Any = None,
        durable: bool = False,
    ) -> None:
        self.fn, self.loop, self.future, self.durable = fn, loop, future, durable


class Database:
    """Create, `open()`, use from one event loop, `close()`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._path = under(data_dir, "inbound.sqlite3")
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: Connection | None = None
        self._synchronous = "FULL"  # the writer connection's current setting (_connect)
        self.changes = Changes()  # announced after each commit (store/changes.py)
        # How many times `reset()` emptied the tables: what holds records in memory (the
        # delivery worker) drops those of an earlier generation.
        self.generation = 0

    # ── lifecycle ──────────────────────────────────────────────────────────────────────
    def exists(self) -> bool:
        """Whether the data dir has a database yet (`open()` creates one)."""
        return self._path.exists()

    def open(self, *, read_only: bool = False) -> None:
        """`read_only` is for commands that only look (`inbound s3 get`): it creates nothing, no
        folder, database or table, and refuses writes; a data dir without a database reads as
        an empty one."""
        if read_only:
            self._reader = self._connect_read_only()
            return
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            writer = self._connect()
            writer.executescript(SCHEMA)
            migrate(writer)
        except (OSError, sqlite3.OperationalError) as exc:
            raise StorageError(str(exc)) from exc
        self._thread = threading.Thread(
            target=self._write_loop, args=(writer,), name="inbound-store", daemon=True
        )
        self._thread.start()
        self._reader = self._connect()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connect(self) -> Connection:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _connect_read_only(self) -> Connection:
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

    # ── group commit ──────────────────────────────────────────────────────────────────────
    def _write_loop(self, conn: Connection) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
            self._commit(conn, batch)
        conn.close()

    def _commit(self, conn: Connection, batch: list[_Job]) -> None:
        """One transaction for the batch. It is fsynced (synchronous=FULL) only when someone
        needs it — the spool before `250`, API changes before their response; other records
        commit without one (NORMAL): a killed process loses none of them, an OS crash only
        the latest. The WAL is one append-only file, so a later fsync also makes every
        earlier commit durable, in order.

        Jobs run without a savepoint each: every statement hands the GIL to the event loop
        and back, which cost more than the SQL (profiled). When a job fails, the batch is
        rolled back and replayed one transaction per job, so only that job fails."""
        synchronous = "FULL" if any(job.durable for job in batch) else "NORMAL"
        if synchronous != self._synchronous:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        outcomes: list[tuple[bool, Any]]
        try:
            outcomes = [(True, value) for value in _transaction(conn, batch)]
        except Exception:
            outcomes = []
            for job in batch:
                try:
                    outcomes.append((True, _transaction(conn, [job])[0]))
                except Exception as exc:  # handed to the caller
                    outcomes.append((False, _storage_error(exc)))
        # One wake-up of each waiting event loop per batch, not one per job: every wake-up is
        # a write to the loop's self-pipe and a turn of its selector (profiled).
        waiting: dict[Any, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            if job.future is not None:
                waiting.setdefault(job.loop, []).append((job.future, ok, value))
            elif isinstance(value, StorageError):  # a record that nobody waits for
                log.warning("a record was not stored: %s", value)
            elif not ok:
                log.error("store write failed: %s", value)
        for loop, settled in waiting.items():
            loop.call_soon_threadsafe(_settle, settled)

    async def _write(self, fn: Callable[[Connection], T], *, durable: bool = True) -> T:
        """Run `fn` in the writer's next transaction; returns once it is committed (and, when
        `durable`, fsynced)."""
        return await self._queue_write(fn, durable=durable)

    def _queue_write(
        self, fn: Callable[[Connection], T], *, durable: bool = True
    ) -> asyncio.Future[T]:
        """`_write`, queued now, in call order: the future is done once it is committed (and,
        when `durable`, fsynced)."""
        assert self._thread is not None, "store is not open for writing"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, loop, future, durable))
        return future

    def _submit(self, fn: Callable[[Connection], Any]) -> None:
        """Queue `fn` without waiting. Writes commit in submission order, so a record submitted
        after another is never durable before it; waking the event loop for every one of them
        cost more CPU than the rest of the engine (profiled)."""
        assert self._thread is not None, "store is not open for writing"
        self._queue.put(_Job(fn))

    async def flush(self, *, durable: bool = True) -> None:
        """Wait until everything submitted so far is committed (and fsynced if `durable`)."""
        await self._write(lambda c: None, durable=durable)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
        assert self._reader is not None, "store is not open"
        cursor = self._reader.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    def _page(
        self, sql: str, order: str, params: tuple[Any, ...], limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Rows `offset` to `offset + limit` of `sql` sorted by `order` (an indexed order: a
        page then reads its rows alone, not the whole table), and how many `sql` has. The count
        leaves the order out: with it, SQLite reads every row whole (0.3 s for 64,000
        notifications, on the event loop); without it, it counts an index."""
        total = self._read(f"SELECT COUNT(*) AS n FROM ({sql})", params)[0]["n"]
        page = f"{sql} ORDER BY {order} LIMIT ? OFFSET ?"
        return self._read(page, (*params, limit, offset)), total

    async def reset(self) -> None:
        """Empty every table but the receipt states and the API's documents."""

        def wipe(c: Connection) -> None:
            for table in RESET_TABLES:
                c.execute(f"DELETE FROM {table}")

        await self._write(wipe)
        self.generation += 1


def _transaction(conn: Connection, jobs: list[_Job]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = [job.fn(conn) for job in jobs]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


def _storage_error(exc: Exception) -> Exception:
    """SQLite's "database or disk is full", "disk I/O error", "attempt to write a readonly
    database" and the like as a `StorageError`; other failures (a constraint, a bug) as they are."""
    if isinstance(exc, sqlite3.OperationalError):
        error = StorageError(str(exc))
        error.__cause__ = exc
        return error
    return exc


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
