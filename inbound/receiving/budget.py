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
from types import TracebackType


class MemoryBudget:
    def __init__(self, total: int) -> None:
        self.total = total
        self._free = total
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def hold(self, amount: int) -> _Hold:
        """Hold `amount` bytes of the budget (at most all of it) for an `async with` block."""
        return _Hold(self, min(amount, self.total))

    def _take_now(self, amount: int) -> bool:
        """Take `amount` if it is free and nobody waits before it; whether it was taken."""
        if self._waiting or amount > self._free:
            return False
        self._free -= amount
        return True

    async def _wait_for(self, amount: int) -> None:
        """Take `amount` in its turn, once it is free."""
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((amount, granted))
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():  # granted as it was cancelled
                self._release(amount)
            raise

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


class _Hold:
    """`MemoryBudget.hold`'s block: a class rather than an `asynccontextmanager`, whose
    generator cost the event loop a microsecond more per message."""

    __slots__ = ("_amount", "_budget")

    def __init__(self, budget: MemoryBudget, amount: int) -> None:
        self._budget, self._amount = budget, amount

    async def __aenter__(self) -> None:
        if not self._budget._take_now(self._amount):
            await self._budget._wait_for(self._amount)

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._budget._release(self._amount)
