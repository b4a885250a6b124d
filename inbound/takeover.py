"""The sweep of a store shared by several engines (PostgreSQL, docs/cluster.md "Sharing the
work"; the worker processes of `[server] workers`): every `Store.takeover_interval()`
seconds (half a lease), the running engine takes over what engines that stopped renewing
their lease left: pending received messages, sent messages whose delivery is unfinished,
and, by waking the workers that claim them on each pass, retries, outbox entries, relay
outcomes and returned mail.

Without it, a killed engine's work waited for the next engine to start. Each sweep costs a
few claims (one statement each, a page at most), whatever the load; a claim takes a row that
another engine holds only once that engine's lease has run out, and the journal of each
message (or sent message) skips what is recorded as done, so nothing runs twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from inbound.store import StorageError

log = logging.getLogger("inbound.takeover")


class Takeover:
    def __init__(self, interval: float, steps: Sequence[Callable[[], None]]) -> None:
        self._interval = interval
        self._steps = steps
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbound-takeover")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            for step in self._steps:
                try:
                    step()
                except StorageError as exc:  # the database unreachable: the next sweep
                    log.warning("could not take over other engines' work: %s", exc)
                except Exception:  # a bug: logged, and the next sweep
                    log.exception("taking over other engines' work failed")
