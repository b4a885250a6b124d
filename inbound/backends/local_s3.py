"""The embedded S3: buckets and objects in the data dir, their records in the store.

An object's file is `DATA/s3/<bucket>/<key>`, so a bucket reads as a folder tree. S3 keys are
any UTF-8 up to 1,024 bytes, and some cannot be a path there: `a//b`, `./x`, `../x`, a
segment over 255 bytes, `k` when `k/x` exists (or the other way round). Those are written
as `DATA/s3-keyed/<bucket>/<sha256 of the key>` instead, and the record says so
(`StoredObject.hashed`), so every key S3 takes is stored and read back as it was given.

Buckets are records of their own (`Bucket`): made by CreateBucket (api/aws/s3), or by the
first write to them unless the server is strict (`[backends] strict`), which refuses a write
to a bucket nobody made, as S3 does.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from inbound.backends.errors import BackendError, checked_under
from inbound.backends.s3_files import (
    IN_BAND,
    ObjectFile,
    file_of,
    remove_file,
    stage,
)
from inbound.records import Bucket, StoredObject
from inbound.store import Store, bodies
from inbound.timestamps import now_iso

# The bucket of SES's own "location that it manages" for export jobs (api/v2/operations/
# export_jobs.py): SES's, so it exists even when the server is strict.
EXPORT_BUCKET = "ses-export-jobs"


class NoSuchBucket(BackendError):
    def __init__(self, bucket: str) -> None:
        super().__init__(f"NoSuchBucket: {bucket}")
        self.bucket = bucket


class NoSuchKey(BackendError):
    def __init__(self, bucket: str, key: str, where: Path) -> None:
        super().__init__(f"NoSuchKey: s3://{bucket}/{key} (in {where})")
        self.bucket, self.key = bucket, key


@dataclass
class LocalObjectStore:
    """Each object is written in `partial` first and renamed into its bucket, so a bucket
    never holds a half-written or temporary file, even after a kill -9; what a killed server
    left in `partial` goes at the next start (`discard_partial`)."""

    root: Path
    store: Store
    partial: Path
    region: str = "us-east-1"  # of the buckets made by a first write
    strict: bool = False  # a write to a bucket nobody made fails, as on S3
    keyed: Path = field(init=False)
    _folders: dict[str, str] = field(init=False, default_factory=dict)  # by bucket, `_file`'s
    # what removes an object's file, in the store's writer with the change to its record
    _remove_file: Callable[[StoredObject], None] = field(init=False)

    def __post_init__(self) -> None:
        self.keyed = self.root.with_name("s3-keyed")
        self._remove_file = functools.partial(remove_file, str(self.root), str(self.keyed))

    def discard_partial(self) -> int:
        """Delete the writes a killed server left unfinished; how many there were. Only `serve`
        calls it: one server per data dir, whose writes cannot be in progress yet."""
        return bodies.discard_partial(self.partial)

    def path(self, bucket: str, key: str) -> Path:
        """The natural file of `key` (`DATA/s3/<bucket>/<key>`)."""
        return checked_under(self.root, bucket, key)

    def file(self, record: StoredObject) -> Path:
        return file_of(self.root, self.keyed, record)

    # ── buckets ──────────────────────────────────────────────────────────────────────────────
    async def create_bucket(self, name: str, region: str) -> bool:
        """Whether it is new (False: it existed, and stays as it was)."""
        return await self.store.add_bucket(Bucket(name, region, now_iso()))

    def bucket(self, name: str) -> Bucket | None:
        return self.store.bucket(name)

    async def _writable(self, bucket: str) -> None:
        """A bucket an object may be written to: a safe name, made on first use unless
        strict."""
        if "\0" in bucket or "/" in bucket or bucket in ("", ".", ".."):
            raise BackendError(f"refusing unsafe bucket name: {bucket!r}")
        await self._require_bucket(bucket)

    async def _require_bucket(self, name: str) -> None:
        if self.store.bucket(name) is not None:
            return
        if self.strict and name != EXPORT_BUCKET:
            raise NoSuchBucket(name)
        await self.create_bucket(name, self.region)

    # ── objects ──────────────────────────────────────────────────────────────────────────────
    async def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str,
        prefix: bytes = b"",
    ) -> None:
        """What the actions write (the ObjectStore protocol)."""
        await self.write_object(bucket, key, body, metadata, message_id, prefix=prefix)

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        """SES's setup object (the ObjectStore protocol): the bucket checked, then the write
        queued in the store's writer without waiting for it; the rule's own commit, queued
        after it, is the one wait of a CreateReceiptRule (it was two: benchmarks/RESULTS.md,
        "API scaling"). What could refuse it is checked before it is queued: the bucket's
        name, a bucket a strict server does not have."""
        await self._writable(bucket)
        record = StoredObject(bucket, key, len(body), {}, message_id, now_iso())
        self.store.submit_object(self._file(record, body), self._remove_file)

    async def write_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str | None,
        headers: Mapping[str, str] | None = None,
        *,
        durable: bool = False,
        prefix: bytes = b"",
    ) -> StoredObject:
        """The object `prefix + body` (`ObjectStore.put_object`). `headers`: the system
        metadata to answer with (Content-Type...); `durable` when an API call's success must
        mean the object is on disk."""
        await self._writable(bucket)
        size = len(prefix) + len(body)
        record = StoredObject(
            bucket=bucket,
            key=key,
            size=size,
            metadata=dict(metadata),
            message_id=message_id,
            created=now_iso(),
            headers=dict(headers or {}),
        )
        if size <= IN_BAND:
            return await self.store.add_object(
                self._file(record, prefix + body), self._remove_file, durable=durable
            )
        # Staged in a thread, so that the writer only renames it (s3_files.stage); removed
        # once written: the object's file is a link of its own by then.
        staged, etag = await asyncio.to_thread(stage, str(self.partial), prefix, body)
        file = self._file(replace(record, etag=etag), b"", staged)
        try:
            return await self.store.add_object(file, self._remove_file, durable=durable)
        finally:
            os.unlink(staged)

    def _file(self, record: StoredObject, body: bytes, staged: str = "") -> ObjectFile:
        return ObjectFile(
            self._folder(record.bucket), str(self.keyed), str(self.partial), record, body, staged
        )

    def _folder(self, bucket: str) -> str:
        found = self._folders.get(bucket)
        if found is None:
            found = self._folders[bucket] = str(checked_under(self.root, bucket))
        return found

    def stored_object(self, bucket: str, key: str) -> StoredObject:
        found = self.store.stored_object(bucket, key)
        if found is None:
            raise NoSuchKey(bucket, key, self.root.parent)
        return found

    def read(self, record: StoredObject, start: int = 0, length: int | None = None) -> bytes:
        """The object's bytes from `start` (all, or `length` of them): blocking file I/O."""
        try:
            with self.file(record).open("rb") as f:
                f.seek(start)
                return f.read(-1 if length is None else length)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NoSuchKey(record.bucket, record.key, self.root.parent) from None

    async def get_object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        record = self.stored_object(bucket, key)
        return self.read(record), record.metadata

    async def delete_object(self, bucket: str, key: str) -> None:
        await self.store.delete_object(bucket, key, self._remove_file)
