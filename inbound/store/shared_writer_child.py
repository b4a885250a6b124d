"""The workers' shared writer process itself (store/shared_writer.py has the supervisor's and
the workers' sides): `python -m inbound.store DATA_DIR --listen FD` runs `serve_shared`.

Like the writer child of one server (store/writer_child.py), it imports no more than its
work needs: no asyncio, no subprocess, nothing of the server.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inbound.frames import Unframer
from inbound.store.batch import BATCH, commit
from inbound.store.engine import Connection, Write
from inbound.store.sqlite import SqliteEngine
from inbound.store.writer_child import JOBS_READ, MAX_FRAME, answer

BUFFER = 1 << 20  # socket buffers: a batch of 10 KB messages' jobs in one write


def buffers(sock: socket.socket) -> None:
    """Larger socket buffers than the default, where the system allows."""
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        with contextlib.suppress(OSError):  # smaller buffers work, with more wake-ups
            sock.setsockopt(socket.SOL_SOCKET, option, BUFFER)


@dataclass(eq=False)
class _Worker:
    """A worker's connection, as the writer sees it."""

    sock: socket.socket
    frames: Unframer = field(default_factory=lambda: Unframer(MAX_FRAME, JOBS_READ))
    engine_id: str | None = None  # its first frame
    ended: bool = False


def serve_shared(data_dir: Path, listener: socket.socket) -> None:
    """The writer: commit what the workers send, each its own answers, until the supervisor
    is done (stdin ends) and no worker is connected."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor stops it
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print goes to stderr
    engine = SqliteEngine(data_dir, shared=True)
    engine.open(read_only=False)
    out.write(b"+")
    supervisor = sys.stdin.fileno()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(supervisor, selectors.EVENT_READ)
    workers: list[_Worker] = []
    arrived: list[tuple[_Worker, tuple[int, Write[Any], bool]]] = []
    supervised = True
    while supervised or workers:
        # Block for the first job, then take whatever else has arrived, up to BATCH.
        timeout: float | None = None
        while len(arrived) < BATCH and (events := selector.select(timeout)):
            for key, _ in events:
                if key.fileobj is listener:
                    workers.append(_accept(listener, selector))
                elif key.fileobj == supervisor:
                    os.read(supervisor, 1)  # only its end: nothing is written to it
                    selector.unregister(supervisor)
                    supervised = False
                else:
                    arrived += _read(key.data, selector)
            if arrived:
                timeout = 0
            elif any(w.ended for w in workers) or not (supervised or workers):
                break  # one to close, or none left
        if arrived:
            batch, arrived = arrived[:BATCH], arrived[BATCH:]
            _commit(engine, batch)
        for worker in [w for w in workers if w.ended and all(a[0] is not w for a in arrived)]:
            workers.remove(worker)
            worker.sock.close()
    engine.close_writer()
    engine.close()
    with contextlib.suppress(OSError):  # the supervisor's to remove, unless it was killed
        path = listener.getsockname()
        os.unlink(path)
        os.rmdir(os.path.dirname(path))


def _accept(listener: socket.socket, selector: selectors.BaseSelector) -> _Worker:
    sock, _ = listener.accept()
    sock.setblocking(True)
    buffers(sock)
    worker = _Worker(sock)
    selector.register(sock, selectors.EVENT_READ, worker)
    with contextlib.suppress(OSError):  # gone already: its end is read next
        sock.sendall(b"+")
    return worker


def _read(
    worker: _Worker, selector: selectors.BaseSelector
) -> list[tuple[_Worker, tuple[int, Write[Any], bool]]]:
    """The jobs that what `worker` sent completes; at its end, it is marked ended."""
    try:
        frames = worker.frames.read(worker.sock.fileno())
    except OSError:  # reset: a worker killed
        frames = None
    if frames is None:
        selector.unregister(worker.sock)
        worker.ended = True
        return []
    if worker.engine_id is None:
        worker.engine_id, *frames = frames
    return [(worker, job) for jobs in frames for job in jobs]


class _Marked:
    """A job run as its worker's write: what it inserts is that worker's (`claimed_by`)."""

    __slots__ = ("engine", "engine_id", "job")

    def __init__(self, engine: SqliteEngine, engine_id: str, job: Write[Any]) -> None:
        self.engine, self.engine_id, self.job = engine, engine_id, job

    def __call__(self, c: Connection) -> Any:
        self.engine.writing = self.engine_id
        return self.job(c)


def _commit(
    engine: SqliteEngine, batch: list[tuple[_Worker, tuple[int, Write[Any], bool]]]
) -> None:
    """One transaction for the batch; each worker answered its own jobs."""
    jobs = [_Marked(engine, w.engine_id or "", job) for w, (_, job, _) in batch]
    outcomes = commit(engine, jobs, [durable for _, (*_, durable) in batch])
    mine: dict[_Worker, tuple[list[tuple[int, Write[Any], bool]], list[tuple[bool, Any]]]] = {}
    for (worker, job), outcome in zip(batch, outcomes, strict=True):
        theirs, their_outcomes = mine.setdefault(worker, ([], []))
        theirs.append(job)
        their_outcomes.append(outcome)
    for worker, (theirs, their_outcomes) in mine.items():
        # a worker whose jobs ended may be closing (`SocketLink.finish`): it reads them too
        with contextlib.suppress(OSError):  # killed: what it sent is committed all the same
            if answers := answer(theirs, their_outcomes):
                worker.sock.sendall(answers)
