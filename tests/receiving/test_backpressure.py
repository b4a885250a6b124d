"""Backpressure: too many accepted-but-unprocessed messages make the next DATA reply wait.

The engine accepts faster than it can run rules; without a bound, a burst would grow the
backlog (and memory) until the burst ends. With the bound reached, the reply to the next DATA
waits until a message finishes: the message is neither refused nor lost, only later.
"""

from __future__ import annotations

import asyncio
import threading
import time

from inbound.receiving import engine
from inbound.testing import RunningInbound
from tests.rulesets import FUNCTION, lambda_, message, rule, rules


def _held(inbound_factory) -> tuple[RunningInbound, threading.Event]:
    """A server whose one rule calls a Lambda function that waits until the event is set: each
    message then holds a processing slot until then."""
    release = threading.Event()

    def handler(event, context):
        release.wait(30)
        return {"disposition": "CONTINUE"}

    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))), lambda_handlers={FUNCTION: handler}
    )
    return server, release


def test_data_reply_waits_until_a_message_is_processed(inbound_factory, monkeypatch) -> None:
    monkeypatch.setattr(engine, "MAX_UNPROCESSED", 2)
    server, release = _held(inbound_factory)
    for n in range(2):  # accepted at once; both then wait inside the Lambda function
        server.send("sender@sender.test", ["user@example.com"], message(subject=f"m{n}"))

    replies: list[str] = []
    third = threading.Thread(
        target=lambda: replies.append(
            server.send("sender@sender.test", ["user@example.com"], message(subject="m2"))
        )
    )
    third.start()
    time.sleep(0.5)
    assert third.is_alive(), "the third DATA was answered while two messages were unprocessed"
    assert server.get("/api/stats")["messages"] == 2  # not even spooled yet

    release.set()
    third.join(30)
    assert not third.is_alive() and replies == [{}]
    server.wait_idle()
    assert [m["status"] for m in server.get("/api/messages")] == ["done"] * 3


def _bodies_held(task: asyncio.Task[None]) -> list[bytes]:
    """The message bodies (bytes of 5,000 octets or more) the coroutines of `task` hold in
    their locals and arguments, from the task's coroutine down the chain it awaits."""
    held, coro = [], task.get_coro()
    while coro is not None and getattr(coro, "cr_frame", None) is not None:
        held += [v for v in coro.cr_frame.f_locals.values() if isinstance(v, bytes)]
        coro = coro.cr_await
    return [body for body in held if len(body) >= 5000]


def test_waiting_messages_hold_their_bodies_only_within_the_backlog_budget(
    inbound_factory, monkeypatch
) -> None:
    """Past `BACKLOG_MEMORY`, a message waiting for a processing slot keeps no reference to its
    body, in any frame (docs/reliability.md, "Memory"); it is read back when its turn comes."""
    monkeypatch.setattr(engine, "MAX_CONCURRENT_PROCESSING", 1)
    monkeypatch.setattr(engine, "BACKLOG_MEMORY", 25_000)  # two of these 10 KB bodies
    server, release = _held(inbound_factory)
    filler = ("x" * 76 + "\r\n") * 130  # 10 KB
    for n in range(6):  # the first waits inside the Lambda function, five for its slot
        server.send("sender@sender.test", ["user@example.com"], message(f"m{n}", filler))

    async def held_by_waiting() -> list[int]:
        tasks = server.server.engine._tasks  # type: ignore[union-attr]
        return sorted(sum(map(len, _bodies_held(t))) for t in tasks)

    held = server.call(held_by_waiting())
    release.set()
    server.wait_idle()
    # The one being processed holds its body; of the five waiting, the first two hold theirs.
    assert len(held) == 6 and held.count(0) == 3, held
    assert [m["status"] for m in server.get("/api/messages")] == ["done"] * 6
