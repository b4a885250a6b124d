"""The writer's hand-offs: records submitted without waiting go to the writer when the event
loop's turn ends, or with the next write someone waits for, in submission order and in that
write's transaction, so an API edit's setup records and its own commit are one hand-off
(issue 15 item 8). Observed on the real SQLite engine, its transactions counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from inbound.api.query.operations.receipt_rules import SETUP_KEY, SETUP_MESSAGE
from inbound.backends.local_s3 import LocalObjectStore
from inbound.records import Notification
from inbound.store import Store
from inbound.store.engine import Job
from inbound.store.sqlite import SqliteEngine

TOPIC = "arn:aws:sns:us-east-1:123456789012:mail"


class CountingEngine(SqliteEngine):
    """SQLite, with each transaction's size (jobs) and durability noted."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.transactions: list[tuple[int, bool]] = []

    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        self.transactions.append((len(jobs), durable))
        return super().transaction(jobs, durable)


def notification(n: int) -> Notification:
    return Notification(
        id=f"n{n}", topic_arn=TOPIC, subject="", message=f"m{n}", message_id=None,
        created="2026-12-04T23:00:00.000Z",
    )  # fmt: skip


def counted(
    tmp_path: Path, work: Callable[[Store, CountingEngine], Coroutine[Any, Any, None]]
) -> Any:
    """`work(store, engine)` on an open store counting its transactions (from the start of
    `work`, unless it clears them again)."""
    engine = CountingEngine(tmp_path)
    store = Store(tmp_path, engine)
    store.open()
    try:
        engine.transactions.clear()  # the schema's
        asyncio.run(work(store, engine))
    finally:
        store.close()
    return engine.transactions, store


def test_records_submitted_before_a_waited_write_go_in_its_transaction(tmp_path: Path) -> None:
    async def edit(store: Store, _: CountingEngine) -> None:
        store.add_notification(notification(1))
        store.notification_delivered("n1", [{"status": 200}])  # after the insert, in order
        time.sleep(0.05)  # the GIL let go within the turn, as a read of the store does
        await store.write_documents([("receipt", "test", {"active": "x"})])

    transactions, store = counted(tmp_path, edit)
    assert transactions == [(3, True)]
    store.open()
    try:
        [kept] = store.notifications()
        assert kept.deliveries == [{"status": 200}]
        assert store.document("receipt", "test") == {"active": "x"}
    finally:
        store.close()


def test_a_record_submitted_alone_is_handed_over_when_the_turn_ends(tmp_path: Path) -> None:
    async def submit(store: Store, _: CountingEngine) -> None:
        store.add_notification(notification(1))
        store.add_notification(notification(2))
        for _ in range(500):
            if len(store.notifications()) == 2:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("submitted records were never committed")

    transactions, _ = counted(tmp_path, submit)
    assert transactions == [(2, False)]  # one hand-off for the turn's records, not fsynced


def test_a_setup_object_is_committed_with_the_rule_saved_after_it(tmp_path: Path) -> None:
    """CreateReceiptRule's S3 check, on the embedded S3: its setup object, then the state."""

    async def save_rule(store: Store, engine: CountingEngine) -> None:
        objects = LocalObjectStore(tmp_path / "s3", store, tmp_path / "s3-partial")
        await objects.create_bucket("b", "us-east-1")
        engine.transactions.clear()
        await objects.put_setup_object("b", f"in/{SETUP_KEY}", SETUP_MESSAGE, SETUP_KEY)
        time.sleep(0.05)
        await store.save_state("state-1", "{}")

    transactions, store = counted(tmp_path, save_rule)
    assert transactions == [(2, True)]
    store.open()
    try:
        [setup] = store.objects()
        assert (setup.bucket, setup.key, setup.message_id) == ("b", f"in/{SETUP_KEY}", SETUP_KEY)
        assert (tmp_path / "s3" / "b" / "in" / SETUP_KEY).read_bytes() == SETUP_MESSAGE
    finally:
        store.close()


def test_a_record_submitted_off_the_event_loop_is_handed_over_at_once(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    try:
        store.add_notification(notification(1))  # no running loop: nothing would hand it over
        asyncio.run(store.flush())
        assert [n.id for n in store.notifications()] == ["n1"]
    finally:
        store.close()
