"""Message bodies kept as files: the large ones, written to disk by the SMTP session as they
arrive instead of being held whole in memory (issue 18 item 2), and the large messages the
Send* operations and the SMTP interface accepted (`sent/<MessageId>`, store/sent.py).

A body above the SMTP reader's spool threshold (receiving/data.py) is written to a new file in
`spool-partial/` while DATA comes in, fsynced at its end, and renamed to `spool/<message id>`
(the folder fsynced too) before the message's row commits: the row is what makes the message
accepted, and it is never on disk without its body. Smaller bodies stay in the spool table,
where one group commit makes many of them durable at once (spec benchmarking.md).

Why files and not blobs for the large ones: a 40 MB blob would go through the WAL and again
into the database at checkpoint (twice the writes), hold the one writer thread, and every
other session's commit behind it, for the whole write; and the bytes are already on disk in
the file the session wrote. A kill leaves at most a partial file, or a body whose row was
never committed: `discard_orphans()` removes both at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from inbound.datadir import UnsafePath, under
from inbound.ids import new_uuid
from inbound.store.writer import StorageError

T = TypeVar("T")
SPOOL = "spool"
PARTIAL = "spool-partial"
_WRITE_SIZE = 256 * 1024  # bytes gathered before a write: few thread hand-offs, little held


@dataclass(frozen=True)
class SpooledBody:
    """A whole message in a file of `spool-partial/`, fsynced: what `BodyWriter.finish`
    returns and `Store.spool` takes."""

    path: Path
    size: int


class BodyWriter:
    """One message's bytes into a new file of `partial`, as they arrive. Writes go to a thread
    in pieces of about 256 KiB, so the event loop never waits on the disk (a loaded disk throttles
    writers) and a session holds at most that much. Disk failures are `StorageError`."""

    def __init__(self, partial: Path) -> None:
        self._path = partial / new_uuid()
        self._fd: int | None = None
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0

    async def write(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        self.size += len(data)
        if self._pending_size >= _WRITE_SIZE:
            await self._flush()

    async def finish(self) -> SpooledBody:
        """Everything written and fsynced; the file is the caller's from here."""
        await self._flush()
        fd = self._fd
        self._fd = None
        if fd is not None:
            await _in_thread(_sync_and_close, fd)
        return SpooledBody(self._path, self.size)

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._path.unlink(missing_ok=True)

    async def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if self._fd is None:
            self._fd = await _in_thread(_create, self._path)
        await _in_thread(_write_all, self._fd, data)


def adopt(body: SpooledBody, path: Path) -> None:
    """Rename a finished body to `path` durably (its folder fsynced, made when missing)."""
    try:
        os.replace(body.path, path)
    except FileNotFoundError:
        if not body.path.exists():
            raise
        path.parent.mkdir(parents=True, exist_ok=True)
        _sync_folder(path.parent.parent)
        os.replace(body.path, path)
    _sync_folder(path.parent)


async def keep(data: bytes, partial: Path, path: Path) -> None:
    """`data` as the file `path`, durably: written to a new file of `partial` (in a thread),
    fsynced, then `adopt`ed. Disk failures are `StorageError`, and leave no file in `partial`."""
    writer = BodyWriter(partial)
    try:
        await writer.write(data)
        await _in_thread(adopt, await writer.finish(), path)
    except BaseException:
        writer.discard()
        raise


@contextlib.contextmanager
def kept_only_if_recorded(path: Path | None) -> Iterator[None]:
    """The body file `path` is deleted if the block fails: it holds the write of the message's
    row, and a message not accepted leaves no body."""
    try:
        yield
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def named(folder: Path, message_id: str) -> Path | None:
    """Where the body of `message_id` would be kept in `folder`; None for an id no message
    has, because it cannot be a file name there (a request's, with a NUL or a `..`)."""
    try:
        return under(folder, message_id)
    except UnsafePath:
        return None


def discard_partial(partial: Path) -> int:
    """Delete what a killed server left half-written; how many there were."""
    try:
        leftovers = list(partial.iterdir())
    except FileNotFoundError:
        return 0
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)
    return len(leftovers)


def discard_unrecorded(folder: Path, recorded: Callable[[str], bool]) -> int:
    """Delete the files of `folder` whose message is not `recorded` (its row never committed:
    a kill between the file and the row); how many."""
    try:
        found = [entry.name for entry in folder.iterdir()]
    except FileNotFoundError:
        return 0
    unrecorded = [name for name in found if not recorded(name)]
    for name in unrecorded:
        (folder / name).unlink(missing_ok=True)
    return len(unrecorded)


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(fn, *args)
    except OSError as exc:  # ENOSPC, EROFS, EIO: the client is answered 451 and retries
        raise StorageError(str(exc)) from exc


def _create(path: Path) -> int:
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_and_close(fd: int) -> None:
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
