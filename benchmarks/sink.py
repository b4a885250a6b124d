"""Bare aiosmtpd server: the ceiling the engine is measured against.

Its handler accepts every recipient and answers ``250 Ok`` to DATA at once, storing nothing.
Run: ``python -m benchmarks.sink --port 2525`` (SIGTERM or Ctrl-C to stop).

``--raw`` serves a protocol-only responder instead (no aiosmtpd, no parsing beyond finding line
ends and the end of DATA): it only measures how fast the load generator itself can go.

``--job DIR`` does the catch-all rule's job the plainest way aiosmtpd allows, as Haraka's plugin
does it (benchmarks/haraka/plugins/inbound_bench.js): one header added, the message written to
its own file under DIR and fsynced (in a thread) before the ``250``, one JSON notification line
appended to ``DIR/notifications.jsonl``. No SES behaviour: the least CPU any single aiosmtpd
process doing that job spends, the floor for issue 15's "at least 100% of the sink".

``--job DIR --group-commit`` does the same job with group commit: every message appended to
one file, ``DIR/messages``, and one thread fdatasyncing all written so far; a message's
``250`` goes once a sync that began after its write has returned. Its one wait for the disk
is one fdatasync, shared by the messages that came during the one before: the least latency
any durable-accept aiosmtpd server can have on this disk, the floor for issue 15's item 5.
Each sync's start (``time.monotonic``) and duration go to ``DIR/syncs`` when it stops.

``--processes N`` runs N such servers on the port (SO_REUSEPORT: the kernel spreads the
connections), each with its own subdirectory of DIR (``p0``, ``p1``, ...) and its own group
commit: the floor of issue 15's item 3 (N workers, "at least 125% of the sink"). The first
prints ``sink: N processes listening`` once all of them are.

``--http PORT`` also serves ``GET /api/stats`` (the engine's counters: messages, pending 0) with
aiohttp on the same event loop: the least any engine with aiosmtpd and aiohttp's HTTP server
holds in memory (benchmarks/memory.py, ``floor``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class SinkHandler:
    messages = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        return "250 Ok"


class JobHandler(SinkHandler):
    """The job of benchmarks/haraka/plugins/inbound_bench.js, line for line, in Python."""

    MAX_CONTENT = 150 * 1024

    def __init__(self, store: Path) -> None:
        self.store = store
        self.notifications = (store / "notifications.jsonl").open("ab", buffering=0)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        import orjson  # an engine dependency: the sink alone runs without it

        received = time.time()
        assert isinstance(envelope.original_content, bytes)
        raw = b"X-Inbound: bench\r\n" + envelope.original_content
        name = uuid.uuid4().hex
        await self.stored(name, raw)
        self.notifications.write(orjson.dumps(_notification(envelope, raw, name, received)) + b"\n")
        self.messages += 1
        return "250 Ok"

    async def stored(self, name: str, raw: bytes) -> None:
        await asyncio.to_thread(_stored, self.store / name, raw)

    def close(self) -> None:
        self.notifications.close()


class GroupJobHandler(JobHandler):
    """The same job, the messages group-committed to one file (`GroupCommit`)."""

    def __init__(self, store: Path) -> None:
        super().__init__(store)
        self.log = GroupCommit(store / "messages")

    async def stored(self, name: str, raw: bytes) -> None:
        await self.log.append(raw)

    def close(self) -> None:
        super().close()
        self.log.syncs_to(self.store / "syncs")


class GroupCommit:
    """An append-only file whose writes one thread makes durable together: each fdatasync
    covers every write made before it began, and settles their waiters."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.loop = asyncio.get_running_loop()
        self.waiting: list[asyncio.Future[None]] = []
        self.due = threading.Condition()
        self.syncs: list[tuple[float, float]] = []  # (start, seconds) of each fdatasync
        threading.Thread(target=self._sync, name="group-commit", daemon=True).start()

    async def append(self, raw: bytes) -> None:
        os.write(self.fd, raw)
        done = self.loop.create_future()
        with self.due:
            self.waiting.append(done)
            self.due.notify()
        await done

    def syncs_to(self, path: Path) -> None:
        path.write_text("".join(f"{start:.6f} {took:.6f}\n" for start, took in self.syncs[:]))

    def _sync(self) -> None:
        while True:
            with self.due:
                while not self.waiting:
                    self.due.wait()
                written, self.waiting = self.waiting, []
            start = time.monotonic()
            os.fdatasync(self.fd)
            self.syncs.append((start, time.monotonic() - start))
            self.loop.call_soon_threadsafe(_settle, written)


def _settle(written: list[asyncio.Future[None]]) -> None:
    for done in written:
        if not done.done():  # its client may have gone
            done.set_result(None)


def _stored(path: Path, raw: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, raw)
        os.fsync(fd)
    finally:
        os.close(fd)


