"""The servers run on uvloop, and the test harness on the same loop as `inbound serve`."""

from __future__ import annotations

import asyncio

import uvloop

from inbound import eventloop
from inbound.testing import RunningInbound


async def _running_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_serve_runs_on_uvloop() -> None:
    assert isinstance(eventloop.run(_running_loop()), uvloop.Loop)


def test_the_harness_runs_on_the_loop_serve_uses(inbound_server: RunningInbound) -> None:
    assert isinstance(inbound_server.call(_running_loop()), uvloop.Loop)
