"""A received body and an SNS notification kept compressed in SQLite (store/packing.py): what
goes in comes back byte for byte, through the writer process as `inbound serve` runs it; rows
from a data dir made before (no `codec`) still read; PostgreSQL keeps them as they are."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import lz4.frame
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.records import Notification
from inbound.store import StorageError, Store
from inbound.store.packing import LZ4, SMALLEST, packed, unpacked_bytes, unpacked_text
from inbound.store.postgresql import PostgresStore
from tests.store.conftest import pending

MESSAGE = b"Subject: packed\r\n\r\n" + b"".join(b"line %d of the body\r\n" % n for n in range(500))
NOTIFICATION = '{"notificationType":"Received","content":"' + "h\u00e9llo \u2603 " * 1500 + '"}'
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


@given(st.one_of(st.binary(max_size=4 * SMALLEST), st.text(max_size=4 * SMALLEST)))
def test_a_value_comes_back_as_it_went_in(value: bytes | str) -> None:
    kept, codec = packed(value)
    if isinstance(value, str):
        assert unpacked_text(kept, codec) == value
    else:
        assert isinstance(kept, bytes) and unpacked_bytes(kept, codec) == value
    size = len(value.encode() if isinstance(value, str) else value)
    if codec is None:  # kept as it is: small, or it did not shrink
        assert kept == value
    else:
        assert codec == LZ4 and size >= SMALLEST and len(kept) < size


@given(st.binary(min_size=SMALLEST, max_size=8 * SMALLEST).map(lambda b: b * 4))
def test_a_value_that_repeats_is_kept_as_a_smaller_lz4_frame(value: bytes) -> None:
    kept, codec = packed(value)
    assert codec == LZ4 and isinstance(kept, bytes) and len(kept) < len(value)
    assert lz4.frame.decompress(kept) == value  # the format of the `lz4` tool


def test_the_body_and_the_notification_are_compressed_in_the_file_and_read_back(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    store.open(process=True)  # the writer process packs, as under `inbound serve`

    async def scenario() -> None:
        await store.save_state("s", "{}")
        await store.spool(pending("m1", len(MESSAGE)), MESSAGE)
        await store.spool(pending("small", 5), b"hello")
        store.add_notification(Notification("n1", TOPIC, "s", NOTIFICATION, "m1", "t"))
        await store.flush()
        assert store.raw("m1") == MESSAGE and await store.read_raw("m1") == MESSAGE
        assert store.raw("small") == b"hello"
        found = store.notification("n1")
        assert found is not None and found.message == NOTIFICATION
        assert [n.message for n in store.notifications()] == [NOTIFICATION]

    try:
        asyncio.run(scenario())
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as db:
        spool = dict(db.execute("SELECT id, codec FROM spool"))
        sizes = dict(db.execute("SELECT id, length(raw) FROM spool"))
        notification = db.execute("SELECT codec, length(message) FROM notifications").fetchone()
    assert spool == {"m1": LZ4, "small": None}
    assert sizes["m1"] < len(MESSAGE) / 4
    assert notification[0] == LZ4 and notification[1] < len(NOTIFICATION.encode()) / 4


def test_rows_of_a_data_dir_made_before_are_read_as_they_are(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as db:  # the tables as they were
        db.execute("CREATE TABLE spool (id TEXT PRIMARY KEY, raw BLOB NOT NULL)")
        db.execute(
            "CREATE TABLE notifications (id TEXT PRIMARY KEY, topic_arn TEXT NOT NULL,"
            " subject TEXT NOT NULL, message TEXT NOT NULL, message_id TEXT,"
            " created TEXT NOT NULL, deliveries TEXT NOT NULL DEFAULT '[]')"
        )
        db.execute("INSERT INTO spool VALUES ('old', ?)", (MESSAGE,))
        db.execute(
            "INSERT INTO notifications VALUES ('n0', ?, 's', ?, 'old', 't', '[]')",
            (TOPIC, NOTIFICATION),
        )
    store = Store(tmp_path)
    store.open()
    try:
        assert store.raw("old") == MESSAGE
        found = store.notification("n0")
        assert found is not None and found.message == NOTIFICATION
    finally:
        store.close()


def test_a_value_that_does_not_unpack_fails_as_the_store_fails(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.open()
    store.close()
    with sqlite3.connect(tmp_path / "inbound.sqlite3") as db:
        db.execute("INSERT INTO spool VALUES ('broken', x'00010203', 'lz4')")
        db.execute("INSERT INTO spool VALUES ('later', x'00', 'zstd')")  # a newer release's
        db.execute(
            "INSERT INTO notifications (id, topic_arn, subject, message, created, codec)"
            " VALUES ('text', 't', 's', 'not a frame', 't', 'lz4')"
        )
    store = Store(tmp_path)
    store.open()
    try:
        with pytest.raises(StorageError, match="does not decompress"):
            store.raw("broken")
        with pytest.raises(StorageError, match="codec this version does not read: 'zstd'"):
            store.raw("later")
        with pytest.raises(StorageError, match="it is text, not an LZ4 frame"):
            store.notification("text")
    finally:
        store.close()


def test_postgresql_keeps_them_as_they_are(tmp_path: Path, postgres_url: str) -> None:
    store = PostgresStore(tmp_path, postgres_url)
    store.open()

    async def scenario() -> None:
        await store.save_state("s", "{}")
        await store.spool(pending("m1", len(MESSAGE)), MESSAGE)
        store.add_notification(Notification("n1", TOPIC, "s", NOTIFICATION, "m1", "t"))
        await store.flush()

    try:
        asyncio.run(scenario())
        assert store.raw("m1") == MESSAGE
        found = store.notification("n1")
        assert found is not None and found.message == NOTIFICATION
        assert store._read("SELECT codec FROM spool WHERE id = ?", ("m1",))[0]["codec"] is None
        codecs = store._read("SELECT codec FROM notifications WHERE id = ?", ("n1",))
        assert codecs[0]["codec"] is None  # TOAST compresses them (schema version 5)
    finally:
        store.close()
