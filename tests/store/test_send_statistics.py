"""The sending statistics are a row per Region and 15-minute bucket (store/statistics.py): a
send's count is the same statements however many buckets the two weeks hold, and the
statistics document of earlier releases becomes rows when a store opens, on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inbound.sending import configuration as rules
from inbound.sending.service import SendingConfiguration
from inbound.store import Store
from inbound.store.sent import SentBody
from tests.store.test_sent import message

REGION = "us-east-1"
TWO_WEEKS = 14 * 24 * 4  # 15-minute buckets


def buckets(n: int) -> list[str]:
    """The last `n` buckets, the current one first."""
    now = rules.now()
    return [rules.bucket(now - i * rules.BUCKET) for i in range(n)]


def _statements_of_a_send(store: Store, sent_id: str) -> list[str]:
    """The statements (their parameters in them) of the transaction of one send's store_sent,
    as SQLite's writer runs them."""
    writer: sqlite3.Connection = store._engine._writer  # type: ignore[attr-defined]
    traced: list[str] = []

    async def send() -> None:
        sending = SendingConfiguration(store)
        await sending.store_sent(REGION, message("first"), SentBody(b"x"), 1, maximum=1e9)
        writer.set_trace_callback(traced.append)
        await sending.store_sent(REGION, message(sent_id), SentBody(b"x"), 1, maximum=1e9)
        writer.set_trace_callback(None)

    asyncio.run(send())
    return traced


def _with_buckets(data_dir: Path, starts: list[str]) -> Store:
    store = Store(data_dir)
    store.open()
    store.close()
    with sqlite3.connect(data_dir / "inbound.sqlite3") as conn:
        conn.executemany(
            "INSERT INTO send_statistics VALUES (?, ?, 1, 0, 0, 0)", [(REGION, s) for s in starts]
        )
    store = Store(data_dir)
    store.open()
    return store


def test_a_sends_writes_do_not_grow_with_the_buckets_kept(tmp_path: Path) -> None:
    """With two weeks of buckets (1,344) a send writes what it writes with one: the same
    statements, of the same length (the statistics document was written whole by each send:
    with 1,344 buckets, 132 KB)."""
    written = {}
    for n in (1, TWO_WEEKS):
        store = _with_buckets(tmp_path / str(n), buckets(n))
        try:
            written[n] = _statements_of_a_send(store, "second")
            assert len(store.send_statistics(REGION, "")) == n
        finally:
            store.close()
    assert any("send_statistics" in s for s in written[1])
    assert [len(s) for s in written[TWO_WEEKS]] == [len(s) for s in written[1]]


def _old_document() -> tuple[dict[str, Any], list[str]]:
    """An earlier release's statistics document: the current bucket, one of three days ago and
    one older than two weeks (which a send would have dropped)."""
    now = rules.now()
    starts = [rules.bucket(now - timedelta(days=d)) for d in (15, 3, 0)]
    counts = [
        {"DeliveryAttempts": 5, "Bounces": 1, "Complaints": 0, "Rejects": 0},
        {"DeliveryAttempts": 7, "Bounces": 0, "Complaints": 2, "Rejects": 1},
        {"DeliveryAttempts": 3, "Bounces": 0, "Complaints": 0, "Rejects": 0},
    ]
    return {"buckets": dict(zip(starts, counts, strict=True))}, starts


def _check_moved(store: Store, document: dict[str, Any], starts: list[str]) -> None:
    """The document's buckets are rows, the document is gone, and GetSendStatistics and
    GetSendQuota report what they reported from the document."""
    assert store.send_statistics(REGION, "") == sorted(document["buckets"].items())
    assert store.document("sending.statistics", REGION) is None
    sending = SendingConfiguration(store)
    points = sending.data_points(REGION)
    assert points == [{"Timestamp": s, **document["buckets"][s]} for s in starts[1:]]
    assert sending.sent_last_24_hours(REGION) == 3.0
    assert sending.queued_last_24_hours(REGION) == 3.0


def test_the_statistics_document_of_an_earlier_release_becomes_rows(tmp_path: Path) -> None:
    document, starts = _old_document()
    store = Store(tmp_path)
    store.open()
    store.close()
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as conn:
        conn.execute(
            "INSERT INTO documents VALUES ('sending.statistics', ?, ?, 't')",
            (REGION, json.dumps(document)),
        )
    for _ in range(2):  # and once moved, opening again changes nothing
        store = Store(tmp_path)
        store.open()
        try:
            _check_moved(store, document, starts)
        finally:
            store.close()


def test_postgresql_version_7_moves_the_statistics_document_into_rows(
    tmp_path: Path, postgres_url: str
) -> None:
    psycopg = pytest.importorskip("psycopg")
    from inbound.store.postgresql import PostgresStore
    from inbound.store.postgresql.schema import MIGRATIONS, VERSION_TABLE

    document, starts = _old_document()
    with psycopg.connect(postgres_url) as conn:
        conn.execute(VERSION_TABLE)
        for migration in MIGRATIONS[:6]:
            conn.execute(migration)
        conn.execute("INSERT INTO schema_version VALUES (6)")
        conn.execute(
            "INSERT INTO documents VALUES ('sending.statistics', %s, %s, 't')",
            (REGION, json.dumps(document)),
        )
    store = PostgresStore(tmp_path / "engine", postgres_url)
    store.open()
    try:
        _check_moved(store, document, starts)
    finally:
        store.close()
