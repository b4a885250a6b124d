"""The writer child's WAL checkpoints run outside its commits (store/checkpoints.py), and
its WAL stays bounded: under writes that never pause, and after a burst once the writer
is idle. The child's loop (`writer_child.run`) runs here in a thread of the test, on a
real SQLite file and real pipes, with small limits."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from inbound.frames import frame
from inbound.store.checkpoints import Checkpoints
from inbound.store.engine import Write, execute, nothing
from inbound.store.sqlite import SqliteEngine
from inbound.store.writer_child import UNWAITED, run

LIMIT, HARD = 64 << 10, 512 << 10
ROW = 1000  # bytes of each job's row
INSERT = "INSERT INTO s3_buckets VALUES (?, ?, ?)"


class Child:
    """`writer_child.run` in a thread: jobs go in through a pipe; the WAL's size is sampled
    every millisecond."""

    def __init__(self, data_dir: Path, pause: float, limit: int, hard: int) -> None:
        self.engine = SqliteEngine(data_dir)
        self.engine.open(read_only=False)
        self.checkpoints = Checkpoints(self.engine, limit=limit, hard=hard, pause=pause)
        self.source, self.sink = os.pipe()
        self.sizes: list[int] = []  # the WAL's
        self.database: list[int] = []  # the database file's
        self._done = threading.Event()
        self._answered = threading.Event()  # the one waited job's, at the end
        self._thread = threading.Thread(
            target=run,
            args=(self.engine, self.source, lambda _: self._answered.set(), self.checkpoints),
        )
        self._sampler = threading.Thread(target=self._sample)
        self._thread.start()
        self._sampler.start()

    def put(self, first: int, count: int) -> None:
        jobs = [
            (UNWAITED, Write(execute, INSERT, (f"b{n}", "r" * ROW, "t")), False)
            for n in range(first, first + count)
        ]
        os.write(self.sink, frame(jobs))

    def wal(self) -> int:
        return self.engine.wal.stat().st_size

    def _sample(self) -> None:
        while not self._done.wait(0.001):
            self.sizes.append(self.wal())
            self.database.append(self.engine.wal.with_name("inbound.sqlite3").stat().st_size)

    def end(self) -> int:
        """How many rows the database holds once the child has committed everything. The
        sampling ends before the writer's connection closes: closing it may checkpoint (when
        SQLite finds no other connection using the WAL)."""
        os.write(self.sink, frame([(0, Write(nothing), True)]))
        assert self._answered.wait(30)
        self._done.set()
        self._sampler.join()
        os.close(self.sink)
        self._thread.join()
        os.close(self.source)
        self.engine.close()
        with closing(sqlite3.connect(self.engine.wal.with_name("inbound.sqlite3"))) as conn:
            count: int = conn.execute("SELECT COUNT(*) FROM s3_buckets").fetchone()[0]
        return count


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "not in 10 s"
        time.sleep(0.005)


@contextmanager
def child(
    data_dir: Path, pause: float = 0.05, limit: int = LIMIT, hard: int = HARD
) -> Iterator[Child]:
    running = Child(data_dir, pause, limit, hard)
    try:
        yield running
    finally:
        if running._thread.is_alive():
            running.end()


def test_a_commit_runs_no_checkpoint(tmp_path: Path) -> None:
    """SQLite's own checkpoint runs in the commit that takes the WAL past 1,000 pages (4
    MB): here 6 MB are written with the thread paused for longer than the test and the
    limits above that, and nothing is copied into the database file."""
    with child(tmp_path, pause=60.0, limit=16 << 20, hard=32 << 20) as running:
        database = running.engine.wal.with_name("inbound.sqlite3")
        running.put(0, 1)
        until(lambda: running.checkpoints.passes == 1)  # after the first commit
        before, since = database.stat().st_size, len(running.database)
        for first in range(1, 6001, 100):
            running.put(first, 100)
        assert running.end() == 6001
    assert max(running.sizes) > 6000 * ROW
    assert set(running.database[since:]) == {before}


def test_the_wal_stays_bounded_under_writes_that_never_pause(tmp_path: Path) -> None:
    with child(tmp_path) as running:
        for first in range(0, 12_000, 10):  # 12 MB of rows, the pipe always full
            running.put(first, 10)
        assert running.end() == 12_000
    # past HARD by at most one batch: 512 jobs' pages (~700 KB here); without a bound, 12 MB
    assert max(running.sizes) < HARD + (1 << 20)


def test_the_wal_stays_bounded_under_steady_writes_with_pauses(tmp_path: Path) -> None:
    """A commit every millisecond or so, as at 10 KB c=10: nearly every pass of the thread
    has commits land during it, so the WAL would not start over by the passes alone; the
    writer finishes the checkpoint when idle after a pass left the WAL past LIMIT."""
    with child(tmp_path, pause=0.01, hard=32 << 20) as running:
        for first in range(0, 3000, 5):
            running.put(first, 5)
            time.sleep(0.001)
        assert running.end() == 3000
    assert running.checkpoints.passes > 10
    assert max(running.sizes[len(running.sizes) // 4 :]) < LIMIT + (1 << 20)  # 12 MB without
