"""The SQLite store's writer as a process of its own (store/writer_process.py): writes commit
there and answer as the thread's did, results and errors alike; a write that cannot be sent
fails alone; a child that dies fails the writes in flight and the next write starts another;
and a server's child goes when the server does, even killed."""

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
from collections.abc import Coroutine, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from inbound.config import StoreSettings
from inbound.records import Bucket, StoredObject
from inbound.store import StorageError, Store
from inbound.store.engine import Job, Write, execute
from inbound.store.sqlite import SqliteEngine
from tests import rulesets
from tests.store.conftest import Removed, made


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _writer() -> int:
    """The pid of the store's writer process (this test process's only child of that name)."""
    for pid in _children(os.getpid()):
        if b"\0inbound.store\0" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError("no writer process")


BUCKET = "INSERT INTO s3_buckets VALUES (?, ?, ?)"  # a write to make and to count


def _buckets_after(store: Store, work: Coroutine[Any, Any, None]) -> list[str]:
    """The buckets the store holds once `work` has run; the store closed."""
    try:
        asyncio.run(work)
        return [b.name for b in store.buckets()]
    finally:
        store.close()


def _in_process(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    store.open(process=True)
    return store


def test_writes_commit_in_the_child_and_answer_as_the_thread_did(tmp_path: Path) -> None:
    store = _in_process(tmp_path)
    removed = Removed()
    first = StoredObject("b", "k", 1, {}, None, "t", etag="e")

    async def work() -> None:
        assert await store.add_bucket(Bucket("b", "us-east-1", "t")) is True  # a result
        assert await store.add_bucket(Bucket("b", "eu-west-1", "t")) is False
        assert await store.add_object(partial(made, first), removed) == first  # a record
        await store.put_document("k", "a", {"v": 1})
        with pytest.raises(sqlite3.IntegrityError):  # an error, of its own type
            await store._write(Write(execute, BUCKET, ("b", "us-east-1", "t")))
        assert await store._write(Write(execute, BUCKET, ("c", "us-east-1", "t"))) == 1

    try:
        asyncio.run(work())
        # read back in this process (the parent's reader), as the API would
        assert store.bucket("c") == Bucket("c", "us-east-1", "t")
        assert store.document("k", "a") == {"v": 1}
        assert store.stored_object("b", "k") == first
    finally:
        store.close()
    assert removed == []


def test_a_write_that_cannot_be_sent_fails_alone(tmp_path: Path) -> None:
    """A value among a write's arguments that does not pickle (here a socket) fails that
    write; the others queued in the same turn of the loop commit."""
    store = _in_process(tmp_path)

    async def work() -> None:
        with socket.socket() as unsendable:
            good = store._queue_write(Write(execute, BUCKET, ("a", "r", "t")))
            bad = store._queue_write(Write(execute, BUCKET, ("b", unsendable, "t")))
            also_good = store._queue_write(Write(execute, BUCKET, ("c", "r", "t")))
            assert await good == 1 and await also_good == 1
            with pytest.raises(TypeError):
                await bad

    assert _buckets_after(store, work()) == ["a", "c"]


class GatedEngine(SqliteEngine):
    """SQLite whose transactions wait for `gate`: what is queued while the first waits is the
    writer thread's next batch."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        self.entered.set()
        self.gate.wait(30)
        return super().transaction(jobs, durable)


@pytest.mark.parametrize("writer", ["process", "thread"])
def test_a_commit_wakes_what_waits_for_durability_first(tmp_path: Path, writer: str) -> None:
    """A durable write (the spool before `250`, an API edit) and a plain one (processing's
    records) committed together: the durable one's waiter runs first, although it was queued
    second (docs/cpu.md, "Third round")."""
    engine = GatedEngine(tmp_path) if writer == "thread" else None
    store = Store(tmp_path, engine)
    store.open(process=writer == "process")
    woken: list[str] = []

    async def work() -> None:
        first = None
        if engine is not None:  # the thread takes the next two in one batch
            first = store._queue_write(Write(execute, BUCKET, ("a", "r", "t")), durable=False)
            await asyncio.to_thread(engine.entered.wait, 30)
        plain = store._queue_write(Write(execute, BUCKET, ("b", "r", "t")), durable=False)
        durable = store._queue_write(Write(execute, BUCKET, ("c", "r", "t")), durable=True)
        plain.add_done_callback(lambda _: woken.append("plain"))
        durable.add_done_callback(lambda _: woken.append("durable"))
        if engine is not None:
            engine.gate.set()
        await asyncio.gather(*([first] if first else []), plain, durable)

    assert _buckets_after(store, work())[-2:] == ["b", "c"]
    assert woken == ["durable", "plain"]


def test_a_closure_is_refused_where_the_write_is_made() -> None:
    with pytest.raises(TypeError, match="not module-level"):
        Write(lambda c: None)
    with pytest.raises(TypeError, match="not module-level"):
        Write(execute, [].append)


def test_a_dead_child_fails_the_writes_in_flight_and_the_next_write_starts_another(
    tmp_path: Path,
) -> None:
    store = _in_process(tmp_path)

    async def work() -> None:
        assert await store._write(Write(execute, BUCKET, ("a", "r", "t"))) == 1
        child = _writer()
        os.kill(child, signal.SIGKILL)
        with pytest.raises(StorageError, match="writer process exited"):
            await store._write(Write(execute, "SELECT 1"))  # sent to the dead child
        # the next write starts a new child, which finds what the first committed
        assert await store._write(Write(execute, BUCKET, ("b", "r", "t"))) == 1
        assert _writer() != child

    assert _buckets_after(store, work()) == ["a", "b"]


def test_close_commits_what_is_queued_and_the_child_exits(tmp_path: Path) -> None:
    store = _in_process(tmp_path)

    async def work() -> int:
        for name in "abc":
            store._submit(Write(execute, BUCKET, (name, "r", "t")))  # nobody waits
        return _writer()

    child = asyncio.run(work())
    store.close()
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)
    again = Store(tmp_path)
    again.open(read_only=True)
    try:
        assert [b.name for b in again.buckets()] == ["a", "b", "c"]
    finally:
        again.close()


def _state(pid: int) -> str:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def test_a_killed_server_s_writer_commits_what_it_read_and_exits(tmp_path: Path) -> None:
    """kill -9 of the process that holds the store: the child's input ends, it commits what
    it had read and exits, so no writer outlives its server."""
    data = tmp_path / "data"
    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from inbound.store import Store\n"
        "from inbound.store.engine import Write, execute\n"
        "store = Store(Path(sys.argv[1])); store.open(process=True)\n"
        "async def main():\n"
        f"    await store._write(Write(execute, {BUCKET!r}, ('a', 'r', 't')))\n"
        "    print('committed', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(data)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "committed\n"
        child = _children(holder.pid)[0]
        holder.kill()
        holder.wait()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child}").exists() and _state(child) != "Z":
            assert time.monotonic() < deadline, "the writer outlived its server"
            time.sleep(0.05)
    finally:
        holder.kill()
        holder.wait()
    store = Store(data)
    store.open(read_only=True)
    try:
        assert [b.name for b in store.buckets()] == ["a"]
    finally:
        store.close()


def test_a_server_s_store_writes_in_its_own_process_by_default(inbound_factory) -> None:
    """`[store] writer` defaults to the process (the plugin's servers choose the thread): a
    message goes through every action's records there, and reads back through the API."""
    assert StoreSettings().writer == "process"
    server = inbound_factory(
        rulesets.rules(rulesets.rule("all", rulesets.add_header("X-A", "1"), rulesets.s3("b"))),
        store=StoreSettings(),
    )
    assert any(
        b"\0inbound.store\0" in Path(f"/proc/{pid}/cmdline").read_bytes()
        for pid in _children(os.getpid())
    )
    server.send("sender@sender.test", ["user@example.com"], rulesets.message())
    server.wait_idle()
    [received] = server.listing("/api/messages")
    assert received["status"] == "done"
    [stored] = server.listing("/api/s3")
    assert server.s3_object("b", stored["key"]).startswith(b"X-A: 1\r\n")
