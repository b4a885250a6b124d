"""The SQLite store's writer shared by the worker processes (store/shared_writer.py): each
worker's writes are its own (the rows it inserts are claimed by it, the documents it changes
are logged as its changes) though one writer commits them together; a writer that dies fails
the writes in flight and the next write connects to the one started again; a worker that
closes gets its answers first; a killed worker's jobs that the writer read are committed; the
writer exits once the supervisor is done and the last worker has gone."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from inbound.frames import frame
from inbound.store import StorageError, make_store
from inbound.store.engine import Write, execute
from inbound.store.shared_writer import SharedWriter
from inbound.store.store import Store

RETURN = "INSERT INTO sent_returns (id, sent_id, raw, created) VALUES (?, 's', x'', 't')"


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[SharedWriter]:
    shared = SharedWriter(tmp_path)
    try:
        yield shared
    finally:
        shared.close()


def _worker(tmp_path: Path, writer: SharedWriter, slot: int) -> Store:
    store = make_store(tmp_path, worker=slot, writer=writer.address)
    store.open(process=True)
    return store


def _rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as db:
        return db.execute(sql).fetchall()


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def test_each_worker_s_writes_are_its_own_in_one_writer(
    tmp_path: Path, writer: SharedWriter
) -> None:
    one, two = _worker(tmp_path, writer, 1), _worker(tmp_path, writer, 2)

    async def work() -> None:
        writes = []
        for n in range(20):  # queued in the same turns: committed in shared transactions
            writes.append(one._write(Write(execute, RETURN, (f"one-{n}",))))
            writes.append(two._write(Write(execute, RETURN, (f"two-{n}",))))
        assert await asyncio.gather(*writes) == [1] * 40
        await one.put_document("kind", "from-one", {"v": 1})
        await two.put_document("kind", "from-two", {"v": 2})
        # the workers have no writer thread (store/writer.py's `ThreadWriter`)
        assert "inbound-store" not in {thread.name for thread in threading.enumerate()}

    try:
        asyncio.run(work())
    finally:
        one.close()
        two.close()
    claimed = _rows(tmp_path, "SELECT id, claimed_by FROM sent_returns")
    assert len(claimed) == 40
    assert {(i, c) for i, c in claimed} == {
        *((f"one-{n}", "worker-1") for n in range(20)),
        *((f"two-{n}", "worker-2") for n in range(20)),
    }
    logged = _rows(tmp_path, "SELECT engine, key FROM document_changes ORDER BY version")
    assert logged == [("worker-1", "from-one"), ("worker-2", "from-two")]


def test_a_dead_writer_fails_the_writes_in_flight_and_the_next_connects_again(
    tmp_path: Path, writer: SharedWriter
) -> None:
    store = _worker(tmp_path, writer, 1)

    async def work() -> None:
        assert await store._write(Write(execute, RETURN, ("a",))) == 1
        os.kill(writer.pid, signal.SIGKILL)
        with pytest.raises(StorageError, match="writer process exited"):
            await store._write(Write(execute, "SELECT 1"))  # sent to the dead writer
        assert writer.ended() == -signal.SIGKILL
        writer.start()  # as the supervisor does
        assert await store._write(Write(execute, RETURN, ("b",))) == 1

    try:
        asyncio.run(work())
    finally:
        store.close()
    assert _rows(tmp_path, "SELECT id, claimed_by FROM sent_returns ORDER BY id") == [
        ("a", "worker-1"),
        ("b", "worker-1"),
    ]


def test_a_closing_worker_s_queued_writes_commit_before_it_goes(
    tmp_path: Path, writer: SharedWriter
) -> None:
    store = _worker(tmp_path, writer, 1)

    async def work() -> None:
        for n in range(2000):  # more than a socket buffer of jobs: sent while answers come
            store._submit(Write(execute, RETURN, (f"r{n}",)))

    asyncio.run(work())
    store.close()
    assert _rows(tmp_path, "SELECT COUNT(*) FROM sent_returns") == [(2000,)]


def test_a_killed_worker_s_jobs_that_were_read_commit(tmp_path: Path, writer: SharedWriter) -> None:
    """A worker killed mid-load is a connection that ends without waiting for its answers:
    what the writer read of it commits, as a writer child commits what its server sent."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(writer.address))
        sock.sendall(frame("worker-7") + frame([(0, Write(execute, RETURN, ("x",)), True)]))
        assert sock.recv(1) == b"+"
    deadline = time.monotonic() + 10
    while _rows(tmp_path, "SELECT id, claimed_by FROM sent_returns") != [("x", "worker-7")]:
        assert time.monotonic() < deadline, "the killed worker's write was not committed"
        time.sleep(0.02)


def test_the_writer_exits_once_the_supervisor_is_done_and_the_workers_gone(
    tmp_path: Path,
) -> None:
    """A supervisor killed leaves its workers to finish their mail: the writer serves them
    until the last one has gone."""
    writer = SharedWriter(tmp_path)
    pid, folder = writer.pid, writer.address.parent
    store = _worker(tmp_path, writer, 1)
    closing = threading.Thread(target=writer.close)
    closing.start()
    try:
        time.sleep(0.5)
        assert not _gone(pid)

        async def work() -> None:
            assert await store._write(Write(execute, RETURN, ("late",))) == 1

        asyncio.run(work())
    finally:
        store.close()
        closing.join(10)
    assert _gone(pid) and not closing.is_alive()
    assert not folder.exists()
    assert _rows(tmp_path, "SELECT id FROM sent_returns") == [("late",)]


def test_a_killed_supervisor_s_writer_exits_and_removes_its_socket(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        address = Path(holder.stdout.readline().strip())
        assert address.exists()
        holder.kill()
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while address.parent.exists():  # its input ended and no worker was connected: it exits
        assert time.monotonic() < deadline, "the writer outlived its supervisor"
        time.sleep(0.02)


SUPERVISOR = """
import sys, time
from pathlib import Path
from inbound.store.shared_writer import SharedWriter
print(SharedWriter(Path(sys.argv[1])).address, flush=True)
time.sleep(60)
"""
