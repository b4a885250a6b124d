"""The message as each action sees it (receiving/message.py): the header lines SES and AddHeader
put on top are encoded once per state and shared by `content`, `content_size` and `head`; each
answer is what the general form (`SplitMessage.with_headers` / `head_with` over `prepended`)
gives, however AddHeader and the scan setting interleave."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.headers import SplitMessage
from inbound.receiving.evaluation import Evaluator
from inbound.receiving.forced import OverrideBook
from inbound.receiving.message import MessageView
from inbound.receiving.verdicts import GTUBE_SCANNER, NoDnsAuthenticator
from inbound.records import MessageRecord, MessageStatus
from inbound.store import Store

RECORD = MessageRecord(
    "0" * 40, "2026-12-05T05:00:00.000Z", "a@sender.test", ("b@example.com",), "192.0.2.1",
    "client.test", False, "s", 0, MessageStatus.PENDING, None,
)  # fmt: skip
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=40)
_FIELD = st.tuples(st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True), _TEXT)
_RAW = st.builds(
    lambda head, body: head + body,
    st.sampled_from([b"", b"From: a@sender.test\r\nSubject: hi\r\n\r\n", b"To: b\n\n"]),
    st.binary(max_size=300),
)
# what a run does next: add a header (AddHeader), or ask for the message with scan on or off
_STEPS = st.lists(st.one_of(_FIELD, st.booleans()), max_size=12)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Evaluator]:
    store = Store(tmp_path_factory.mktemp("view"))
    store.open()
    yield Evaluator(GTUBE_SCANNER, GTUBE_SCANNER, NoDnsAuthenticator(), OverrideBook(store))
    store.close()


@settings(deadline=None)
@given(raw=_RAW, steps=_STEPS)
def test_each_view_of_the_message_is_its_general_form(
    evaluator: Evaluator, raw: bytes, steps: list[tuple[str, str] | bool]
) -> None:
    view = MessageView(RECORD, raw, hostname="inbound.test", evaluator=evaluator)
    asyncio.run(view.evaluate("s", True, None))
    split = SplitMessage.parse(raw)
    for step in [*steps, False, True]:
        if isinstance(step, tuple):
            view.added.append(step)
            continue
        whole = split.with_headers(view.prepended(step))
        assert view.content_size(step) == len(whole)
        assert view.content(step) == whole
        assert view.head(step) == split.head_with(view.prepended(step))
        assert view.content_size(step) == len(whole)  # asked again, from what is kept
