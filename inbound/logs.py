"""How `inbound serve` logs (docs/running.md, "Logs"): text lines or one JSON object per line,
the per-message lines (inbound/activity.py) at the default level, everything else from
warnings up unless `-v`, and the HTTP port's access log at `-v`."""

from __future__ import annotations

import atexit
import logging
import sys
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from inbound import activity

FORMATS = ("text", "json")
access_log = logging.getLogger("inbound.access")


def setup(*, verbose: bool, form: str, worker: int | None = None) -> None:
    """Log to stderr: with `verbose` every module's decisions and the access log, otherwise
    warnings and the per-message lines. Logging that is configured already (a program that
    calls `cli.main`, pytest) is left as it is, as `logging.basicConfig` leaves it. A worker
    process of `[server] workers` names itself in each line (`worker 2`, `"worker": 2`).

    Lines are formatted and written by a thread of their own (`_HandOver`): the event loop
    only queues each record. Writing to stderr lets go of the GIL, and the loop then waited for
    the store's writer thread to hand it back (py-spy: the per-message line's write was ~4.5%
    of the loop's busy time)."""
    root = logging.getLogger()
    if root.handlers:
        return
    who = "" if worker is None else f" worker {worker}"
    hand_over = _HandOver(sys.stderr)
    hand_over.setFormatter(
        JsonFormatter(worker)
        if form == "json"
        else logging.Formatter(f"%(asctime)s %(levelname)s{who} %(name)s: %(message)s")
    )
    atexit.register(hand_over.stop)  # what is queued is written before the process ends
    root.addHandler(hand_over)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    activity.log.setLevel(logging.INFO)


# How long the writing thread lets lines gather once woken, so that it is woken once for them
# all (a line is written at most this much later): waking it for each line cost the event loop
# a futex call and a hand-over of the GIL per received message.
GATHER_SECONDS = 0.02


class _HandOver(logging.Handler):
    """Queues each record as it is for a thread of its own, which formats what has gathered and
    writes it to `stream` in one write (the logging cookbook's QueueHandler and QueueListener,
    less the formatting and copying QueueHandler does for listeners in other processes, less a
    wake-up per line, and less StreamHandler's write, flush and lock per line: each write let
    go of the GIL and took it back from the event loop)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._records: deque[logging.LogRecord] = deque()
        self._queued = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._write, name="inbound-logs", daemon=True)
        self._thread.start()

    def handle(self, record: logging.LogRecord) -> bool:
        """Queued without the handler's lock: a deque's append is atomic."""
        self._records.append(record)
        if not self._queued.is_set():
            self._queued.set()
        return True

    def _write(self) -> None:
        while not self._stopping:
            self._queued.wait()
            if not self._stopping:
                time.sleep(GATHER_SECONDS)
            self._queued.clear()  # a record queued from now on sets it again
            self._write_gathered()

    def _write_gathered(self) -> None:
        lines: list[str] = []
        record: logging.LogRecord | None = None
        while self._records:
            record = self._records.popleft()
            try:
                lines.append(self.format(record))
            except Exception:
                self.handleError(record)
        if record is None or not lines:
            return
        try:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()
        except Exception:
            self.handleError(record)  # the last one: logging says which line could not go

    def stop(self) -> None:
        """Write what is queued, then end the thread."""
        self._stopping = True
        self._queued.set()
        self._thread.join()


class JsonFormatter(logging.Formatter):
    """One object per record: time, level, logger, then the record's `fields` (a message's or
    a request's) or its message; `worker`: the worker process's slot, in each line."""

    def __init__(self, worker: int | None = None) -> None:
        super().__init__()
        self._worker = {} if worker is None else {"worker": worker}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **self._worker,
        }
        fields = getattr(record, "fields", None)
        line |= fields if fields is not None else {"message": record.getMessage()}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class AccessLogger(AbstractAccessLogger):
    """`GET /api/messages 200 1234 B 1.2 ms 127.0.0.1`: aiohttp calls it per answered request
    while `inbound.access` is enabled for INFO (`-v`), and not at all otherwise."""

    @property
    def enabled(self) -> bool:
        """Read by aiohttp once per connection: `log` is not called while this is False (the
        base class says True, and every request made its fields for a line never written)."""
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        fields = {
            "event": "http",
            "method": request.method,
            "path": request.path_qs,
            "status": response.status,
            "size": response.body_length,
            "ms": round(time * 1000, 1),
            "remote": request.remote,
        }
        self.logger.info(
            "%s %s %d %d B %.1f ms %s",
            request.method,
            request.path_qs,
            response.status,
            response.body_length,
            time * 1000,
            request.remote,
            extra={"fields": fields},
        )
