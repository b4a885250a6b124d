"""`VersionReads` (store/postgresql/reads.py): each decision waits for a read of the change
count that started after it asked, and the decisions asking while a read is in flight share
the next one. The read is a blocking function held open by the test (run in a thread), so
the order of events is fixed, not timed."""

from __future__ import annotations

import asyncio
import threading

from inbound.store.postgresql.reads import VersionReads


class HeldReads:
    """A read that returns its own number (1, 2, ...) once the test lets it."""

    def __init__(self) -> None:
        self.started = 0
        self.began = threading.Semaphore(0)
        self.finish = threading.Semaphore(0)

    def __call__(self) -> int:
        self.started += 1
        number = self.started
        self.began.release()
        self.finish.acquire()
        return number


async def _began(reads: HeldReads) -> None:
    await asyncio.to_thread(reads.began.acquire)


def test_callers_during_a_read_share_the_next_one_and_never_an_earlier_one() -> None:
    async def scenario() -> None:
        held = HeldReads()
        versions = VersionReads(lambda: asyncio.to_thread(held))
        first = asyncio.create_task(versions.after_now())
        await _began(held)  # read 1 is in flight: it started before the next callers asked
        later = [asyncio.create_task(versions.after_now()) for _ in range(5)]
        await asyncio.sleep(0)
        held.finish.release()
        assert await first == 1
        await _began(held)  # read 2 starts once read 1 is over, for all five
        assert held.started == 2
        held.finish.release()
        assert await asyncio.gather(*later) == [2] * 5
        # nobody waiting: the next caller starts a read of its own at once
        last = asyncio.create_task(versions.after_now())
        await _began(held)
        held.finish.release()
        assert await last == 3
        assert held.started == 3

    asyncio.run(scenario())


def test_a_failed_read_fails_its_callers_and_the_next_caller_reads_again() -> None:
    calls = 0

    async def read() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("lost")
        return 7

    async def scenario() -> None:
        versions = VersionReads(read)
        outcomes = await asyncio.gather(
            versions.after_now(), versions.after_now(), return_exceptions=True
        )
        assert [type(o) for o in outcomes] == [ConnectionError, ConnectionError]
        assert await versions.after_now() == 7

    asyncio.run(scenario())
