"""A worker's durable commit syncs the WAL after its turn on `writers.lock` (store/sqlite.py,
docs/workers.md "The store"): the sync begins once the commit is visible to another
connection, the transaction returns only after it, and the other worker commits meanwhile."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from inbound.store.engine import Job
from inbound.store.sqlite import SqliteEngine


def _spool(name: str) -> Job:
    """A write of one spool row."""
    return lambda conn: conn.execute("INSERT INTO spool (id, raw) VALUES (?, x'00')", (name,))


def test_a_workers_durable_commit_is_synced_after_the_lock_while_the_other_commits(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    def sync(wal: int) -> None:
        assert os.fstat(wal).st_ino == os.stat(worker.wal).st_ino
        found = other.read("SELECT id FROM spool ORDER BY id")
        seen.append("sync after " + ",".join(row["id"] for row in found))
        lock = os.open(tmp_path / "writers.lock", os.O_RDWR)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a writer holds it
            fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            os.close(lock)
        other.transaction([_spool(f"from-2-{len(seen)}")], durable=False)
        os.fdatasync(wal)

    worker = SqliteEngine(tmp_path, "worker-1", 30.0, sync=sync)
    other = SqliteEngine(tmp_path, "worker-2", 30.0)
    worker.open(read_only=False)
    other.open(read_only=False)
    try:
        worker.transaction([_spool("from-1-a")], durable=False)
        assert seen == []
        worker.transaction([_spool("from-1-b")], durable=True)
        seen.append("returned")
    finally:
        worker.close_writer()
        worker.close()
        other.close_writer()
        other.close()
    assert seen == ["sync after from-1-a,from-1-b", "returned"]
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM spool ORDER BY id")]
    assert ids == ["from-1-a", "from-1-b", "from-2-1"]
