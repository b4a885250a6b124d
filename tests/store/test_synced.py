"""The writer child answers a durable write only after an fdatasync of the WAL that began
after the write's commit (store/synced.py), and a batch committed while that sync is on
the disk does not wait for it to run its statements. The child's loop (`writer_child.run`)
runs in a thread of the test on a real SQLite file and real pipes; the seam is its sync,
the real `os.fdatasync` with what the database holds noted when it begins and a pause
after it, so that an answer sent before its sync ended would be read before it."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import closing
from itertools import pairwise
from pathlib import Path
from typing import Any

from inbound.frames import Unframer, frame
from inbound.store.checkpoints import Checkpoints
from inbound.store.engine import Write, execute
from inbound.store.sqlite import SqliteEngine
from inbound.store.synced import SyncedAnswers
from inbound.store.writer_child import MAX_FRAME, run

INSERT = "INSERT INTO s3_buckets VALUES (?, ?, ?)"
SYNC_PAUSE = 0.1


class Recorded:
    """What happened, in order: ("sync", names committed when it began), ("synced",),
    ("answer", id) as the test reads the answers."""

    def __init__(self, database: Path) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()
        self._database = database

    def add(self, *event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def sync(self, fd: int) -> None:
        with closing(sqlite3.connect(self._database)) as conn:  # what is committed now
            names = {row[0] for row in conn.execute("SELECT name FROM s3_buckets")}
        self.add("sync", names)
        os.fdatasync(fd)
        time.sleep(SYNC_PAUSE)
        self.add("synced")


def test_a_durable_write_is_answered_after_a_sync_that_began_after_its_commit(
    tmp_path: Path,
) -> None:
    engine = SqliteEngine(tmp_path, sync_apart=True)
    engine.open(read_only=False)
    recorded = Recorded(tmp_path / "inbound.sqlite3")
    source, jobs = os.pipe()
    answers, out = os.pipe()
    wal = os.open(engine.wal, os.O_RDONLY)
    synced = SyncedAnswers(wal, lambda data: os.write(out, data), recorded.sync)
    child = threading.Thread(target=run, args=(engine, source, synced, Checkpoints(engine)))
    child.start()

    def read_answers() -> None:
        replies = Unframer(MAX_FRAME)
        while (batches := replies.read(answers)) is not None:
            for batch in batches:
                for ident, ok, _ in batch:
                    assert ok
                    recorded.add("answer", ident)

    reader = threading.Thread(target=read_answers)
    reader.start()
    # durable writes one at a time, each sent while the sync before it is on the disk
    for n in range(6):
        os.write(jobs, frame([(n, Write(execute, INSERT, (f"b{n}", "r", "t")), True)]))
        time.sleep(SYNC_PAUSE / 3)
    os.close(jobs)
    child.join()
    os.close(out)
    reader.join()
    for fd in (source, answers, wal):
        os.close(fd)
    engine.close()

    events = recorded.events
    answered = {event[1]: i for i, event in enumerate(events) if event[0] == "answer"}
    assert sorted(answered) == list(range(6))
    for n, at in answered.items():
        began = [i for i, e in enumerate(events[:at]) if e[0] == "sync" and f"b{n}" in e[1]]
        assert began, f"b{n} answered before a sync that began after its commit"
        assert ("synced",) in events[began[0] : at], f"b{n} answered before its sync ended"
    # the writes sent during a sync were committed before it ended: fewer syncs than writes
    syncs = [e for e in events if e[0] == "sync"]
    assert len(syncs) < 6
    assert any(len(e[1]) > 1 + len(before[1]) for before, e in pairwise(syncs))
