"""Backpressure: too many accepted-but-unprocessed messages make the next DATA reply wait.

The engine accepts faster than it can run rules; without a bound, a burst would grow the
backlog (and memory) until the burst ends. With the bound reached, the reply to the next DATA
waits until a message finishes: the message is neither refused nor lost, only later.
"""

from __future__ import annotations

import threading
import time

from inbound.receiving import engine
from tests.rulesets import FUNCTION, lambda_, message, rule, rules


def test_data_reply_waits_until_a_message_is_processed(inbound_factory, monkeypatch) -> None:
    monkeypatch.setattr(engine, "MAX_UNPROCESSED", 2)
    release = threading.Event()

    def handler(event, context):
        release.wait(30)
        return {"disposition": "CONTINUE"}

    server = inbound_factory(
        rules(rule("r", lambda_("RequestResponse"))), lambda_handlers={FUNCTION: handler}
    )
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
