"""Bare aiosmtpd server: the ceiling the engine is measured against.

Its handler accepts every recipient and answers ``250 Ok`` to DATA at once, storing nothing.
Run: ``python -m benchmarks.sink --port 2525`` (SIGTERM or Ctrl-C to stop).

``--raw`` serves a protocol-only responder instead (no aiosmtpd, no parsing beyond finding line
ends and the end of DATA): it only measures how fast the load generator itself can go.

``--http PORT`` also serves ``GET /api/stats`` (the engine's counters: messages, pending 0) with
aiohttp on the same event loop: the least any engine with aiosmtpd and aiohttp's HTTP server
holds in memory (benchmarks/memory.py, ``floor``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class SinkHandler:
    messages = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages += 1
        return "250 Ok"


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


async def serve(host: str, port: int, *, raw: bool = False, http: int | None = None) -> None:
    loop = asyncio.get_running_loop()
    handler = SinkHandler()
    if http is not None:
        await serve_stats(handler, host, http)

    def factory() -> asyncio.Protocol:
        if raw:
            return RawResponder()
        # An explicit hostname: the default calls socket.getfqdn() for every connection.
        return SMTP(handler, hostname="sink.local", ident="bench sink")

    server = await loop.create_server(factory, host, port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"sink listening on smtp://{host}:{port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop (default: asyncio)")
    ap.add_argument("--raw", action="store_true", help="protocol-only responder, no aiosmtpd")
    ap.add_argument("--http", type=int, default=None, help="serve GET /api/stats on this port")
    args = ap.parse_args(argv)
    runner: Any = asyncio.run
    if args.uvloop:
        import uvloop

        runner = uvloop.run
    runner(serve(args.host, args.port, raw=args.raw, http=args.http))


if __name__ == "__main__":
    main()
