"""SES's setup object, written when a rule naming an embedded bucket is saved, is queued in the
store's writer without waiting, ahead of the rule's own commit: the save waits for one commit,
and the object is committed by then (issue 15 item 8). And the writer thread's gathering (what
PostgreSQL's writer does, `GATHER`): a batch nobody waits on durably waits for more, until a
durable write comes or the time is up. Observed on the real SQLite engine, its transactions
counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inbound.api.query.operations.receipt_rules import SETUP_KEY, SETUP_MESSAGE
from inbound.backends.local_s3 import LocalObjectStore
from inbound.store import Store
from inbound.store.engine import Job, Write, nothing
from inbound.store.sqlite import SqliteEngine
from inbound.store.writer import ThreadWriter

KEY = f"in/{SETUP_KEY}"


class CountingEngine(SqliteEngine):
    """SQLite, with each transaction's size (jobs) and durability noted."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.transactions: list[tuple[int, bool]] = []

    def transaction(self, jobs: Sequence[Job], durable: bool) -> list[Any]:
        self.transactions.append((len(jobs), durable))
        return super().transaction(jobs, durable)


def test_a_setup_object_is_committed_ahead_of_the_rule_saved_after_it(tmp_path: Path) -> None:
    engine = CountingEngine(tmp_path)
    store = Store(tmp_path, engine)
    objects = LocalObjectStore(tmp_path / "s3", store, tmp_path / "s3-partial")

    async def save_rule() -> None:
        await objects.create_bucket("b", "us-east-1")
        engine.transactions.clear()
        await objects.put_setup_object("b", KEY, SETUP_MESSAGE, SETUP_KEY)
        await store.save_state("state-1", "{}")  # the rule's commit: the one waited for
        setup = store.stored_object("b", KEY)
        assert setup is not None and setup.message_id == SETUP_KEY

    store.open()
    try:
        asyncio.run(save_rule())
    finally:
        store.close()
    assert sum(jobs for jobs, _ in engine.transactions) == 2
    assert engine.transactions[-1][1]  # the rule's commit is fsynced, the object's with it
    assert (tmp_path / "s3" / "b" / KEY).read_bytes() == SETUP_MESSAGE


def _gathering(engine: CountingEngine, gather: float, work: Any) -> None:
    engine.open(read_only=False)
    writer = ThreadWriter(engine, gather=gather)
    try:
        asyncio.run(work(writer))
    finally:
        writer.close()
        engine.close()


def test_writes_nobody_waits_on_durably_gather_until_a_durable_one_comes(tmp_path: Path) -> None:
    engine = CountingEngine(tmp_path)

    async def work(writer: ThreadWriter) -> None:
        started = time.monotonic()
        step = writer.write(Write(nothing), False)  # a message's step: waited, not durable
        writer.submit(Write(nothing))  # a record
        await asyncio.sleep(0.05)
        later = writer.write(Write(nothing), False)
        await asyncio.sleep(0.05)
        assert not step.done() and not later.done()  # gathering
        await asyncio.gather(step, later, writer.write(Write(nothing), True))  # a 250's
        assert time.monotonic() - started < 10  # not the gathering's 30 s

    _gathering(engine, 30.0, work)
    assert engine.transactions == [(4, True)]


def test_a_gathered_batch_commits_when_its_time_is_up(tmp_path: Path) -> None:
    engine = CountingEngine(tmp_path)

    async def work(writer: ThreadWriter) -> None:
        started = time.monotonic()
        await writer.write(Write(nothing), False)
        assert 0.2 <= time.monotonic() - started < 10

    _gathering(engine, 0.2, work)
    assert engine.transactions == [(1, False)]
