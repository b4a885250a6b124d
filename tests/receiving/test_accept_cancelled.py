"""A client that hangs up right after CRLF.CRLF: aiosmtpd cancels its session's handler, and
with it the engine's wait for the spool's commit. The write goes on, and a message that
reaches the spool is processed now, not at the next start."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from tests.rulesets import message, rule, rules, sns


def test_a_message_whose_reply_nobody_waits_for_is_processed_now(
    inbound_factory: Callable[..., Any],
) -> None:
    running = inbound_factory(rules(rule("r", sns())))
    engine = running.server.engine

    async def hang_up_before_the_reply() -> None:
        accepting = asyncio.create_task(
            engine.accept(
                mail_from="a@sender.test",
                recipients=["user@example.com"],
                raw=message(subject="left early"),
                client_ip="127.0.0.1",
                helo="localhost",
                tls=False,
            )
        )
        await asyncio.sleep(0)  # it has queued the spool and waits for the commit
        accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
        await engine.drain()

    running.call(hang_up_before_the_reply())
    [received] = running.messages()
    assert received["status"] == "done"
    [note] = running.notifications()  # the rule's action ran, once
    assert note["message"]["mail"]["messageId"] == received["messageId"]
