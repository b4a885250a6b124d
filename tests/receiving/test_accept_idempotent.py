"""A caller-named message id makes acceptance idempotent: what sending's delivery relies on
so that a step redone after a kill does not receive the same message twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from inbound.ids import message_id_for, new_message_id


def test_accept_with_the_same_id_spools_once(inbound_factory: Callable[..., Any]) -> None:
    running = inbound_factory()
    engine = running.server.engine
    message_id = message_id_for(1_764_979_200_000, "sent-id", "received")

    def accept() -> str:
        return running.call(
            engine.accept(
                mail_from="a@example.com",
                recipients=["b@example.com"],
                raw=b"Subject: once\r\n\r\nbody\r\n",
                client_ip="127.0.0.1",
                helo="localhost",
                tls=True,
                message_id=message_id,
            )
        )

    assert accept() == message_id
    assert accept() == message_id
    running.call(engine.drain())
    assert [m["messageId"] for m in running.messages()] == [message_id]


@given(st.integers(0, (1 << 48) - 2), st.lists(st.text(), min_size=1, max_size=4))
def test_named_ids_have_the_form_of_new_ones(milliseconds: int, parts: list[str]) -> None:
    named = message_id_for(milliseconds, *parts)
    assert named == message_id_for(milliseconds, *parts)
    assert len(named) == len(new_message_id()) and named.isalnum() and named == named.lower()
    assert message_id_for(milliseconds, *parts, "x") != named
    assert named < message_id_for(milliseconds + 1, *parts)  # by their time, as new ones
