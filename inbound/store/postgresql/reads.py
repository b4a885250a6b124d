"""`VersionReads`: the count of document changes (`document_version`, docs/cluster.md "Live
state") read for every decision on a shared store, without blocking the event loop, and
shared by the decisions that wait at the same moment.

A decision must see every change committed before it was asked for, so the read it waits for
must start after it asks; a read already in flight may have started before. A caller therefore
waits for the next read to start: the one running when nobody waits, or the one that starts
when the read in flight ends. Every caller that asks meanwhile shares that next read. Sessions
whose messages committed together send their next RCPT together (group commit), so under load
one or two reads serve a whole batch of them, where one blocking read per RCPT held the event
loop for a round trip each (measured with benchmarks/pgscale.py: 16% of one engine's event
loop, 1,200 reads for 1,200 messages). The read is a coroutine (an asyncio connection's);
a read in a thread kept each decision waiting 2.6-4.8 ms (store/postgresql/engine.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class VersionReads:
    """Reads of `read` (a coroutine function), shared as the docstring says."""

    def __init__(self, read: Callable[[], Awaitable[int]]) -> None:
        self._read = read
        self._next: asyncio.Future[int] | None = None  # the read not started yet, if awaited
        self._reading: asyncio.Task[None] | None = None

    async def after_now(self) -> int:
        """The count as read by a read that started after this call."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            if self._reading is None:
                self._reading = asyncio.create_task(self._reads())
        return await asyncio.shield(self._next)

    async def _reads(self) -> None:
        try:
            while (future := self._next) is not None:
                self._next = None
                try:
                    future.set_result(await self._read())
                except Exception as exc:  # every caller of this read gets it
                    future.set_exception(exc)
        finally:
            self._reading = None
