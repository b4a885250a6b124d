"""The embedded S3's files: where an object's file is, and how the store's writer puts it
there (backends/local_s3.py has the rest). Apart from local_s3, and importing neither asyncio
nor the store: the writer is a process of its own (store/writer_child.py) that loads this to
run an `ObjectFile`, and each module it loads stays in its memory.

An object's file is `DATA/s3/<bucket>/<key>`, or `DATA/s3-keyed/<bucket>/<sha256 of the key>`
when the key cannot be a path there (`_natural`, `_is_path_clash`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from inbound.backends.errors import checked_under
from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import StoredObject

NAME_MAX = 255  # bytes in one path segment (Linux, macOS)
IN_BAND = 64 * 1024  # a larger object's bytes are staged by the server (`stage`)


def _natural(key: str) -> bool:
    """Whether `DATA/s3/<bucket>/<key>` can stand for the key, as far as the key alone tells."""
    return all(
        part not in ("", ".", "..") and "\0" not in part and len(part.encode()) <= NAME_MAX
        for part in key.split("/")
    )


def stage(partial: str, *parts: bytes) -> tuple[str, str]:
    """The object that `parts` make as a new file of `partial`, and its ETag (an MD5): a large
    object's, written by the server (in a thread) before its `ObjectFile` goes to the store's
    writer, which then only links it into place. The body goes to the disk once, never joined
    (the S3 action's headers, then the message) nor through the writer's pipe: a 1 MB body had
    been held by both processes, several times (benchmarks/RESULTS.md, "Issue 15")."""
    tmp = f"{partial}/{new_uuid()}"
    try:
        _write_new(tmp, *parts)
    except FileNotFoundError:
        os.makedirs(partial, exist_ok=True)
        _write_new(tmp, *parts)
    etag = hashlib.md5(usedforsecurity=False)
    for part in parts:
        etag.update(part)
    return tmp, etag.hexdigest()


def _put(path: str, body: bytes | str, partial: str) -> None:
    """Readers never see a partial file: `body` (its bytes, or a file `stage` wrote) becomes
    a new file of `partial` (same file system), renamed over `path`. A staged file is linked,
    not moved: it stays for a transaction replayed after another write's failure
    (store/batch.py), and the server removes it once the write is done. Folders are made only
    when missing (a stat per object was a measurable cost)."""
    try:
        _replace_with(path, body, partial)
    except FileNotFoundError:
        os.makedirs(partial, exist_ok=True)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _replace_with(path, body, partial)


def _replace_with(path: str, body: bytes | str, partial: str) -> None:
    tmp = f"{partial}/{new_uuid()}"
    if isinstance(body, str):
        os.link(body, tmp)
    else:
        _write_new(tmp, body)
    try:
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)  # a missing folder, a clash: nothing stays behind
        raise
    if isinstance(body, str):  # replayed: `path` was this file already, and rename(2) left it
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_new(path: str, *parts: bytes) -> None:
    """`parts` in turn as the new file `path`; none left if it fails (a full disk)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            for part in parts:
                view = memoryview(part)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
    except BaseException:
        os.unlink(path)
        raise


@dataclass(frozen=True, slots=True)
class ObjectFile:
    """An object's file, put in place by the store's writer (a process, or a thread: it
    pickles) before it inserts the record this returns, in the same transaction: the event
    loop does not wait on the file system (profiled: a fifth of its work per message). The
    record says whether the file is under the key's hash, and has its ETag: hashed there for
    a small body (an MD5 of every received message was 5% of the event loop's work), by
    `stage` for a large one, whose file `staged` names (`body` is then empty).

    A natural key's path is joined as text to its bucket's folder (`folder`, made by
    `under()`): `_natural` refuses every segment `under()` would (`..`, a NUL, a leading `/`)
    and the ones that would not name the key's own file; pathlib's parsing cost more than
    the rest of the write's Python."""

    folder: str
    keyed: str
    partial: str
    record: StoredObject  # `hashed` is the call's; the ETag too, unless staged
    body: bytes
    staged: str = ""

    def __reduce__(self) -> tuple[Any, ...]:
        """Flat, as text and bytes: dataclasses' and paths' own pickling cost the event loop
        four times as much."""
        r = self.record
        record = (r.bucket, r.key, r.size, r.metadata, r.message_id, r.created, r.headers, r.etag)
        where = (self.folder, self.keyed, self.partial)
        return (_object_file, (*where, self.body, self.staged, *record))

    def __call__(self) -> StoredObject:
        record = self.record
        body = self.staged or self.body
        hashed = not self._put_naturally(body)
        if hashed:
            path = _hashed_path(Path(self.keyed), record.bucket, record.key)
            _put(str(path), body, self.partial)
        etag = record.etag or hashlib.md5(self.body, usedforsecurity=False).hexdigest()
        return replace(record, etag=etag, hashed=hashed)

    def _put_naturally(self, body: bytes | str) -> bool:
        """Whether the file went to the key's own path (not when the key cannot name one, or
        a folder or a file is in its way)."""
        key = self.record.key
        if not _natural(key):
            return False
        try:
            _put(f"{self.folder}/{key}", body, self.partial)
        except OSError as exc:
            if not _is_path_clash(exc):
                raise
            return False
        return True


def _object_file(
    folder: str, keyed: str, partial: str, body: bytes, staged: str, *record: Any
) -> ObjectFile:
    return ObjectFile(folder, keyed, partial, StoredObject(*record), body, staged)


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
