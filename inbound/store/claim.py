"""A serving process's claim on its data dir: `server.lock`, held with an exclusive `flock`
while `inbound serve` runs and holding its HTTP address.

Commands that would write into a data dir (`inbound rules apply`, `inbound replay`) ask
`running_server()` first: a server that is running keeps its receipt state in memory and would
never see the change (or would overwrite it), so they refuse and point at `--http` instead. The
operating system drops the lock when the process ends, however it ends, so a crashed server
leaves nothing to clean up.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from inbound.store.writer import StorageError

LOCK_FILE = "server.lock"
MAX_ADDRESS = 512  # what is read back of the file: an HTTP URL


class DataDirInUse(StorageError):
    """Another server holds the data dir."""


class Claim:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    @classmethod
    def take(cls, data_dir: Path) -> Claim:
        """Claim `data_dir` (creating it) or raise `DataDirInUse` naming the holder."""
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(str(exc)) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _address(fd)
            os.close(fd)
            raise DataDirInUse(f"the data dir is in use by the server at {holder}") from None
        return cls(fd)

    def announce(self, http_url: str) -> None:
        """Write the bound HTTP address, for the refusals of `running_server()`'s callers."""
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, http_url.encode(), 0)

    def release(self) -> None:
        os.close(self._fd)  # drops the flock; the address left in the file is not read then


def running_server(data_dir: Path) -> str | None:
    """The HTTP address of the server running on `data_dir`, or None when none is."""
    try:
        fd = os.open(data_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _address(fd)
    finally:
        os.close(fd)
    return None


def _address(fd: int) -> str:
    return os.pread(fd, MAX_ADDRESS, 0).decode(errors="replace").strip() or "(starting)"
