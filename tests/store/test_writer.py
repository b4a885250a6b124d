"""SES's setup object, written when a rule naming an embedded bucket is saved, is queued in the
store's writer without waiting, ahead of the rule's own commit: the save waits for one commit,
and the object is committed by then (issue 15 item 8). Observed on the real SQLite engine, its
transactions counted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from inbound.api.query.operations.receipt_rules import SETUP_KEY, SETUP_MESSAGE
from inbound.backends.local_s3 import LocalObjectStore
from inbound.store import Store
from inbound.store.engine import Job
from inbound.store.sqlite import SqliteEngine

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
