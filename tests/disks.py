"""Small real file systems for the storage-failure tests, mounted under a test's tmp dir.

`tmpfs(path, size)` is a size-limited file system that `fill()` makes full, as a disk is. `Ext4`
is an ext4 image on a loop device mounted with `errors=remount-ro`: `fail()` reports a file
system error through ext4's own test hook, and the kernel turns the mount read-only under the
open files, as it does on a failing disk (a `mount -o remount,ro` is refused while files are open
for writing, so it cannot stand in). Mounting needs CAP_SYS_ADMIN and, for ext4, a loop device;
where the machine does not allow it, the test skips and says why.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _run(*argv: str) -> None:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed here")
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine cannot `{' '.join(argv)}`: {done.stderr.strip()}")


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    _run("mount", "-t", "tmpfs", "-o", f"size={size}", "inbound-test", str(path))
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write a file in `path` until its file system has no space left; returns the file."""
    ballast = path / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    try:
        while True:
            os.write(fd, bytes(4096))
    except OSError as exc:
        assert exc.errno == errno.ENOSPC, exc
    finally:
        os.close(fd)
    return ballast


class Ext4:
    def __init__(self, image: Path, path: Path) -> None:
        self.image, self.path = image, path

    @classmethod
    @contextmanager
    def mounted(cls, tmp: Path, size: str = "32M") -> Iterator[Ext4]:
        disk = cls(tmp / "ext4.img", tmp / "disk")
        _run("truncate", "-s", size, str(disk.image))
        _run("mkfs.ext4", "-q", "-F", str(disk.image))
        disk.path.mkdir()
        disk.mount()
        try:
            yield disk
        finally:
            subprocess.run(["umount", "-l", str(disk.path)], check=True)

    def mount(self) -> None:
        _run("mount", "-o", "loop,errors=remount-ro", str(self.image), str(self.path))

    def fail(self) -> None:
        """A file system error: the kernel remounts it read-only, open files included."""
        hook = Path("/sys/fs/ext4", Path(self._source()).name, "trigger_fs_error")
        if not hook.exists():
            pytest.skip(f"this kernel has no {hook}")
        hook.write_text("test\n")

    def repair(self) -> None:
        """What an operator does: unmount, check, mount again (read-write)."""
        subprocess.run(["umount", str(self.path)], check=True)
        subprocess.run(["e2fsck", "-f", "-y", str(self.image)], capture_output=True)
        self.mount()

    def _source(self) -> str:
        return subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(self.path)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
