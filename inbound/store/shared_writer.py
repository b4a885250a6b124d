"""The SQLite store's writer shared by the worker processes of `[server] workers` with `[store]
writer = "shared"` (docs/workers.md, "The store"): one process, started by the supervisor,
that every worker's `ProcessWriter` (store/writer_process.py) talks to over a Unix socket.

Why: with a writer thread in each worker (the default), the workers' writers take turns on
SQLite's lock, each holding it while its statements wait for its own event loop's GIL, and
each commits only its own worker's writes. One writer process commits what all the workers
queued in one transaction, with no lock to wait for and no GIL shared; but each worker's
event loop pays for pickling its writes and the socket, which on a busy machine cost more
than the lock waits saved (benchmarks/RESULTS.md, "Issue 15: one writer for the workers"):
so it is not the default.

The supervisor (`SharedWriter`) binds the socket in a directory of its own (mode 0700: only
this user's processes may connect; the frames are pickles), starts the writer (`python -m
inbound.store DATA_DIR --listen FD`: store/shared_writer_child.py; the listening socket
inherited) and starts it again when it dies. The listening socket stays the supervisor's, so a
worker that connects meanwhile waits in its backlog. A worker (`SocketLink`) connects, names
its engine (`worker-<slot>`) in its first frame, then sends its jobs as to a child of its own;
the writer marks each job as its worker's while it runs (`writing_engine()`, which the triggers
that set `claimed_by` and log document changes ask: store/sqlite.py) and answers each worker
its own jobs. A worker killed mid-load: the writer commits the jobs it had read and drops the
connection, as a writer child does when its server dies. The writer killed: every worker's
writes in flight fail with `StorageError` (an SMTP session answers `451`), and each worker's
next write connects again.
"""

from __future__ import annotations

import contextlib
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from inbound.frames import frame
from inbound.store.errors import StorageError
from inbound.store.shared_writer_child import BUFFER, buffers
from inbound.store.writer_process import CHILD, ready

BACKLOG = 128  # workers connecting at once, or while the writer is started again
NAME = "the store's shared writer process"


# ── the supervisor's side ─────────────────────────────────────────────────────────────────
class SharedWriter:
    """The socket the workers connect to, and the writer process behind it."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._folder = Path(tempfile.mkdtemp(prefix="inbound-"))  # 0700
        self.address = self._folder / "writer"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._child: subprocess.Popen[bytes] | None = None
        try:
            self._listener.bind(str(self.address))
            self._listener.listen(BACKLOG)
            self.start()
        except BaseException:
            self.close()
            raise

    def start(self) -> None:
        """Start the writer; return once it has the database open (`StorageError` if not)."""
        listening = self._listener.fileno()
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", CHILD, str(self._data_dir), "--listen", str(listening)],
                stdin=subprocess.PIPE,  # it ends when the supervisor is done
                stdout=subprocess.PIPE,  # `+` once ready, then nothing: its end is the writer's
                pass_fds=(listening,),
            )
        except OSError as exc:
            raise StorageError(f"{NAME} did not start: {exc}") from exc
        assert child.stdout is not None
        if not ready(child.stdout.fileno()):
            child.kill()
            _reap(child)
            raise StorageError(f"{NAME} could not open the database")
        self._child = child

    @property
    def pid(self) -> int:
        assert self._child is not None
        return self._child.pid

    @property
    def sentinel(self) -> int:
        """A descriptor readable once the writer process has ended."""
        assert self._child is not None and self._child.stdout is not None
        return self._child.stdout.fileno()

    def ended(self) -> int:
        """The ended writer reaped: its exit status."""
        child, self._child = self._child, None
        assert child is not None
        return _reap(child)

    def close(self) -> None:
        """Once the workers are gone: the writer commits what it has and exits."""
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()
            _reap(self._child)
            self._child = None
        self._listener.close()
        shutil.rmtree(self._folder, ignore_errors=True)


def _reap(child: subprocess.Popen[bytes]) -> int:
    code = child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()
    return code


# ── a worker's side ───────────────────────────────────────────────────────────────────────
class SocketLink:
    """A worker's connection to the shared writer (a `Link`, store/writer_process.py)."""

    def __init__(self, address: Path, engine_id: str) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            buffers(sock)
            sock.connect(str(address))
            sock.sendall(frame(engine_id))
            said = ready(sock.fileno())
        except OSError as exc:
            sock.close()
            raise StorageError(f"{NAME} cannot be reached: {exc}") from exc
        if not said:
            sock.close()
            raise StorageError(f"{NAME} did not answer")
        self._sock = sock
        self.send = self.receive = sock.fileno()

    def finish(self, rest: bytes) -> bytes:
        """Send `rest` while reading the answers (the writer may be writing to us as we
        write to it), end our side, then read until the writer closes its own."""
        sock, left, answers = self._sock, memoryview(rest), bytearray()
        sock.setblocking(True)
        with contextlib.suppress(OSError), selectors.DefaultSelector() as selector:
            if not left:
                sock.shutdown(socket.SHUT_WR)
            selector.register(sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if left else 0))
            while True:
                events = selector.select()[0][1]
                if events & selectors.EVENT_WRITE:
                    left = left[sock.send(left[:BUFFER]) :]
                    if not left:
                        sock.shutdown(socket.SHUT_WR)
                        selector.modify(sock, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    if not (read := sock.recv(BUFFER)):
                        break
                    answers += read
        sock.close()
        return bytes(answers)

    def end(self) -> str:
        self._sock.close()
        return f"{NAME} closed its connection; the supervisor starts it again"
