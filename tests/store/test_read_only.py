"""A store opened read-only creates nothing (no folder, database, table or WAL file) and
refuses writes: what `inbound s3 get` opens."""

from __future__ import annotations

import asyncio

import pytest

from inbound.store import Store


def test_a_missing_data_dir_reads_as_empty_and_stays_missing(tmp_path) -> None:
    store = Store(tmp_path / "data")
    store.open(read_only=True)
    try:
        assert store.stored_object("mail", "k") is None
        assert store.document("receipt", "state") is None
    finally:
        store.close()
    assert not (tmp_path / "data").exists()


def test_a_database_is_read_as_it_is_and_not_written(tmp_path) -> None:
    async def write() -> None:
        store = Store(tmp_path)
        store.open()
        try:
            await store.put_document("kind", "key", {"a": 1})
        finally:
            store.close()

    asyncio.run(write())
    before = sorted(p.name for p in tmp_path.iterdir())
    store = Store(tmp_path)
    store.open(read_only=True)
    try:
        assert store.document("kind", "key") == {"a": 1}
        with pytest.raises(AssertionError, match="not open for writing"):
            asyncio.run(store.put_document("kind", "key", {"a": 2}))
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == before == ["inbound.sqlite3"]
