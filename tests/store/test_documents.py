"""The documents' copy (inbound/store/documents.py): reads, and the records decoded from them,
see a write as soon as it is queued, a write that fails leaves the stored document readable,
and a caller that stops waiting does not stop the write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inbound.store import StorageError, Store
from tests import disks

KIND = "test.kind"


def test_a_queued_write_is_read_at_once_and_a_cancelled_wait_still_writes(tmp_path: Path) -> None:
    async def run() -> None:
        store = Store(tmp_path)
        store.open()
        try:
            write = store.put_document(KIND, "a", {"v": 1})
            assert store.document(KIND, "a") == {"v": 1}  # before the commit
            write.cancel()  # the caller went away: the write goes on
            await store.flush()
            assert _stored(tmp_path) == {"v": 1}
            assert store.documents(KIND) == {"a": {"v": 1}}  # read once, kept from here
            decoded = store.records(KIND, _decode)
            assert decoded == {"a": ("a", 1)}
            assert store.records(KIND, _decode) is decoded  # kept: no JSON parsed again
            adding = store.put_document(KIND, "b", {"v": 2})
            assert store.documents(KIND) == {"a": {"v": 1}, "b": {"v": 2}}
            assert store.records(KIND, _decode) == {"a": ("a", 1), "b": ("b", 2)}
            await adding
            other = store.put_document("test.other", "c", {"v": 3})
            assert store.documents("test.other") == {"c": {"v": 3}}  # first read, not committed
            await other
            deleting = store.delete_document(KIND, "a")
            assert store.document(KIND, "a") is None
            assert store.documents(KIND) == {"b": {"v": 2}}
            assert store.records(KIND, _decode) == {"b": ("b", 2)}
            await deleting
        finally:
            store.close()
        assert _stored(tmp_path) is None

    asyncio.run(run())


def _decode(key: str, body: dict[str, int]) -> tuple[str, int]:
    return key, body["v"]


def _stored(data_dir: Path) -> object:
    """The document as a store that has not seen the writes reads it."""
    other = Store(data_dir)
    other.open(read_only=True)
    try:
        return other.document(KIND, "a")
    finally:
        other.close()


def test_a_write_the_disk_cannot_take_leaves_the_stored_document(tmp_path: Path) -> None:
    with disks.tmpfs(tmp_path / "disk", "8m") as disk:

        async def run() -> None:
            store = Store(disk / "data")
            store.open()
            try:
                await store.put_document(KIND, "a", {"v": 1})
                ballast = disks.fill(disk)
                assert store.documents(KIND) == {"a": {"v": 1}}
                with pytest.raises(StorageError):
                    await store.put_document(KIND, "a", {"v": "x" * 1_000_000})
                assert store.document(KIND, "a") == {"v": 1}
                assert store.documents(KIND) == {"a": {"v": 1}}
                ballast.unlink()
            finally:
                store.close()

        asyncio.run(run())
