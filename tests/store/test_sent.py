"""A sent message and the statistics that count it are one transaction: the write that fails
stores neither, so a kill between the two cannot keep one without the other. The count is added
to its bucket's row as committed: engines sharing a store, counting at once, add up, and cannot
both pass the last unit of the 24-hour quota (docs/cluster.md). A count's statements do not
grow with the buckets kept (docs/cpu.md, "Sending")."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from inbound.errors import Throttling
from inbound.records import SentMessage, SentStatus
from inbound.sending.service import SendingConfiguration
from inbound.store import Store
from inbound.store.sent import SentBody
from inbound.store.statistics_writes import Count

BODY = SentBody(b"body")

REGION = "us-east-1"
BUCKET = "2026-12-04T15:00:00.000Z"
ROUNDS = 100


def message(message_id: str) -> SentMessage:
    return SentMessage(
        id=message_id,
        operation="SendEmail",
        created="2026-12-04T15:00:00.000Z",
        source="sender@example.com",
        mail_from=f"{message_id}@amazonses.com",
        recipients=("to@example.com",),
        return_path="sender@example.com",
        configuration_set=None,
        tags={},
        status=SentStatus.ACCEPTED,
        size=4,
    )


def attempts(n: int, **fields: object) -> Count:
    return Count(REGION, BUCKET, (n, 0, 0, 0), **fields)  # type: ignore[arg-type]


def counted(store: Store) -> list[int]:
    """The DeliveryAttempts of the bucket, as committed (none: no row)."""
    return [c["DeliveryAttempts"] for _, c in store.send_statistics(REGION, BUCKET)]


def _refuse(sent: float) -> None:
    raise Throttling("Daily message quota exceeded.")


def test_the_message_and_its_count_commit_together(tmp_path) -> None:
    async def run() -> None:
        store = Store(tmp_path)
        store.open()
        try:
            await store.add_sent(message("a"), BODY, counted=attempts(1))
            assert store.sent_pending_ids() == ["a"]
            assert counted(store) == [1]
            # The same id again: the row cannot be inserted, so the count is not written.
            with pytest.raises(sqlite3.IntegrityError):
                await store.add_sent(message("a"), BODY, counted=attempts(2))
            assert counted(store) == [1]
            # A count its check refuses: the message is not stored either.
            with pytest.raises(Throttling):
                await store.add_sent(message("b"), BODY, counted=attempts(1, check=_refuse))
            assert store.sent_pending_ids() == ["a"]
            assert store.sent_raw("b") is None
            assert counted(store) == [1]
        finally:
            store.close()

    asyncio.run(run())


def test_engines_counting_at_once_add_up(tmp_path: Path, postgres_url: str) -> None:
    """Two engines on one database count into the same bucket at once: no count is lost (each
    adds to what the other committed), and each reads both engines' counts."""
    from inbound.store.postgresql import PostgresStore

    engines = [PostgresStore(tmp_path / name, postgres_url) for name in ("a", "b")]
    for store in engines:
        store.open()
    try:

        async def count() -> None:
            for _ in range(ROUNDS):  # each round, both engines commit a count at once
                await asyncio.gather(*(s.count_sending(attempts(1)) for s in engines))

        asyncio.run(count())
        assert [counted(store) for store in engines] == [[2 * ROUNDS]] * 2
    finally:
        for store in engines:
            store.close()


def test_engines_sending_at_once_never_pass_the_last_unit_of_the_quota(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two engines on one database, each with `n` sent and a quota of `n + 1`, store a
    message at once: in every round exactly one is stored and counted, the other is refused
    with SES's Throttling "Daily message quota exceeded." and stores nothing (the quota is
    checked again on the statistics as committed, their row locked, in the write's
    transaction)."""
    from inbound.store.postgresql import PostgresStore

    engines = [PostgresStore(tmp_path / name, postgres_url) for name in ("a", "b")]
    for store in engines:
        store.open()
    try:

        async def race() -> None:
            sending = [SendingConfiguration(store) for store in engines]
            for n in range(ROUNDS // 2):
                sends = [
                    s.store_sent("us-east-1", message(f"{n}-{i}"), BODY, 1, maximum=n + 1)
                    for i, s in enumerate(sending)
                ]
                outcomes = await asyncio.gather(*sends, return_exceptions=True)
                refused = [o for o in outcomes if isinstance(o, Throttling)]
                assert len(refused) == 1, (n, outcomes)
                assert (refused[0].code, refused[0].message) == (
                    "Throttling",
                    "Daily message quota exceeded.",
                )
            for store in engines:
                await store.synced()

        asyncio.run(race())
        assert sum(len(store.sent_pending_ids()) for store in engines) == ROUNDS // 2  # its own
        for store in engines:
            [(_, bucket)] = store.send_statistics(REGION, "")
            assert bucket["DeliveryAttempts"] == ROUNDS // 2
    finally:
        for store in engines:
            store.close()
