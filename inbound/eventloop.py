"""The event loop every server runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv's transports and scheduling, in C) cost the receiving event loop about 0.1 ms
less CPU per 10 KB message than asyncio's loop in interleaved pairs (benchmarks/RESULTS.md);
it is a dependency wherever it builds (not on Windows). The test harness runs on the same loop
as `inbound serve`, so what the suite proves holds for the loop users get.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # Windows, or an install without it
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
