"""The store's one writer thread (group commit), over an engine (store/engine.py): SQLite's
file under the data dir (store/sqlite.py), or PostgreSQL (store/postgresql/).

Writes go through one writer thread that commits whatever is queued in one transaction (group
commit): concurrent SMTP sessions share one fsync instead of paying one each (spec
benchmarking.md). Reads run on the event-loop thread through the engine's reader.

The query modules beside this one build on `Database`; nothing outside the package sees a
connection or a row.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inbound.store.changes import Changes
from inbound.store.engine import Connection, Engine, Later, Reader, Row
from inbound.store.errors import StorageError
from inbound.store.names import PLAIN, Names
from inbound.store.schema import RESET_TABLES
from inbound.store.sqlite import SqliteEngine

T = TypeVar("T")
log = logging.getLogger("inbound.store")

_BATCH = 512
__all__ = ["Connection", "Database", "Row", "StorageError"]


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

    # A condition on a work row `w` that this engine may claim (store/claims.py), for what
    # is due later: a worker waits for its own work only, not for another's to be done.
    _mine = ""
    # Users' text as this store's text columns hold it (store/names.py: PostgreSQL's escaped)
    _names: Names = PLAIN

    def __init__(self, data_dir: Path, engine: Engine | None = None) -> None:
        self.data_dir = data_dir
        self._engine: Engine = engine or SqliteEngine(data_dir)
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        # The engine's reader once open: bound here, so a read costs no extra call.
        self._read: Reader = _not_open
        self.changes = Changes()  # announced after each commit (store/changes.py)
        # How many times `reset()` emptied the tables: what holds records in memory (the
        # delivery worker) drops those of an earlier generation.
        self.generation = 0

    # ── lifecycle ──────────────────────────────────────────────────────────────────────
    def exists(self) -> bool:
        """Whether there is a database yet (`open()` creates one)."""
        return self._engine.exists()

    def open(self, *, read_only: bool = False) -> None:
        """`read_only` is for commands that only look (`inbound s3 get`): it creates nothing, no
        folder, database or table, and refuses writes; a data dir without a database reads as
        an empty one."""
        if not read_only:
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(str(exc)) from exc
        self._engine.open(read_only=read_only)
        self._read = self._engine.read
        if not read_only:
            self._thread = threading.Thread(
                target=self._write_loop, name="inbound-store", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._engine.close()
        self._read = _not_open

    # ── group commit ──────────────────────────────────────────────────────────────────────
    def _write_loop(self) -> None:
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
            self._commit(batch)
        self._engine.close_writer()

    def _commit(self, batch: list[_Job]) -> None:
        """One transaction for the batch. It is made durable (fsynced) only when someone
        needs it — the spool before `250`, API changes before their response (the engine's
        `transaction`).

        Jobs run without a savepoint each: every statement hands the GIL to the event loop
        and back, which cost more than the SQL (profiled). When a job fails, the batch is
        rolled back and replayed one transaction per job, so only that job fails."""
        engine = self._engine
        durable = any(job.durable for job in batch)
        outcomes: list[tuple[bool, Any]]
        try:
            outcomes = [(True, v) for v in engine.transaction([j.fn for j in batch], durable)]
        except Exception:
            outcomes = []
            for job in batch:
                try:
                    outcomes.append((True, engine.transaction([job.fn], durable)[0]))
                except Exception as exc:  # handed to the caller
                    outcomes.append((False, engine.storage_error(exc)))
        outcomes = [_settled(outcome) for outcome in outcomes]
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

    def _page(
        self, sql: str, order: str, params: tuple[Any, ...], limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Rows `offset` to `offset + limit` of `sql` sorted by `order` (an indexed order: a
        page then reads its rows alone, not the whole table), and how many `sql` has. The count
        leaves the order out: with it, SQLite reads every row whole (0.3 s for 64,000
        notifications, on the event loop); without it, it counts an index."""
        total = self._read(f"SELECT COUNT(*) AS n FROM ({sql}) AS counted", params)[0]["n"]
        page = f"{sql} ORDER BY {order} LIMIT ? OFFSET ?"
        return self._read(page, (*params, limit, offset)), total

    async def reset(self) -> None:
        """Empty every table but the receipt states and the API's documents."""

        def wipe(c: Connection) -> None:
            for table in RESET_TABLES:
                c.execute(f"DELETE FROM {table}")

        await self._write(wipe)
        self.generation += 1


def _not_open(sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    raise AssertionError("store is not open")


def _settled(outcome: tuple[bool, Any]) -> tuple[bool, Any]:
    """A job's outcome, its `Later` settled now that its transaction has committed."""
    ok, value = outcome
    if not ok or not isinstance(value, Later):
        return outcome
    try:
        return True, value.settle()
    except Exception as exc:  # handed to the caller
        return False, exc


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
