"""SMTP load generator on raw asyncio streams.

Speaks lock-step ESMTP (aiosmtpd offers no PIPELINING): EHLO once per connection (and
`AUTH PLAIN` after it when the load has credentials, as a client of the SES SMTP interface
does), then per message MAIL / RCPT... / DATA / payload, and QUIT at the end. Each of
``concurrency`` workers opens ``connections`` connections one after another and sends
``per_connection`` messages on each, so messages-per-connection stays fixed whatever the total.

In ``reject`` mode a transaction is MAIL / RCPT... / RSET (no DATA): it measures how fast the
server answers RCPT, whatever the code (550 from the engine, 250 from the sink).

Latency is per transaction: from writing MAIL to the final reply (250 after DATA, or the RSET
reply in ``reject`` mode). Reply codes are counted per command.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

Mode = Literal["send", "reject"]
T = TypeVar("T")


@dataclass(frozen=True)
class Load:
    host: str
    port: int
    concurrency: int
    connections: int  # per worker, sequential
    per_connection: int
    message: bytes  # wire form: dot-stuffed, ends with CRLF (the "." line is added here)
    rcpts: tuple[str, ...]
    mode: Mode = "send"
    sender: str = "loadgen@sender.test"
    auth: tuple[str, str] | None = None  # (user name, password) for AUTH PLAIN
    # more servers to spread the workers over: worker i connects to (port, *spread)[i % n]
    spread: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        return self.concurrency * self.connections * self.per_connection


@dataclass
class LoadResult:
    elapsed: float = 0.0
    transactions: int = 0  # transactions completed (whatever the codes)
    accepted: int = 0  # messages that got 250 after DATA
    latencies: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)  # e.g. "RCPT 550"
    errors: list[str] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        """Latency percentile in seconds (nearest rank); NaN if nothing was measured."""
        return percentile(self.latencies, p)


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile `p` of `values`; NaN if there are none."""
    if not values:
        return float("nan")
    data = sorted(values)
    k = min(len(data) - 1, max(0, round(p / 100 * len(data) + 0.5) - 1))
    return data[k]


class SMTPError(Exception):
    pass


async def _reply(reader: asyncio.StreamReader) -> int:
    line = await reader.readuntil(b"\r\n")
    while line[3:4] == b"-":
        line = await reader.readuntil(b"\r\n")
    return int(line[:3])


