"""A memory budget in bytes, shared by the messages being processed at once.

Processing holds a message's body and the copies the rules make of it (the message as a rule
sees it, with SES's headers on top; what a backend writes). A count of concurrent messages does
not bound that: sixteen 40 MB messages are not sixteen 10 KB ones. So each message takes its
share of the budget before its body is read and gives it back when done; a message larger than
the whole budget runs alone. Shares are granted first come, first served, so a large message is
never overtaken forever by small ones.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    @asynccontextmanager
    async def hold(self, amount: int) -> AsyncIterator[None]:
        """Hold `amount` bytes of the budget (at most all of it) for the block's duration."""
        amount = min(amount, self.total)
        if self._waiting or amount > self._free:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.append((amount, granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():  # granted as it was cancelled
                    self._release(amount)
                raise
        else:
            self._free -= amount
        try:
            yield
        finally:
            self._release(amount)

    def _release(self, amount: int) -> None:
        self._free += amount
        while self._waiting:
            wanted, granted = self._waiting[0]
            if granted.cancelled():
                self._waiting.popleft()
                continue
            if wanted > self._free:
                break
            self._waiting.popleft()
            self._free -= wanted
            granted.set_result(None)
