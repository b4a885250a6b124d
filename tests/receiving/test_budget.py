"""The processing memory budget: shares within the total, first come first served, a share
larger than the total runs alone, and a cancelled waiter takes nothing."""

from __future__ import annotations

import asyncio

from inbound.receiving.budget import MemoryBudget


async def _scenario() -> list[str]:
    budget, order = MemoryBudget(10), []
    release = asyncio.Event()

    async def take(name: str, amount: int) -> None:
        async with budget.hold(amount):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(take("six", 6))
    await asyncio.sleep(0)
    big = asyncio.create_task(take("big", 50))  # more than the total: waits for all of it
    small = asyncio.create_task(take("two", 2))  # would fit now, but comes after `big`
    gone = asyncio.create_task(take("gone", 1))
    await asyncio.sleep(0.01)
    assert order == ["six"]
    gone.cancel()
    release.set()
    await asyncio.gather(first, big, small, return_exceptions=True)
    assert budget._free == 10  # everything given back, the cancelled waiter's too
    return order


def test_shares_are_granted_in_order_within_the_total() -> None:
    assert asyncio.run(_scenario()) == ["six", "big", "two"]
