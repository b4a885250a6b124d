"""The worker loop and backoff shared by the retry worker and the outbox relay
(inbound/scheduling.py); their behaviour end to end is in receiving/test_retries.py and
outbox/test_relay.py."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from inbound.scheduling import PAGE_SIZE, DueWorker, backoff, seconds_until
from inbound.timestamps import now_iso


def test_backoff_doubles_with_equal_jitter_up_to_the_maximum() -> None:
    for attempts, step in ((1, 2), (2, 4), (3, 8), (4, 10), (100, 10)):
        delay = backoff(attempts, 2, 10)
        assert timedelta(seconds=step / 2) <= delay <= timedelta(seconds=step)


def test_seconds_until() -> None:
    assert seconds_until(None) is None
    assert seconds_until(now_iso()) == 0.002  # a little past the due time, never before it


def _worker(run_due: Callable[[int], Awaitable[int]]) -> DueWorker:
    return DueWorker(
        run_due,
        lambda: None,  # nothing else falls due: sleep until woken
        name="test",
        log=logging.getLogger("test"),
        what="the test",
        retry_seconds=60,
    )


def test_worker_runs_full_pages_at_once_and_sleeps_until_woken() -> None:
    due = [PAGE_SIZE, PAGE_SIZE, 3]
    limits: list[int] = []

    async def main() -> None:
        emptied = asyncio.Event()

        async def run_due(limit: int) -> int:
            limits.append(limit)
            if len(due) == 1:
                emptied.set()
            return due.pop(0) if due else 0

        worker = _worker(run_due)
        worker.start()
        await emptied.wait()
        await asyncio.sleep(0.05)
        assert limits == [PAGE_SIZE] * 3
        await worker.settle()  # wakes it for one more pass
        assert len(limits) == 4
        await worker.stop()
        assert worker.closing

    asyncio.run(main())


def test_a_failing_pass_is_logged_and_the_worker_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def run_due(limit: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("store down")
        return 0

    async def main() -> None:
        worker = _worker(run_due)
        worker.start()
        await worker.settle()
        await worker.settle()
        await worker.stop()

    asyncio.run(main())
    assert calls == 2
    assert "the test failed; trying again" in caplog.text
