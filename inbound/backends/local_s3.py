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

import errno
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from inbound.backends.errors import BackendError
from inbound.backends.local import checked_under
from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import Bucket, StoredObject
from inbound.store import Store
from inbound.timestamps import now_iso

NAME_MAX = 255  # bytes in one path segment (Linux, macOS)
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


def _natural(key: str) -> bool:
    """Whether `DATA/s3/<bucket>/<key>` can stand for the key, as far as the key alone tells."""
    return all(
        part not in ("", ".", "..") and "\0" not in part and len(part.encode()) <= NAME_MAX
        for part in key.split("/")
    )


def _write_atomically(path: str, body: bytes, partial: str) -> None:
    """Readers never see a partial file: write it in `partial` (same file system), then
    rename it over `path`. Folders are made only when missing (a stat per object was a
    measurable cost)."""
    try:
        _replace_with(path, body, partial)
    except FileNotFoundError:
        os.makedirs(partial, exist_ok=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _replace_with(path, body, partial)


def _replace_with(path: str, body: bytes, partial: str) -> None:
    tmp = f"{partial}/{new_uuid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)  # a full disk, a missing folder: nothing half-written stays behind
        raise


def _is_path_clash(exc: OSError) -> bool:
    """The key's path is taken by a folder, or one of its folders by a file, or too long."""
    return isinstance(exc, IsADirectoryError | NotADirectoryError | FileExistsError) or (
        exc.errno == errno.ENAMETOOLONG
    )


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
    _folders: dict[str, str] = field(init=False, default_factory=dict)  # by bucket, `_write`'s

    def __post_init__(self) -> None:
        self.keyed = self.root.with_name("s3-keyed")

    def discard_partial(self) -> int:
        """Delete the writes a killed server left unfinished; how many there were. Only `serve`
        calls it: one server per data dir, whose writes cannot be in progress yet."""
        try:
            leftovers = list(self.partial.iterdir())
        except FileNotFoundError:
            return 0
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def path(self, bucket: str, key: str) -> Path:
        """The natural file of `key` (`DATA/s3/<bucket>/<key>`)."""
        return checked_under(self.root, bucket, key)

    def file(self, record: StoredObject) -> Path:
        if record.hashed:
            return self._hashed_path(record.bucket, record.key)
        return self.path(record.bucket, record.key)

    def _hashed_path(self, bucket: str, key: str) -> Path:
        return under(self.keyed, bucket, hashlib.sha256(key.encode()).hexdigest())

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
        self, bucket: str, key: str, body: bytes, metadata: Mapping[str, str], message_id: str
    ) -> None:
        """What the actions write (the ObjectStore protocol)."""
        await self.write_object(bucket, key, body, metadata, message_id)

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        """SES's setup object (the ObjectStore protocol): the bucket checked, then the write
        queued in the store's writer without waiting for it; the rule's own commit, queued
        after it, is the one wait of a CreateReceiptRule (it was two: benchmarks/RESULTS.md,
        "API scaling"). What could refuse it is checked before it is queued: the bucket's
        name, a bucket a strict server does not have."""
        await self._writable(bucket)
        created, etag = now_iso(), hashlib.md5(body, usedforsecurity=False).hexdigest()

        def write_file() -> StoredObject:
            hashed = self._write(bucket, key, body)
            return StoredObject(bucket, key, len(body), {}, message_id, created, {}, etag, hashed)

        self.store.submit_object(write_file, self._remove_file)

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
    ) -> StoredObject:
        """`headers`: the system metadata to answer with (Content-Type...); `durable` when an
        API call's success must mean the object is on disk."""
        await self._writable(bucket)
        created = now_iso()

        def write_file() -> StoredObject:
            return StoredObject(
                bucket=bucket,
                key=key,
                size=len(body),
                metadata=dict(metadata),
                message_id=message_id,
                created=created,
                headers=dict(headers or {}),
                etag=hashlib.md5(body, usedforsecurity=False).hexdigest(),
                hashed=self._write(bucket, key, body),
            )

        return await self.store.add_object(write_file, self._remove_file, durable=durable)

    def _write(self, bucket: str, key: str, body: bytes) -> bool:
        """Write the file (in the store's writer thread); whether under the key's hash.

        A natural key's path is joined as text to its bucket's folder (made by `under()`):
        `_natural` refuses every segment `under()` would (`..`, a NUL, a leading `/`) and the
        ones that would not name the key's own file; pathlib's parsing cost more than the
        rest of the write's Python."""
        partial = str(self.partial)
        if _natural(key):
            try:
                _write_atomically(f"{self._folder(bucket)}/{key}", body, partial)
                return False
            except OSError as exc:
                if not _is_path_clash(exc):
                    raise
        _write_atomically(str(self._hashed_path(bucket, key)), body, partial)
        return True

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

    def _remove_file(self, record: StoredObject) -> None:
        """In the store's writer thread, with the change to the object's record."""
        self.file(record).unlink(missing_ok=True)
