"""The writer child's WAL checkpoints, off the commit path (store/writer_child.py).

SQLite checkpoints the WAL in the COMMIT that takes it past 1,000 pages (its automatic
checkpoint): that commit's writes, the spool rows of the messages waiting for their `250`
among them, then wait for the copy into the database file and its fsync (up to 24 ms at 10
KB, c=10: docs/cpu.md, "Third round"). The child turns that off on its writing connection
and checkpoints from a thread of its own, on a connection of its own, in PASSIVE mode: the
checkpoint never waits for the writer, nor the writer for it (SQLite's checkpointer and its
one writer take different locks).

The WAL's size stays bounded. A checkpoint copies the frames the WAL held when it began;
the WAL starts over from its beginning only at a write after a checkpoint that copied all
of it, and under steady load a commit lands during most passes of the thread. So once a
pass of the thread leaves the WAL past `LIMIT` bytes, the writer finishes the checkpoint
itself, on its own connection, the next time no job waits for it: it copies only what was
committed during that pass, and syncs. Past `HARD` it does so even with jobs waiting. The
next commit then starts the WAL over, and `journal_size_limit` cuts a file that grew past
`LIMIT` back to it. The thread's passes are spaced by `PAUSE`, as each syncs the WAL and the
database file on the disk the WAL's own syncs go to. At 10 KB, c=10 (a message with the
catch-all rule writes about 75 KB of WAL), 3,000 messages saw 96 passes, 5 restarts of the
WAL and 3 finishes of 2.5-5.5 ms; SQLite's own checkpoints had cost one commit in 35 4-7 ms
(docs/cpu.md, "The writer child's disk beside its commits").
"""

from __future__ import annotations

import logging
import os
import select
import sqlite3
import threading

from inbound.store.sqlite import SqliteEngine

log = logging.getLogger("inbound.store")

LIMIT = 64 << 20  # bytes of WAL past which the writer finishes a checkpoint when idle
HARD = 256 << 20  # ... and past which it does so even with jobs waiting
PAUSE = 0.02  # seconds between two passes of the thread


class Checkpoints:
    """The checkpoints of the writer child's engine, from its making (the thread starts) to
    `close`."""

    def __init__(
        self, engine: SqliteEngine, *, limit: int = LIMIT, hard: int = HARD, pause: float = PAUSE
    ) -> None:
        self._engine = engine
        self._limit, self._hard, self._pause = limit, hard, pause
        self._connection = engine.checkpoint_apart(limit)
        self._wal = os.open(engine.wal, os.O_RDONLY)  # the connections keep the file
        self._due = threading.Event()
        self._passing = threading.Lock()  # held by whoever checkpoints
        self.passes = 0  # the thread's, so far
        self._behind = False  # its last pass left the WAL past `limit`
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._passes, name="inbound-store-checkpoints", daemon=True
        )
        self._thread.start()

    def committed(self) -> None:
        """After a commit, its answers gone: a pass of the thread is due, or past `HARD` the
        writer's own checkpoint."""
        if self._size() > self._hard:
            self._finish(wait=True)
        else:
            self._due.set()

    def idle(self, jobs: int) -> None:
        """Before the writer waits for its next job on `jobs`: after a pass of the thread that
        left the WAL past `LIMIT`, and with nothing to read there, the writer finishes the
        checkpoint."""
        if self._behind and not select.select([jobs], [], [], 0)[0]:
            self._finish(wait=False)

    def close(self) -> None:
        self._stopping.set()
        self._due.set()
        self._thread.join()
        os.close(self._wal)

    def _size(self) -> int:
        return os.fstat(self._wal).st_size

    def _finish(self, *, wait: bool) -> None:
        """The writer's checkpoint: no commit runs beside it, so it copies all that no reader
        needs, and the next commit starts the WAL over. A pass of the thread holds SQLite's
        checkpoint lock, which a checkpoint does not wait for: the writer waits for the pass
        to end (`wait`, past `HARD`: while it lasted the WAL grew, however long it took) or
        leaves it the work."""
        if not self._passing.acquire(blocking=wait):
            return
        try:
            self._checkpoint(None)
            self._behind = False
        finally:
            self._passing.release()

    def _checkpoint(self, connection: sqlite3.Connection | None) -> None:
        try:
            self._engine.checkpoint(connection)
        except sqlite3.Error as exc:  # the next one tries again; the WAL keeps the data
            log.warning("a checkpoint of the WAL failed: %s", exc)

    def _passes(self) -> None:
        """The thread: a pass after commits, at most one per `PAUSE`."""
        try:
            while True:
                self._due.wait()
                if self._stopping.is_set():
                    return
                self._due.clear()
                with self._passing:
                    self._checkpoint(self._connection)
                    self._behind = self._size() > self._limit
                self.passes += 1
                if self._stopping.wait(self._pause):
                    return
        finally:
            self._connection.close()
