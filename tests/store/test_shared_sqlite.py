"""The SQLite file shared by worker processes (store/shared.py, docs/workers.md): the work a
worker inserts is its own, a worker restarted in its slot takes back what it left at once, a
lapsed worker's work goes to the next claim of another, workers claiming at once take disjoint
rows, and a document changed by one is read again by the others at their next `synced()`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from inbound.store.shared import SharedSqliteStore
from tests.store.test_engines import STATE, record
from tests.store.test_postgresql import _outbox, assert_takes_the_lapsed_work

ACCEPTING = """
import sys
from pathlib import Path
from inbound.store.shared import SharedSqliteStore
from tests.store.test_shared_sqlite import accept_and_wait

accept_and_wait(SharedSqliteStore(Path(sys.argv[1]), 1, lease=1.0))
"""


def accept_and_wait(store: SharedSqliteStore) -> None:
    """A message accepted and an outbox entry queued by `store`, which then waits (killed)."""

    async def accept() -> None:
        await store.save_state(STATE, "{}")
        await store.spool(record("m1", 4), b"body")
        store.queue_outbox(_outbox("01"), b"raw")
        await store.flush()

    store.open()
    asyncio.run(accept())
    print("accepted", flush=True)
    time.sleep(60)


def _killed_worker_1(data: Path) -> float:
    """Worker 1 accepts a message and queues an outbox entry, then is killed; when."""
    process = subprocess.Popen(
        [sys.executable, "-c", ACCEPTING, str(data)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline() == "accepted\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return time.monotonic()


def test_a_killed_worker_takes_its_work_back_when_restarted_in_its_slot(tmp_path: Path) -> None:
    _killed_worker_1(tmp_path)
    other = SharedSqliteStore(tmp_path, 2)
    other.open()
    try:
        assert other.claim_unfinished() == [] and other.outbox_due("9", 10) == []  # leased
        restarted = SharedSqliteStore(tmp_path, 1)
        restarted.open()
        try:
            assert [m.id for m in restarted.claim_unfinished()] == ["m1"]
            assert [o.id for o in restarted.outbox_due("9", 10)] == ["01"]
        finally:
            restarted.close()  # gives its lease up: what it left is anybody's at once
        assert [m.id for m in other.claim_unfinished()] == ["m1"]
    finally:
        other.close()


def test_a_lapsed_worker_s_work_goes_to_the_next_claim(tmp_path: Path) -> None:
    killed_at = _killed_worker_1(tmp_path)
    other = SharedSqliteStore(tmp_path, 2)
    other.open()
    try:
        assert_takes_the_lapsed_work(other, killed_at)
    finally:
        other.close()


def test_workers_claiming_at_once_take_disjoint_rows(tmp_path: Path) -> None:
    producer = SharedSqliteStore(tmp_path, 4)
    producer.open()
    for n in range(60):
        producer.queue_outbox(_outbox(f"{n:02d}"), b"raw")
    asyncio.run(producer.flush())
    producer.close()  # its lease given up: the entries are anybody's
    workers = [SharedSqliteStore(tmp_path, slot) for slot in (1, 2, 3)]
    for worker in workers:
        worker.open()
    try:
        start = threading.Barrier(3)
        taken: list[list[str]] = [[], [], []]

        def claim(i: int) -> None:
            start.wait()
            taken[i] = [o.id for o in workers[i].outbox_due("9", 20)]

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for worker in workers:
            worker.close()
    assert sorted(o for batch in taken for o in batch) == [f"{n:02d}" for n in range(60)]


def test_a_document_another_worker_changed_is_read_again_at_the_next_sync(
    tmp_path: Path,
) -> None:
    one, two = SharedSqliteStore(tmp_path, 1), SharedSqliteStore(tmp_path, 2)
    one.open()
    two.open()
    try:
        asyncio.run(_put(one, {"v": 1}))
        assert two.document("filters", "f") == {"v": 1}
        asyncio.run(_put(one, {"v": 2}))
        assert two.document("filters", "f") == {"v": 1}  # its copy, until it syncs
        asyncio.run(two.synced())
        assert two.document("filters", "f") == {"v": 2}
        asyncio.run(_put(two, {"v": 3}))
        asyncio.run(one.synced())
        assert one.document("filters", "f") == {"v": 3}
        asyncio.run(two.synced())  # its own change: its copy stays
        assert two.outside_changes == 2  # the other's two changes, not its own
    finally:
        one.close()
        two.close()


async def _put(store: SharedSqliteStore, body: dict[str, int]) -> None:
    await store.put_document("filters", "f", body)
