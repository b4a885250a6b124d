"""`GET /ui/events`: Server-Sent Events telling open pages that messages changed, from the
store's announcements (inbound/store/changes.py), so lists and traces update without reload.

Each event is `event: received|sent|reset` with the message id as `data`; the page fetches
what it shows again (the event carries no mail content). A comment line every
`KEEPALIVE_SECONDS` finds a closed connection. Streams are bounded (`MAX_STREAMS`: 503 past
it) and end when the server shuts down (aiohttp's `on_shutdown`), so stopping never waits for
a browser tab.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from inbound.store import Store
from inbound.store.changes import Change

KEEPALIVE_SECONDS = 15.0
MAX_STREAMS = 64


def handler(store: Store) -> tuple[Handler, Callable[[], None]]:
    """`GET /ui/events`'s handler, and what ends its streams (the server shutting down)."""
    closing = asyncio.Event()
    streams: set[web.StreamResponse] = set()

    async def events(request: web.Request) -> web.StreamResponse:
        if len(streams) >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(text="too many open event streams")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        streams.add(response)
        try:
            with store.changes.listen() as queue:
                await response.write(b"retry: 2000\n\n")
                while not closing.is_set():
                    change = await _next(queue, closing)
                    if change is None:
                        await response.write(b": keep-alive\n\n")
                    else:
                        line = f"event: {change.kind}\ndata: {change.message_id or ''}\n\n"
                        await response.write(line.encode())
        except ConnectionResetError:
            pass  # the page went away
        finally:
            streams.discard(response)
        return response

    return events, closing.set


async def _next(queue: asyncio.Queue[Change], closing: asyncio.Event) -> Change | None:
    """The next change; None after KEEPALIVE_SECONDS of none, or once closing."""
    get = asyncio.ensure_future(queue.get())
    stop = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait(
            {get, stop}, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for task in (get, stop):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return get.result() if get in done else None
