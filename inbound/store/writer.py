"""The store's one writer (group commit), over an engine (store/engine.py): SQLite's file
under the data dir (store/sqlite.py), or PostgreSQL (store/postgresql/).

Writes go through one writer that commits whatever is queued in one transaction (group
commit): concurrent SMTP sessions share one fsync instead of paying one each (spec
benchmarking.md). The writer is a thread (`ThreadWriter`), or for the SQLite file of one
server a process of its own (store/writer_process.py). A write is a `Write`: a module-level
function and its arguments, which either can run. Reads run on the event-loop thread through
the engine's reader.

The query modules beside this one build on `Database`; nothing outside the package sees a
connection or a row.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Protocol, TypeVar

from inbound.store.batch import BATCH, commit, log_unwaited, settle_durable_first
from inbound.store.changes import Changes
from inbound.store.engine import Connection, Engine, Reader, Row, Write, nothing
from inbound.store.errors import StorageError
from inbound.store.names import PLAIN, Names
from inbound.store.schema import wipe
from inbound.store.sqlite import SqliteEngine
from inbound.store.writer_process import ProcessWriter

T = TypeVar("T")
log = logging.getLogger("inbound.store")

__all__ = ["Connection", "Database", "Row", "StorageError", "Write"]


class Writer(Protocol):
    """Where `Database`'s writes run: a thread of this process (`ThreadWriter`), or a process
    of its own (store/writer_process.py). Either commits what is queued in one transaction,
    in queue order."""

    def write(self, job: Write[T], durable: bool) -> asyncio.Future[T]:
        """Queue `job`; the future is done once it is committed (and fsynced if `durable`)."""
        ...

    def submit(self, job: Write[Any]) -> None:
        """Queue `job` with nobody waiting: a failure is logged."""
        ...

    def close(self) -> None:
        """Commit what is queued, then stop."""
        ...

    @property
    def losses(self) -> int:
        """How many times writes nobody waited for may have been lost with the writer (a
        process that died) while later writes commit."""
        ...


class Database:
    """Create, `open()`, use from one event loop, `close()`."""

    # A condition on a work row `w` that this engine may claim (store/claims.py), for what
    # is due later: a worker waits for its own work only, not for another's to be done.
    _mine = ""
    # Users' text as this store's text columns hold it (store/names.py: PostgreSQL's escaped)
    _names: Names = PLAIN
    # Whether a message's body and a notification are kept compressed (store/packing.py)
    _packs = True

    def __init__(self, data_dir: Path, engine: Engine | None = None) -> None:
        self.data_dir = data_dir
        self._engine: Engine = engine or SqliteEngine(data_dir)
        self._writer: Writer | None = None
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

    def open(self, *, read_only: bool = False, process: bool = False) -> None:
        """`read_only` is for commands that only look (`inbound s3 get`): it creates nothing, no
        folder, database or table, and refuses writes; a data dir without a database reads as
        an empty one. `process`: the writer is a process of its own (`[store] writer`), which
        only the SQLite file of one server can have."""
        if not read_only:
            try:
                self.data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(str(exc)) from exc
        self._engine.open(read_only=read_only)
        self._read = self._engine.read
        if not read_only:
            self._writer = self._new_writer(process)

    def _new_writer(self, process: bool) -> Writer:
        """The writer `open` starts: a store with its own (PostgreSQL's) overrides this."""
        if process and isinstance(self._engine, SqliteEngine) and not self._engine.engine_id:
            self._engine.close_writer()  # the schema is made: the child writes from here
            return ProcessWriter(self.data_dir)
        return ThreadWriter(self._engine)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._engine.close()
        self._read = _not_open

    @property
    def writer_losses(self) -> int:
        """Changes when the writer lost writes nobody waited for (`_submit`): a process
        writer that died. Whoever relies on submitted records (a message's actions) checks it
        around its work and does the work again from what was committed."""
        return 0 if self._writer is None else self._writer.losses

    async def _write(self, fn: Write[T], *, durable: bool = True) -> T:
        """Run `fn` in the writer's next transaction; returns once it is committed (and, when
        `durable`, fsynced)."""
        return await self._queue_write(fn, durable=durable)

    def _queue_write(self, fn: Write[T], *, durable: bool = True) -> asyncio.Future[T]:
        """`_write`, queued now, in call order: the future is done once it is committed (and,
        when `durable`, fsynced)."""
        assert self._writer is not None, "store is not open for writing"
        return self._writer.write(fn, durable)

    def _submit(self, fn: Write[Any]) -> None:
        """Queue `fn` without waiting. Writes commit in submission order, so a record submitted
        after another is never durable before it; waking the event loop for every one of them
        cost more CPU than the rest of the engine (profiled)."""
        assert self._writer is not None, "store is not open for writing"
        self._writer.submit(fn)

    async def flush(self, *, durable: bool = True) -> None:
        """Wait until everything submitted so far is committed (and fsynced if `durable`)."""
        await self._write(Write(nothing), durable=durable)

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
        await self._write(Write(wipe))
        self.generation += 1


def _not_open(sql: str, params: tuple[Any, ...] = ()) -> list[Row]:
    raise AssertionError("store is not open")


class _Job:
    __slots__ = ("durable", "fn", "future", "loop")

    def __init__(
        self, fn: Write[Any], loop: Any = None, future: Any = None, durable: bool = False
    ) -> None:
        self.fn, self.loop, self.future, self.durable = fn, loop, future, durable


class ThreadWriter:
    """The writer as a thread of this process: PostgreSQL's (its statements wait on the
    network, not on the GIL), the worker processes' of one SQLite file, and `[store] writer =
    "thread"` (the pytest plugin's: no process to start per test)."""

    losses = 0  # it dies with the process

    def __init__(self, engine: Engine, *, gather: float = 0.0) -> None:
        """`gather`: seconds a batch that nobody waits on durably waits for more (`_next`)."""
        self._engine = engine
        self._gather = gather
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="inbound-store", daemon=True)
        self._thread.start()

    def write(self, job: Write[T], durable: bool) -> asyncio.Future[T]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(job, loop, future, durable))
        return future

    def submit(self, job: Write[Any]) -> None:
        self._queue.put(_Job(job))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            urgent, deadline = first.durable, time.monotonic() + self._gather
            while len(batch) < BATCH:
                try:
                    job = self._next(urgent, deadline)
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
                urgent = urgent or job.durable
            self._commit(batch)
        self._engine.close_writer()

    def _next(self, urgent: bool, deadline: float) -> _Job | None:
        """The next job for the batch: one queued now, or (`queue.Empty`) none. A batch that
        nobody waits on durably (records, the steps of messages being processed, whose waits
        are not a client's) waits until `deadline` for more, and no longer than until a
        durable write comes (a `250`, an API change), which goes at once with the rest. On
        PostgreSQL (`GATHER`), each engine's batch is what comes while the transaction before
        it commits: with two engines sharing the load each had half of it, and the steps of
        processing went in twice the transactions per message of one engine, each with its
        fixed cost to the writer, the event loop it wakes and the server."""
        if urgent or not self._gather:
            return self._queue.get_nowait()
        return self._queue.get(timeout=max(0.0, deadline - time.monotonic()))

    def _commit(self, batch: list[_Job]) -> None:
        outcomes = commit(self._engine, [job.fn for job in batch], [job.durable for job in batch])
        # One wake-up of each waiting event loop per batch, not one per job: every wake-up is
        # a write to the loop's self-pipe and a turn of its selector (profiled).
        waiting: dict[Any, list[tuple[asyncio.Future[Any], bool, Any, bool]]] = {}
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            if job.future is not None:
                waiting.setdefault(job.loop, []).append((job.future, ok, value, job.durable))
            else:
                log_unwaited(ok, value)
        for loop, settled in waiting.items():
            loop.call_soon_threadsafe(settle_durable_first, settled)
