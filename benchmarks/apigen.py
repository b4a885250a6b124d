"""SES API load generator: `SendRawEmail` over HTTP/1.1 keep-alive, on raw asyncio streams.

The HTTP counterpart of ``loadgen.py``, driven by the same ``Load``: each of ``concurrency``
workers opens ``connections`` connections one after another and makes ``per_connection``
calls on each, one at a time (as an SDK client with one pooled connection does). A call is the
Query-protocol form a boto3 ``send_raw_email(Source=..., Destinations=[...], RawMessage=...)``
sends, unsigned (the engine's default ``[api] auth = "off"`` accepts it; SigV4 would add the
client's signing cost and the server's check to every call).

Latency is per call, from writing the request to the end of the response body; reply codes
are counted as ``HTTP <status>``, and a call is accepted when the status is 200.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from urllib.parse import urlencode

from benchmarks.loadgen import Load, LoadResult


class HTTPError(Exception):
    pass


def request(load: Load) -> bytes:
    """The whole HTTP request of one ``SendRawEmail`` call, built once per load."""
    form = {
        "Action": "SendRawEmail",
        "Version": "2010-12-01",
        "Source": load.sender,
        **{f"Destinations.member.{i}": rcpt for i, rcpt in enumerate(load.rcpts, 1)},
        "RawMessage.Data": base64.b64encode(load.message).decode(),
    }
    body = urlencode(form).encode()
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {load.host}:{load.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


async def _response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, _, fields = head.partition(b"\r\n")
    length = None
    for field in fields.split(b"\r\n"):
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:  # the engine always sends one; anything else is not worth timing
        raise HTTPError(f"no Content-Length in {status_line!r}")
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _connection(load: Load, payload: bytes, result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(load.host, load.port, limit=1 << 20)
    clock = time.perf_counter
    try:
        for _ in range(load.per_connection):
            t0 = clock()
            writer.write(payload)
            status = await _response(reader)
            result.codes[f"HTTP {status}"] += 1
            result.accepted += status == 200
            result.latencies.append(clock() - t0)
            result.transactions += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _worker(load: Load, payload: bytes, result: LoadResult) -> None:
    for _ in range(load.connections):
        try:
            await _connection(load, payload, result)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HTTPError,
                ValueError) as exc:  # fmt: skip
            result.errors.append(f"{type(exc).__name__}: {exc}")


async def run_api_load(load: Load) -> LoadResult:
    """Run the whole load; ``elapsed`` covers first connect to the last response."""
    result = LoadResult()
    payload = request(load)
    t0 = time.perf_counter()
    await asyncio.gather(*(_worker(load, payload, result) for _ in range(load.concurrency)))
    result.elapsed = time.perf_counter() - t0
    return result
