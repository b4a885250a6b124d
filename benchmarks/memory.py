"""Memory under load (issue 18 item 2): the engine's peak RSS, and the HTTP API's slowest answer.

Two scenarios, each on a fresh server process (`servers.Server`) and data dir:

- restart: `count` messages of `size` bytes are pending in the data dir, as a kill leaves them,
  and the server is started on it; it resumes them all. The messages are spooled through the
  store's own `spool()` while the server is stopped (a message accepted over SMTP first gives
  the receipt-state snapshot they were received under), so the figure is the restart's alone.
- concurrent: `count` clients send one `size`-byte message each at the same time, streamed in
  1 MB writes so that the clients hold no whole message either.
- submission: `count` messages of `size` bytes sent one after another through the SES SMTP
  interface (smtplib, AUTH PLAIN on loopback) to the mailbox simulator's success address.
- idle, idle-shipped, floor: the server started and given `count` message of `size` bytes
  (the warm-up), with the benchmarks' engine config (catch-all AddHeader + S3 + SNS, no DNS),
  with the shipped config/inbound.toml (its zone file, so SPF, DKIM and DMARC are evaluated,
  and its rules), or the bare sink with aiohttp answering `GET /api/stats` beside it (the
  least an engine on aiosmtpd and aiohttp can hold). `after` is the VmRSS once that message is
  processed (issue 15 item 4).

Figures: the server's VmRSS once started and idle, its VmHWM (peak) when every message has
been processed (`pending == 0` on `GET /api/stats`), and the slowest `GET /api/stats` answer,
polled every 100 ms from start to end.

    python -m benchmarks.memory                  # full scale: 256 x 10 MB restart, 20 x 40 MB
    python -m benchmarks.memory --scale 0.1      # the same with a tenth of the messages' size
    python -m benchmarks.memory --only submission    # one 30 MB message through the SMTP interface
    python -m benchmarks.memory --only idle,idle-shipped,floor   # RSS after one 10 KB message
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import smtplib
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import servers
from inbound.records import MessageRecord, MessageStatus
from inbound.sending.credentials import smtp_password
from inbound.store import Store
from inbound.timestamps import now_iso

MB = 1_000_000
_LINE = b"x" * 76 + b"\r\n"
_CHUNK = _LINE * (MB // len(_LINE))
SIMULATOR = "success@simulator.amazonses.com"


@dataclass(frozen=True)
class Figures:
    scenario: str
    count: int
    size: int
    idle_mb: float  # VmRSS once started, before the load (restart: of the seeding server)
    peak_mb: float  # VmHWM when every message is processed
    api_slowest_s: float
    seconds: float
    after_mb: float | None = None  # VmRSS when every message is processed

    def line(self) -> str:
        if self.after_mb is not None:
            return (
                f"{self.scenario}: RSS {self.after_mb:.1f} MB after {self.count} x "
                f"{self.size / 1000:g} KB (started: {self.idle_mb:.1f} MB, peak "
                f"{self.peak_mb:.1f} MB), {self.seconds:.1f} s"
            )
        return (
            f"{self.scenario}: {self.count} x {self.size / MB:g} MB: peak RSS "
            f"{self.peak_mb:.0f} MB (idle {self.idle_mb:.0f} MB), slowest API answer "
            f"{self.api_slowest_s:.2f} s, {self.seconds:.1f} s"
        )


def message(
    size: int, subject: str = "big", sender: str = "s@sender.test", to: str = "u@example.com"
) -> bytes:
    head = f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n\r\n".encode()
    return head + _LINE * max(1, (size - len(head)) // len(_LINE))


class ApiProbe:
    """`GET /api/stats` every 100 ms in a thread; `slowest` is the longest answer so far (an
    answer that does not come within 30 s counts as 30 s)."""

    def __init__(self, http_port: int) -> None:
        self._url = f"http://127.0.0.1:{http_port}/api/stats"
        self._stop = threading.Event()
        self.slowest = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ApiProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self._url, timeout=30) as response:
                    response.read()
            except OSError:
                pass
            self.slowest = max(self.slowest, time.perf_counter() - started)


async def _reply(reader: asyncio.StreamReader) -> bytes:
    line = await reader.readline()
    while line[3:4] == b"-":
        line = await reader.readline()
    return line


async def send_streamed(port: int, size: int) -> bytes:
    """One message of about `size` bytes over SMTP, written 1 MB at a time; the DATA reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _reply(reader)
        for command in (
            b"EHLO bench.test",
            b"MAIL FROM:<s@sender.test>",
            b"RCPT TO:<u@example.com>",
        ):
            writer.write(command + b"\r\n")
            await _reply(reader)
        writer.write(b"DATA\r\n")
        await _reply(reader)
        writer.write(b"From: s@sender.test\r\nTo: u@example.com\r\nSubject: big\r\n\r\n")
        for _ in range(max(1, size // len(_CHUNK))):
            writer.write(_CHUNK)
            await writer.drain()
        writer.write(b".\r\n")
        reply = await _reply(reader)
        writer.write(b"QUIT\r\n")
        await _reply(reader)
        return reply
    finally:
        writer.close()


def _engine(workdir: Path) -> servers.Server:
    server = servers.Server.engine(workdir, servers.rule_set([servers.rule("b", ["example.com"])]))
    server.argv += ["--submission", ""]  # no SMTP interface: its default port may be taken
    return server


async def restart(workdir: Path, count: int, size: int) -> Figures:
    server = _engine(workdir)
    await server.start()
    try:
        with smtplib.SMTP("127.0.0.1", server.smtp_port) as client:
            client.sendmail("s@sender.test", ["u@example.com"], message(1000, "seed"))
        await server.drained(1)
        idle = server.status_kb("VmRSS") / 1024
    finally:
        server.stop()
    store = Store(workdir / "data")
    store.open()
    try:
        seed = store.messages()[0]
        raw = message(size)
        for n in range(count):
            record = MessageRecord(
                id=f"pending{n:08d}",
                received_at=now_iso(),
                mail_from="s@sender.test",
                recipients=("u@example.com",),
                client_ip="127.0.0.1",
                helo="bench.test",
                tls=False,
                state_id=seed.state_id,
                size=len(raw),
                status=MessageStatus.PENDING,
                finished_at=None,
            )
            await store.spool(record, raw)
    finally:
        store.close()
    started = time.perf_counter()
    await server.start()
    try:
        with ApiProbe(server.http_port or 0) as probe:
            drained, note = await server.drained(count + 1, timeout=3600)
            assert drained is not None, note
        peak = server.status_kb("VmHWM") / 1024
    finally:
        server.stop()
    return Figures("restart", count, size, idle, peak, probe.slowest, time.perf_counter() - started)


async def _under_load(
    server: servers.Server,
    scenario: str,
    count: int,
    size: int,
    load: Callable[[], Awaitable[None]],
    *,
    sent: bool = False,
) -> Figures:
    """Start `server`, run `load` while the API is probed, wait until its `count` messages
    (with `sent`, sent ones) are processed, and read the figures."""
    await server.start()
    try:
        idle = server.status_kb("VmRSS") / 1024
        started = time.perf_counter()
        with ApiProbe(server.http_port or 0) as probe:
            await load()
            drained, note = await server.drained(count, timeout=3600, sent=sent)
            assert drained is not None, note
        peak = server.status_kb("VmHWM") / 1024
    finally:
        server.stop()
    return Figures(scenario, count, size, idle, peak, probe.slowest, time.perf_counter() - started)


async def concurrent(workdir: Path, count: int, size: int) -> Figures:
    server = _engine(workdir)

    async def load() -> None:
        replies = await asyncio.gather(
            *(send_streamed(server.smtp_port, size) for _ in range(count))
        )
        assert all(r.startswith(b"250 ") for r in replies), replies

    return await _under_load(server, "concurrent", count, size, load)


def _submit(port: int, message: bytes) -> None:
    """One message through the SMTP interface, as an application would send it."""
    key, secret = servers.ACCESS_KEY
    with smtplib.SMTP("127.0.0.1", port, timeout=600) as client:
        client.login(key, smtp_password(secret, "us-east-1"))
        client.sendmail("s@example.com", [SIMULATOR], message)


async def submission(workdir: Path, count: int, size: int) -> Figures:
    rules = servers.rule_set([servers.rule("b", ["example.com"])])
    server = servers.Server.engine(workdir, rules, sending=True)
    raw = message(size, sender="s@example.com", to=SIMULATOR)

    async def load() -> None:
        for _ in range(count):
            await asyncio.to_thread(_submit, server.submission_port or 0, raw)

    return await _under_load(server, "submission", count, size, load, sent=True)


def _shipped(workdir: Path) -> servers.Server:
    """The engine as `inbound serve` runs with the shipped config files (a copy of config/),
    on free ports, without the SMTP interface (its default port may be taken)."""
    servers.byte_compile(servers.ROOT)
    shutil.copytree(servers.ROOT / "config", workdir / "config")
    (workdir / "data").mkdir()
    smtp, http = servers.free_port(), servers.free_port()
    argv = [
        *(sys.executable, "-m", servers.ENGINE_MODULE, "serve"),
        *("--config", str(workdir / "config" / "inbound.toml"), "--submission", ""),
        *("--smtp", f"127.0.0.1:{smtp}", "--http", f"127.0.0.1:{http}"),
        *("--data", str(workdir / "data")),
    ]
    return servers.Server(argv, smtp, workdir / "server.log", http_port=http, cwd=servers.ROOT)


async def _idle(server: servers.Server, scenario: str, count: int, size: int) -> Figures:
    await server.start()
    try:
        started_mb = server.status_kb("VmRSS") / 1024
        started = time.perf_counter()
        raw = message(size, "warm-up", to="hello@example.com")
        for _ in range(count):
            with smtplib.SMTP("127.0.0.1", server.smtp_port) as client:
                client.sendmail("s@sender.test", ["hello@example.com"], raw)
        drained, note = await server.drained(count)
        assert drained is not None, note
        after = server.status_kb("VmRSS") / 1024
        peak = server.status_kb("VmHWM") / 1024
    finally:
        server.stop()
    seconds = time.perf_counter() - started
    return Figures(scenario, count, size, started_mb, peak, 0.0, seconds, after)


async def idle(workdir: Path, count: int, size: int) -> Figures:
    return await _idle(_engine(workdir), "idle", count, size)


async def idle_shipped(workdir: Path, count: int, size: int) -> Figures:
    return await _idle(_shipped(workdir), "idle-shipped", count, size)


async def floor(workdir: Path, count: int, size: int) -> Figures:
    return await _idle(servers.Server.sink(workdir, http=True), "floor", count, size)


async def _main(args: argparse.Namespace) -> None:
    size = args.scale
    runs = {
        "restart": (restart, 256, int(10 * MB * size)),
        "concurrent": (concurrent, 20, int(40 * MB * size)),
        "submission": (submission, 1, int(30 * MB * size)),
        "idle": (idle, 1, 10_000),
        "idle-shipped": (idle_shipped, 1, 10_000),
        "floor": (floor, 1, 10_000),
    }
    for name in args.only.split(","):
        run, count, message_size = runs[name]
        workdir = Path(tempfile.mkdtemp(prefix=f"inbound-memory-{name}-"))
        try:
            print((await run(workdir, count, message_size)).line(), flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="message size factor (1.0)")
    parser.add_argument("--only", default="restart,concurrent", help="scenarios, by name")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
