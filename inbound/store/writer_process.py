"""The SQLite store's writer as a process of its own (`[store] writer = "process"`, the
default of `inbound serve`; docs/architecture.md, "The store's writer").

Why: as a thread, the writer ran its statements' Python under the event loop's GIL. Measured
in the server at 10 KB, c=10 (catch-all AddHeader + S3 + SNS), the writer thread was busy 3.9
s of a 4 s run for 1.35 s of CPU: most of the rest it waited for the GIL, one wait per
statement, and every `250` waited behind it (benchmarks/RESULTS.md, "Issue 15"). A process
has a GIL of its own.

The server side (`ProcessWriter`) pickles what one turn of the event loop queued in one frame
and sends it to the child's stdin in one write; the child (`python -m
inbound.store DATA_DIR`) commits whatever has arrived in one transaction
(group commit, as the thread did, with the same `commit`), then answers the batch's waited
jobs in one frame: (id, ok, result or error). Frames: inbound/frames.py.

Durability is the child's commit, as it was the thread's: a future is done only once its
transaction is committed (fsynced when durable). If the server is killed, the child commits
what it has read and exits when its input ends. If the child dies, the writes in flight fail
with `StorageError` (the SMTP session answers `451`: the client sends again), and the next
write starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import select
import subprocess
import sys
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from inbound.frames import Part, Unframer, frame_parts
from inbound.store.batch import log_unwaited, settle, settle_durable_first
from inbound.store.engine import Write
from inbound.store.errors import StorageError
from inbound.store.writer_child import MAX_FRAME, UNWAITED

T = TypeVar("T")
log = logging.getLogger("inbound.store")

PIPE_SIZE = 1 << 20  # a 10 KB message's jobs fit many times over: fewer wake-ups
IOV_MAX = 1024  # buffers one writev takes (Linux)
ANSWERS_READ = 64 * 1024  # the child's answers are ids and records: a larger buffer is RSS
START_TIMEOUT = 30.0  # seconds for the child to open the database and say so
CHILD = "inbound.store"  # `python -m inbound.store DATA_DIR`: store/writer_child.py


class ChildLink:
    """The writer as a child of this server: its stdin and its stdout."""

    def __init__(self, data_dir: Path) -> None:
        """Start the child and wait until it has the database open: a child that cannot open
        it fails here, where the server starts, not with the first message."""
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", CHILD, str(data_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as exc:
            raise StorageError(f"the store's writer process did not start: {exc}") from exc
        assert child.stdin is not None and child.stdout is not None
        for pipe in (child.stdin, child.stdout):
            with contextlib.suppress(OSError):  # a smaller pipe works, with more wake-ups
                fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        if not ready(child.stdout.fileno()):
            child.kill()
            child.wait()
            raise StorageError("the store's writer process could not open the database")
        self._child = child
        self.send, self.receive = child.stdin.fileno(), child.stdout.fileno()

    def finish(self, rest: bytes) -> bytes:
        """`rest` sent and the child's input ended; every answer until it exits."""
        os.set_blocking(self.send, True)
        os.set_blocking(self.receive, True)
        answers = b""
        with contextlib.suppress(OSError, ValueError):
            answers, _ = self._child.communicate(rest)  # writes and reads at once: no deadlock
        self._child.wait()
        return answers

    def end(self) -> str:
        """After its answers ended unasked: the child gone, and how, for the log."""
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        try:
            code = child.wait(timeout=5.0)
        except subprocess.TimeoutExpired:  # its output ended but it goes on: stopped
            child.kill()
            code = child.wait()
        child.stdin.close()
        child.stdout.close()
        return f"the store's writer process exited (status {code}); it is started again"


def ready(fd: int) -> bool:
    """Whether the writer said, on `fd`, that it has the database open (`+`), in time."""
    found, _, _ = select.select([fd], [], [], START_TIMEOUT)
    return bool(found) and os.read(fd, 1) == b"+"