async def _connection(load: Load, port: int, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(load.host, port, limit=1 << 20)
    try:
        code = await _reply(reader)
        if code != 220:
            raise SMTPError(f"greeting {code}")
        writer.write(b"EHLO loadgen.test\r\n")
        if (code := await _reply(reader)) != 250:
            raise SMTPError(f"EHLO {code}")
        if load.auth:
            user, password = load.auth
            token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
            writer.write(f"AUTH PLAIN {token}\r\n".encode())
            if (code := await _reply(reader)) != 235:
                raise SMTPError(f"AUTH {code}")
        mail = f"MAIL FROM:<{load.sender}>\r\n".encode()
        rcpts = [f"RCPT TO:<{r}>\r\n".encode() for r in load.rcpts]
        payload = load.message + b".\r\n"
        codes = result.codes
        latencies = result.latencies
        clock = time.perf_counter
        for _ in range(load.per_connection):
            t0 = clock()
            writer.write(mail)
            code = await _reply(reader)
            codes[f"MAIL {code}"] += 1
            if code != 250:
                raise SMTPError(f"MAIL {code}")
            ok_rcpts = 0
            for rcpt in rcpts:
                writer.write(rcpt)
                code = await _reply(reader)
                codes[f"RCPT {code}"] += 1
                ok_rcpts += code in (250, 251)
            if load.mode == "reject" or not ok_rcpts:
                writer.write(b"RSET\r\n")
                code = await _reply(reader)
                codes[f"RSET {code}"] += 1
            else:
                writer.write(b"DATA\r\n")
                code = await _reply(reader)
                codes[f"DATA {code}"] += 1
                if code != 354:
                    raise SMTPError(f"DATA {code}")
                writer.write(payload)
                await writer.drain()
                code = await _reply(reader)
                codes[f"DOT {code}"] += 1
                result.accepted += code == 250
            latencies.append(clock() - t0)
            result.transactions += 1
        writer.write(b"QUIT\r\n")
        await _reply(reader)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _worker(load: Load, port: int, result: LoadResult) -> None:
    for _ in range(load.connections):
        try:
            await _connection(load, port, result)
        except (OSError, asyncio.IncompleteReadError, SMTPError, ValueError) as exc:
            result.errors.append(f"{type(exc).__name__}: {exc}")


async def run_load(load: Load) -> LoadResult:
    """Run the whole load; ``elapsed`` covers first connect to last QUIT reply."""
    result = LoadResult()
    t0 = time.perf_counter()
    ports = (load.port, *load.spread)
    await asyncio.gather(
        *(_worker(load, ports[i % len(ports)], result) for i in range(load.concurrency))
    )
    result.elapsed = time.perf_counter() - t0
    return result


def make_message(
    size: int, *, to: str = "bench@example.com", sender: str = "loadgen@sender.test"
) -> bytes:
    """A valid RFC 5322 text/plain message of exactly ``size`` bytes, CRLF line endings.

    Body lines are ASCII words, at most 78 characters, never starting with "." so the wire
    form needs no dot-stuffing.
    """
    rng = random.Random(size)
    head = (
        f"From: Load Generator <{sender}>\r\n"
        f"To: <{to}>\r\n"
        f"Subject: inbound benchmark message of {size} bytes\r\n"
        "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
        f"Message-ID: <bench-{size}@sender.test>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "Content-Transfer-Encoding: 7bit\r\n"
        "\r\n"
    ).encode()
    words = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"]
    lines: list[bytes] = []
    remaining = size - len(head)
    if remaining < 2:
        raise ValueError(f"size {size} is smaller than the header block")
    while remaining > 0:
        if remaining <= 78:
            line = "x" * (remaining - 2)
        else:
            line = ""
            while len(line) < 70:
                line += rng.choice(words) + " "
            line = line.rstrip()[:76]
            if remaining - len(line) - 2 == 1:  # would leave a single byte: no line fits it
                line = line[:-1].rstrip()
        lines.append(line.encode() + b"\r\n")
        remaining -= len(line) + 2
    message = head + b"".join(lines)
    assert len(message) == size
    return message


def _main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="SMTP load generator (lock-step ESMTP)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-c", "--concurrency", type=int, default=10)
    ap.add_argument("--connections", type=int, default=1, help="per worker")
    ap.add_argument("-m", "--per-connection", type=int, default=100)
    ap.add_argument("--size", type=int, default=10 * 1024)
    ap.add_argument("--rcpt", action="append", default=None)
    ap.add_argument("--mode", choices=["send", "reject"], default="send")
    args = ap.parse_args()
    rcpts = tuple(args.rcpt or ["bench@example.com"])
    load = Load(
        host=args.host,
        port=args.port,
        concurrency=args.concurrency,
        connections=args.connections,
        per_connection=args.per_connection,
        message=make_message(args.size, to=rcpts[0]),
        rcpts=rcpts,
        mode=args.mode,
    )
    cpu0 = time.process_time()
    res = new_event_loop_run(run_load(load))
    cpu = time.process_time() - cpu0
    n = max(res.transactions, 1)
    print(
        f"{res.transactions} transactions in {res.elapsed:.2f}s"
        f" = {res.transactions / res.elapsed:.0f}/s"
        f"  p50 {res.percentile(50) * 1e3:.2f} ms  p99 {res.percentile(99) * 1e3:.2f} ms"
        f"  client CPU {cpu / n * 1e6:.0f} us/txn"
    )
    print(dict(res.codes), res.errors[:3])


def new_event_loop_run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on uvloop when installed (cheaper client), else on the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def loop_name() -> str:
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    return f"uvloop {getattr(uvloop, '__version__', '?')}"


if __name__ == "__main__":
    _main()