def _notification(envelope: Envelope, raw: bytes, name: str, received: float) -> dict[str, Any]:
    head = raw[: raw.find(b"\r\n\r\n")].decode("utf-8", "replace")
    headers: list[dict[str, str]] = []
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and headers:
            headers[-1]["value"] += " " + line.strip()
        else:
            field, _, value = line.partition(":")
            headers.append({"name": field, "value": value.strip()})
    first = {h["name"].lower(): h["value"] for h in reversed(headers)}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(received)) + "Z"
    note: dict[str, Any] = {
        "notificationType": "Received",
        "mail": {
            "timestamp": stamp,
            "source": envelope.mail_from,
            "messageId": name,
            "destination": envelope.rcpt_tos,
            "headersTruncated": False,
            "headers": headers,
            "commonHeaders": {
                "returnPath": envelope.mail_from,
                "from": [first.get("from", "")],
                "to": [first.get("to", "")],
                "date": first.get("date", ""),
                "messageId": first.get("message-id", ""),
                "subject": first.get("subject", ""),
            },
        },
        "receipt": {
            "timestamp": stamp,
            "processingTimeMillis": int((time.time() - received) * 1000),
            "recipients": envelope.rcpt_tos,
            "action": {
                "type": "SNS",
                "topicArn": "arn:aws:sns:us-east-1:123456789012:bench",
                "encoding": "UTF-8",
            },
        },
    }
    if len(raw) <= JobHandler.MAX_CONTENT:
        note["content"] = raw.decode("utf-8", "replace")
    return note


class RawResponder(asyncio.Protocol):
    """Answers lock-step ESMTP with canned replies; DATA ends at CRLF.CRLF."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buf = b""
        self.in_data = False
        transport.write(b"220 raw sink\r\n")

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        out: list[bytes] = []
        while True:
            if self.in_data:
                end = buf.find(b"\r\n.\r\n")
                if end < 0:
                    buf = buf[-4:]
                    break
                buf = buf[end + 5 :]
                self.in_data = False
                out.append(b"250 Ok\r\n")
                continue
            eol = buf.find(b"\r\n")
            if eol < 0:
                break
            verb, buf = buf[:4].upper(), buf[eol + 2 :]
            if verb == b"DATA":
                self.in_data = True
                buf = b"\r\n" + buf  # the first line of DATA may be the "." itself
                out.append(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"EHLO":
                out.append(b"250-raw sink\r\n250 8BITMIME\r\n")
            elif verb == b"QUIT":
                out.append(b"221 Bye\r\n")
            else:
                out.append(b"250 Ok\r\n")
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))


async def serve_stats(handler: SinkHandler, host: str, port: int) -> None:
    from aiohttp import web

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"messages": handler.messages, "pending": 0})

    app = web.Application()
    app.router.add_get("/api/stats", stats)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()


async def serve(
    host: str,
    port: int,
    *,
    raw: bool = False,
    http: int | None = None,
    job: Path | None = None,
    group_commit: bool = False,
    reuse_port: bool = False,
    bound: int | None = None,
) -> None:
    """Serve until SIGTERM or SIGINT; `bound`: a pipe to write a byte to once listening (a
    process of `--processes` telling the first)."""
    loop = asyncio.get_running_loop()
    handler = SinkHandler()
    if job is not None:
        handler = GroupJobHandler(job) if group_commit else JobHandler(job)
    if http is not None:
        await serve_stats(handler, host, http)

    def factory() -> asyncio.Protocol:
        if raw:
            return RawResponder()
        # An explicit hostname: the default calls socket.getfqdn() for every connection.
        return SMTP(handler, hostname="sink.local", ident="bench sink")

    server = await loop.create_server(factory, host, port, reuse_port=reuse_port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if bound is not None:
        os.write(bound, b"+")
    else:
        print(f"sink listening on smtp://{host}:{port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()
    if isinstance(handler, JobHandler):
        handler.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop (default: asyncio)")
    ap.add_argument("--raw", action="store_true", help="protocol-only responder, no aiosmtpd")
    ap.add_argument("--http", type=int, default=None, help="serve GET /api/stats on this port")
    ap.add_argument("--job", type=Path, default=None, help="do the catch-all job, files in DIR")
    ap.add_argument(
        "--group-commit", action="store_true", help="with --job: one file, syncs shared"
    )
    ap.add_argument("--processes", type=int, default=1, help="N servers on the port (SO_REUSEPORT)")
    args = ap.parse_args(argv)
    if args.processes > 1 and args.http is not None:
        ap.error("--http serves from one process: not with --processes")
    if args.processes == 1:
        _run(args, args.job)
        return
    ready_r, ready_w = os.pipe()
    others = []
    for slot in range(1, args.processes):
        pid = os.fork()
        if pid == 0:  # a server of its own, told to stop by the first
            os.close(ready_r)
            _run(args, _slot_dir(args.job, slot), bound=ready_w)
            os._exit(0)
        others.append(pid)
    os.close(ready_w)
    for _ in others:
        os.read(ready_r, 1)
    print(f"sink: {args.processes} processes listening", flush=True)
    try:
        _run(args, _slot_dir(args.job, 0))
    finally:
        for pid in others:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)


def _slot_dir(job: Path | None, slot: int) -> Path | None:
    if job is None:
        return None
    (job / f"p{slot}").mkdir(exist_ok=True)
    return job / f"p{slot}"


def _run(args: argparse.Namespace, job: Path | None, bound: int | None = None) -> None:
    runner: Any = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    runner(
        serve(
            args.host,
            args.port,
            raw=args.raw,
            http=args.http,
            job=job,
            group_commit=args.group_commit,
            reuse_port=args.processes > 1,
            bound=bound,
        )
    )


if __name__ == "__main__":
    main()
