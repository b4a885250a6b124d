"""Work that falls due later: the worker loop, the backoff and the waiting time that the retry
worker (receiving/retries.py) and the outbox relay (outbox/relay.py) share.

A `DueWorker` is one task that runs a page of due work, then sleeps until `wake()` or until the
earliest due time; it never polls. A full page means more may be due, so it runs the next one
at once. The work itself is the owner's, given as two callables (`run_due`, `next_due`): what
is due, how it is attempted and where it is kept stay with the retry worker and the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from inbound.timestamps import from_wire

PAGE_SIZE = 100  # due items run per pass
STOP_GRACE_SECONDS = 10.0  # how long stop() lets work in progress finish by default


def backoff(attempts: int, initial_seconds: float, max_seconds: float) -> timedelta:
    """Exponential backoff with "equal jitter": half the step fixed, half random, so items that
    failed together (an endpoint down) do not all come back at the same moment."""
    step = min(max_seconds, initial_seconds * 2 ** min(attempts - 1, 32))
    return timedelta(seconds=step / 2 + random.uniform(0, step / 2))


def seconds_until(due: str | None) -> float | None:
    """How long to sleep until `due` (SES's timestamp form; None: nothing is due, sleep until
    woken). A little past it, so that the item compares as due when the worker wakes."""
    if due is None:
        return None
    return max(0.0, (from_wire(due) - datetime.now(UTC)).total_seconds()) + 0.002


class DueWorker:
    """`run_due(limit)` runs up to `limit` items due now and returns how many were due;
    `next_due()` says when the earliest item not yet due falls due. A pass that raises is
    logged as "`what` failed" on `log` and the worker tries again after `retry_seconds`."""

    def __init__(
        self,
        run_due: Callable[[int], Awaitable[int]],
        next_due: Callable[[], str | None],
        *,
        name: str,
        log: logging.Logger,
        what: str,
        retry_seconds: float,
        grace_seconds: float = STOP_GRACE_SECONDS,
    ) -> None:
        self._run_due = run_due
        self._next_due = next_due
        self._name = name
        self._log = log
        self._what = what
        self._retry_seconds = retry_seconds
        self._grace_seconds = grace_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._begun = 0  # passes begun / finished, for settle()
        self._finished = 0
        self._passed = asyncio.Condition()

    @property
    def closing(self) -> bool:
        """True once stop() was called: work in progress should end at the next item."""
        return self._closing

    def start(self) -> None:
        self._closing = False
        self._task = asyncio.create_task(self._run(), name=self._name)

    def wake(self) -> None:
        self._wake.set()

    async def settle(self) -> None:
        """Wait until the worker has made a whole pass that began after this call (so every
        item due now has been attempted). Returns at once when the worker is not running."""
        if self._task is None or self._task.done():
            return
        ticket = self._begun + 1
        self.wake()
        async with self._passed:
            await self._passed.wait_for(lambda: self._finished >= ticket or self._task is None)

    async def stop(self) -> None:
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self._grace_seconds)
        except TimeoutError:  # what was cut off stays due and is attempted on the next start
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._passed:
            self._passed.notify_all()

    async def _run(self) -> None:
        while not self._closing:
            self._wake.clear()
            self._begun += 1
            delay: float | None
            try:
                full = await self._run_due(PAGE_SIZE) == PAGE_SIZE
                delay = 0.0 if full else seconds_until(self._next_due())
            except Exception:  # the store or a bug: keep the worker alive, try again later
                self._log.exception("%s failed; trying again", self._what)
                delay = self._retry_seconds
            async with self._passed:
                self._finished = self._begun
                self._passed.notify_all()
            if self._closing:
                return
            if delay == 0.0:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
