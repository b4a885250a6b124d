"""The store's writer process itself (store/writer_process.py has the server's side):
`python -m inbound.store DATA_DIR` runs `serve`.

It imports no more than its work needs: no asyncio, nor the store's query modules, nor the
rest of the server. A module it loads stays in its memory for its life, and its memory adds
to the server's: the child of the whole `inbound.store` package held 27-29 MB idle
(benchmarks/RESULTS.md, "Issue 15"). Each write names its function's module, which the child
imports when the write arrives (pickle): so the functions of the writes live in modules
without asyncio (store/engine.py, rows.py, s3_objects.py, backends/s3_files.py);
tests/store/test_writer_child.py checks what a server's child has loaded.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inbound.frames import Unframer, frame
from inbound.store.batch import BATCH, commit, log_unwaited
from inbound.store.checkpoints import Checkpoints
from inbound.store.engine import Write
from inbound.store.errors import StorageError
from inbound.store.sqlite import SqliteEngine

log = logging.getLogger("inbound.store")

MAX_FRAME = 2**32 - 1  # the server's own jobs: bounded by what the server takes in
UNWAITED = -1  # the id of a job nobody waits for (`submit`)
# What one read of the jobs takes: no body over 64 KB is among them (backends/s3_files.py),
# and its buffer is resident for the child's life (1 MiB was 4% of its RSS).
JOBS_READ = 256 * 1024


def serve(data_dir: Path) -> None:
    """The child: commit what arrives on stdin, answer on stdout, until stdin ends or the
    answers cannot go."""
    # Ctrl-C in a terminal reaches the whole process group: the server stops the child itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # a stray print goes to stderr, not into the frames
    engine = SqliteEngine(data_dir)
    engine.open(read_only=False)
    checkpoints = Checkpoints(engine)  # none in the commits a `250` waits for
    out.write(b"+")
    run(engine, sys.stdin.fileno(), out.write, checkpoints)
    engine.close()


def run(
    engine: SqliteEngine, source: int, send: Callable[[bytes], object], checkpoints: Checkpoints
) -> None:
    """Commit the jobs' frames that arrive on `source` and `send` their answers, until
    `source` ends; then the writing connection is closed."""
    jobs = Unframer(MAX_FRAME, JOBS_READ)
    arrived: list[tuple[int, Write[Any], bool]] = []
    ended = False
    while True:
        # Block for the first job, then take whatever else has arrived, up to BATCH.
        while not ended and (
            not arrived or (len(arrived) < BATCH and select.select([source], [], [], 0)[0])
        ):
            if not arrived:
                checkpoints.idle(source)
            found = jobs.read(source)
            if found is None:
                ended = True
            for frame_jobs in found or ():
                arrived += frame_jobs
        if not arrived:
            break
        batch, arrived = arrived[:BATCH], arrived[BATCH:]
        outcomes = commit(engine, [job for _, job, _ in batch], [durable for *_, durable in batch])
        if answers := answer(batch, outcomes):
            try:
                send(answers)
            except BrokenPipeError:
                # The server was killed: what it had not seen committed, it resumes when it
                # starts again (its recovery), as if this process had been killed with it.
                log.warning("the server is gone; the store's writer stops")
                break
        checkpoints.committed()
    checkpoints.close()
    engine.close_writer()


def answer(jobs: list[tuple[int, Write[Any], bool]], outcomes: list[tuple[bool, Any]]) -> bytes:
    """The frame answering the waited ones of `jobs` (b"" when none is), the failures of the
    others logged."""
    answers = []
    for (ident, _, _), (ok, value) in zip(jobs, outcomes, strict=True):
        if ident == UNWAITED:
            log_unwaited(ok, value)
        else:
            answers.append((ident, ok, value))
    if not answers:
        return b""
    try:
        return frame(answers)
    except (pickle.PicklingError, TypeError, AttributeError):
        return frame([_portable_answer(*answer) for answer in answers])


def _portable_answer(ident: int, ok: bool, value: Any) -> tuple[int, bool, Any]:
    """An answer that pickles: what does not is answered as an error naming its type."""
    try:
        pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        what = "error" if not ok else "result"
        return ident, False, StorageError(f"a write's {what} does not pickle: {value!r}")
    return ident, ok, value
