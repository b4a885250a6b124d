"""The web UI's queries (inbound/store/browse.py): search input is never FTS5 syntax, and the
digests the UI makes stay in step with the messages across a reset."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.records import (
    Digest,
    Direction,
    MessageFilter,
)
from inbound.store import Store
from tests.store.conftest import pending


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store(tmp_path_factory.mktemp("browse"))
    opened.open()
    asyncio.run(opened.save_state("s", "{}"))
    yield opened
    opened.close()


def _digest(message_id: str, rowid: int, body: str = "") -> Digest:
    return Digest(message_id, rowid, "subject", "a@sender.test", "u@example.com", body)


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_any_search_text_runs_as_literal_words(store: Store, text: str) -> None:
    for browse in (store.browse_received, store.browse_sent):
        found = browse(MessageFilter(text=text), 10, 0)  # never an FTS5 syntax error
        assert found is None or found.total == 0


def test_search_finds_what_was_typed_even_fts5_syntax(store: Store) -> None:
    async def fill() -> None:
        await store.spool(pending("q1"), b"x")
        await store.add_digests(Direction.RECEIVED, [_digest("q1", 1, 'say "NEAR(a b)" OR not')])

    asyncio.run(fill())
    found = store.browse_received(MessageFilter(text='"NEAR(a'), 10, 0)
    assert found is not None
    assert [s.record.id for s in found] == ["q1"]
    assert store.browse_received(MessageFilter(text="OR"), 10, 0) is not None
    assert store.browse_received(MessageFilter(text="*** ()"), 10, 0) is None  # no word
    asyncio.run(store.reset())


def test_digests_made_across_a_reset_do_not_hold_back_the_next_messages(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path)
    store.open()

    async def scenario() -> list[tuple[str, int]]:
        await store.save_state("s", "{}")
        for n in range(5):
            await store.spool(pending(f"old{n}"), b"x")
        due = store.undigested(Direction.RECEIVED, 10)
        await store.reset()  # while the UI digests `due`
        await store.add_digests(Direction.RECEIVED, [_digest(m, r) for m, r in due])
        await store.spool(pending("new"), b"x")
        return store.undigested(Direction.RECEIVED, 10)

    try:
        assert [m for m, _ in asyncio.run(scenario())] == ["new"]
    finally:
        store.close()
