"""The writer child's answers, sent once what they answer is on disk (store/writer_child.py).

The child's connection commits with `synchronous=NORMAL`, durable batches too: in WAL mode
SQLite then syncs nothing in a commit (it syncs the WAL before a checkpoint, the database
after one, and the WAL's header when the WAL starts over). Its durability is this thread's:
it fdatasyncs the WAL after every batch with a durable write, and only then sends that
batch's answers, so a `250` still goes out after the fsync of its spool's commit, while the
next batch's statements run beside the sync instead of after it (docs/reliability.md,
"Durability and exactly-once actions"). One sync covers every batch committed before it
began. The answers go in the order of their batches: a batch with no durable write waits
for the sync of a batch before it.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

log = logging.getLogger("inbound.store")


class SyncedAnswers:
    """Answers to `send`, each batch's once the WAL (`wal`, a descriptor) is synced with
    `sync` when the batch needs it."""

    def __init__(
        self, wal: int, send: Callable[[bytes], object], sync: Callable[[int], None] = os.fdatasync
    ) -> None:
        self._wal, self._send, self._sync = wal, send, sync
        self._queue: queue.SimpleQueue[tuple[bytes, bool] | None] = queue.SimpleQueue()
        self._gone = False  # the server stopped reading: what is left is not sent
        self._thread = threading.Thread(target=self._run, name="inbound-store-sync", daemon=True)
        self._thread.start()

    def put(self, answers: bytes, durable: bool) -> None:
        """A committed batch's answers (b"" when nobody waits for it); `durable`: it holds a
        write that must be on disk before its answer."""
        if answers or durable:
            self._queue.put((answers, durable))

    def close(self) -> None:
        """Once everything put is synced and sent."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while True:
            batches = [self._queue.get()]
            while not self._queue.empty():
                batches.append(self._queue.get_nowait())
            ended = batches[-1] is None
            put = [batch for batch in batches if batch is not None]
            if any(durable for _, durable in put):
                self._synced()
            answers = b"".join(answers for answers, _ in put)
            if answers and not self._gone:
                try:
                    self._send(answers)
                except OSError:  # the server is gone: the child commits the rest and ends
                    self._gone = True
            if ended:
                return

    def _synced(self) -> None:
        """The WAL on disk; if it cannot be, the child ends without answering: the server
        fails the writes in flight (the SMTP session answers `451`) and starts another child,
        which opens the database again."""
        try:
            self._sync(self._wal)
        except OSError as exc:
            log.error("the WAL could not be synced: %s", exc)
            os._exit(1)
