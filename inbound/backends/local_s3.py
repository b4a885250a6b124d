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
import functools
import hashlib
import os
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inbound.backends.errors import BackendError
from inbound.backends.local import checked_under
from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import Bucket, StoredObject
from inbound.store import Store
from inbound.timestamps import now_iso

NAME_MAX = 255  # bytes in one path segment (Linux, macOS)
IN_BAND = 64 * 1024  # a larger object's bytes are pickled out of band (`ObjectFile`)
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


@dataclass(frozen=True, slots=True)
class ObjectFile:
    """An object's file, written by the store's writer (a process, or a thread: it pickles)
    before it inserts the record this returns, in the same transaction: the event loop does
    not wait on the file system (profiled: a fifth of its work per message). The record
    gets its ETag there (an MD5 of every received message was 5% of the event loop's work)
    and says whether the file is under the key's hash.

    A natural key's path is joined as text to its bucket's folder (`folder`, made by
    `under()`): `_natural` refuses every segment `under()` would (`..`, a NUL, a leading `/`)
    and the ones that would not name the key's own file; pathlib's parsing cost more than
    the rest of the write's Python."""

    folder: str
    keyed: str
    partial: str
    record: StoredObject  # its ETag and `hashed` are the call's
    body: bytes

    def __reduce__(self) -> tuple[Any, ...]:
        """Flat, as text and bytes: dataclasses' and paths' own pickling cost the event loop
        four times as much. A large body goes out of band (inbound/frames.py): from the
        message's own bytes to the pipe, no copy of it held meanwhile."""
        r = self.record
        record = (r.bucket, r.key, r.size, r.metadata, r.message_id, r.created, r.headers)
        body = pickle.PickleBuffer(self.body) if len(self.body) > IN_BAND else self.body
        return (_object_file, (self.folder, self.keyed, self.partial, body, *record))

    def __call__(self) -> StoredObject:
        record = self.record
        hashed = not self._written_naturally()
        if hashed:
            path = _hashed_path(Path(self.keyed), record.bucket, record.key)
            _write_atomically(str(path), self.body, self.partial)
        etag = hashlib.md5(self.body, usedforsecurity=False).hexdigest()
        return replace(record, etag=etag, hashed=hashed)

    def _written_naturally(self) -> bool:
        """Whether the file went to the key's own path (not when the key cannot name one, or
        a folder or a file is in its way)."""
        key = self.record.key
        if not _natural(key):
            return False
        try:
            _write_atomically(f"{self.folder}/{key}", self.body, self.partial)
        except OSError as exc:
            if not _is_path_clash(exc):
                raise
            return False
        return True


def _object_file(folder: str, keyed: str, partial: str, body: bytes, *record: Any) -> ObjectFile:
    return ObjectFile(folder, keyed, partial, StoredObject(*record), body)


def file_of(root: Path, keyed: Path, record: StoredObject) -> Path:
    if record.hashed:
        return _hashed_path(keyed, record.bucket, record.key)
    return checked_under(root, record.bucket, record.key)


def remove_file(root: str, keyed: str, record: StoredObject) -> None:
    """What removes an object's file: module-level, with text paths, so that the store's
    writer (a process) is sent it cheaply."""
    file_of(Path(root), Path(keyed), record).unlink(missing_ok=True)


def _hashed_path(keyed: Path, bucket: str, key: str) -> Path:
    return under(keyed, bucket, hashlib.sha256(key.encode()).hexdigest())


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
    _folders: dict[str, str] = field(init=False, default_factory=dict)  # by bucket, `_file`'s
    # what removes an object's file, in the store's writer with the change to its record
    _remove_file: Callable[[StoredObject], None] = field(init=False)

    def __post_init__(self) -> None:
        self.keyed = self.root.with_name("s3-keyed")
        self._remove_file = functools.partial(remove_file, str(self.root), str(self.keyed))

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
    ) -> StoredObject:
        """`headers`: the system metadata to answer with (Content-Type...); `durable` when an
        API call's success must mean the object is on disk."""
        await self._writable(bucket)
        record = StoredObject(
            bucket=bucket,
            key=key,
            size=len(body),
            metadata=dict(metadata),
            message_id=message_id,
            created=now_iso(),
            headers=dict(headers or {}),
        )
        file = self._file(record, body)
        return await self.store.add_object(file, self._remove_file, durable=durable)

    def _file(self, record: StoredObject, body: bytes) -> ObjectFile:
        return ObjectFile(
            self._folder(record.bucket), str(self.keyed), str(self.partial), record, body
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
