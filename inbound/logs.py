"""How `inbound serve` logs (docs/running.md, "Logs"): text lines or one JSON object per line,
the per-message lines (inbound/activity.py) at the default level, everything else from
warnings up unless `-v`, and the HTTP port's access log at `-v`."""

from __future__ import annotations

import atexit
import logging
import queue
import sys
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from typing import Any

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

    Lines are formatted and written by a thread of their own (the logging cookbook's
    QueueHandler and QueueListener): the event loop only queues each record. Writing to stderr
    lets go of the GIL, and the loop then waited for the store's writer thread to hand it back
    (py-spy: the per-message line's write was ~4.5% of the loop's busy time)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    who = "" if worker is None else f" worker {worker}"
    handler.setFormatter(
        JsonFormatter(worker)
        if form == "json"
        else logging.Formatter(f"%(asctime)s %(levelname)s{who} %(name)s: %(message)s")
    )
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    writer = QueueListener(lines, handler)
    writer.start()
    atexit.register(writer.stop)  # what is queued is written before the process ends
    root.addHandler(_HandOver(lines))
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    activity.log.setLevel(logging.INFO)


class _HandOver(QueueHandler):
    """Queues the record as it is: formatting it is the writing thread's work. (QueueHandler
    formats and copies each record first, for listeners in other processes.)"""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


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