class ProcessWriter:
    """The server's side: one link to the writer child, the jobs not yet sent, and the
    futures of those sent."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._link: ChildLink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queued: list[tuple[int, Write[Any], bool]] = []  # this turn of the loop's jobs
        self._unsent: deque[memoryview] = deque()  # what the link did not take yet
        self._pending: dict[int, tuple[asyncio.Future[Any], bool]] = {}  # and if durable
        self._next = 0
        self._replies = Unframer(MAX_FRAME, ANSWERS_READ)
        # Links lost: the writes nobody waited for that were in flight then may be lost with
        # them, while the next writes commit in the next link (`Database.writer_losses`).
        self.losses = 0
        self._start()

    # ── the link ───────────────────────────────────────────────────────────────────────────
    def _start(self) -> None:
        link = ChildLink(self._data_dir)
        os.set_blocking(link.send, False)
        os.set_blocking(link.receive, False)
        self._link = link
        self._loop = None  # attached to the loop of the first write

    def _attached(self) -> asyncio.AbstractEventLoop:
        """The event loop the writer's answers are read on: the running one, from the first
        write on (a link made again after a failure is attached again)."""
        if self._link is None:
            self._start()
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
            assert self._link is not None
            loop.add_reader(self._link.receive, self._read)
        return loop

    # ── sending ────────────────────────────────────────────────────────────────────────────
    def write(self, job: Write[T], durable: bool) -> asyncio.Future[T]:
        loop = self._attached()
        ident = self._next
        self._next += 1
        self._queue(loop, (ident, job, durable))
        future: asyncio.Future[T] = loop.create_future()
        self._pending[ident] = future, durable
        return future

    def submit(self, job: Write[Any]) -> None:
        self._queue(self._attached(), (UNWAITED, job, False))

    def _queue(self, loop: asyncio.AbstractEventLoop, job: tuple[int, Write[Any], bool]) -> None:
        """One frame and one write to the pipe per turn of the event loop, for the jobs the
        turn queued: a pickle per job cost the loop more than the jobs' own Python."""
        if not self._queued:
            loop.call_soon(self._send)
        self._queued.append(job)

    def _send(self) -> None:
        parts = self._framed(self._queued)
        self._queued = []
        link = self._link
        if link is None:
            return  # gone: its futures have failed (`_lost`)
        waiting = bool(self._unsent)
        self._unsent.extend(memoryview(part) for part in parts)
        if not waiting and not self._write_some():
            assert self._loop is not None
            self._loop.add_writer(link.send, self._send_rest)

    def _framed(self, jobs: list[tuple[int, Write[Any], bool]]) -> list[Part]:
        """`jobs` in one frame; a job that does not pickle is left out, and fails (a `Write`
        checks its parts when it is made, so this is a value among its arguments)."""
        try:
            return frame_parts(jobs)
        except Exception:
            portable = []
            for job in jobs:
                try:
                    frame_parts(job)
                except Exception as exc:
                    self._fail(job[0], exc)
                else:
                    portable.append(job)
            return frame_parts(portable)

    def _fail(self, ident: int, exc: Exception) -> None:
        waiting = self._pending.pop(ident, None)
        if waiting is None:
            log_unwaited(False, exc)
        else:
            settle(waiting[0], False, exc)

    def _write_some(self) -> bool:
        """Write what the pipe takes of `_unsent`; whether all of it went."""
        link, unsent = self._link, self._unsent
        assert link is not None
        while unsent:
            try:
                written = os.writev(link.send, list(islice(unsent, IOV_MAX)))
            except BlockingIOError:
                return False
            except OSError:
                unsent.clear()  # gone: its output's end fails its futures (`_read`)
                return True
            while written:
                if len(unsent[0]) <= written:
                    written -= len(unsent.popleft())
                else:
                    unsent[0] = unsent[0][written:]
                    written = 0
        return True

    def _send_rest(self) -> None:
        link = self._link
        assert link is not None and self._loop is not None
        if self._write_some():
            self._loop.remove_writer(link.send)

    # ── answers ──────────────────────────────────────────────────────────────────────────
    def _read(self) -> None:
        link = self._link
        assert link is not None
        try:
            answers = self._replies.read(link.receive)
        except BlockingIOError:
            return
        except OSError:
            answers = None
        if answers is None:
            self._lost()
            return
        for batch in answers:
            settle_durable_first(self._outcomes(batch))

    def _outcomes(
        self, batch: list[tuple[int, bool, Any]]
    ) -> list[tuple[asyncio.Future[Any], bool, Any, bool]]:
        """The futures a batch's answers settle: (future, ok, value, durable)."""
        found = []
        for ident, ok, value in batch:
            waiting = self._pending.pop(ident, None)
            if waiting is not None:
                future, durable = waiting
                found.append((future, ok, value, durable))
        return found

    def _lost(self) -> None:
        """The writer is gone: its writes in flight fail, the next write makes another link."""
        link = self._detach()
        self._queued = []  # their futures fail below: none may run in the next writer
        self._replies = Unframer(MAX_FRAME, ANSWERS_READ)
        self.losses += 1
        log.error("%s", link.end())
        self._fail_pending()

    def close(self) -> None:
        """Everything queued is sent and committed, the writer's answers to it settled, then
        the link ends (a child exits)."""
        if self._link is None:
            return
        rest = b"".join([*self._unsent, *(self._framed(self._queued) if self._queued else ())])
        self._queued = []
        for batch in self._replies.feed(self._detach().finish(rest)):
            settle_durable_first(self._outcomes(batch))
        self._fail_pending()

    def _detach(self) -> ChildLink:
        """The link, taken off the event loop, and what was not sent dropped."""
        link, loop = self._link, self._loop
        assert link is not None
        self._link, self._loop = None, None
        if loop is not None:
            loop.remove_reader(link.receive)
            if self._unsent:
                loop.remove_writer(link.send)
        self._unsent.clear()
        return link

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future, _ in pending.values():
            settle(future, False, StorageError("the store's writer process exited"))
