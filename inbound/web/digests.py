"""Digesting messages for the UI's list and search (store/browse.py), when the UI asks.

A digest costs about 2 ms of CPU per 12 KB message (parsing it, 1.5 ms; indexing it, 0.4 ms;
measured, docs/ui.md): as much again as receiving it, so it is not paid when mail is accepted
but when a list is shown, for the messages stored since. A list request starts the catch-up
and waits for it at most `WAIT_SECONDS`; a long backlog (a benchmark's 100,000 messages) goes
on in the background, in batches off the event loop, and the live list shows it as it lands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from inbound.records import Digest, Direction
from inbound.web import mime

if TYPE_CHECKING:
    from inbound.store import Store

BATCH = 200
WAIT_SECONDS = 1.0

Head = tuple[str, int, str, tuple[str, ...], bytes]  # id, rowid, from, to, first bytes


class Digester:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._tasks: dict[Direction, asyncio.Task[None]] = {}

    async def catch_up(self, direction: Direction) -> None:
        task = self._tasks.get(direction)
        if task is None or task.done():
            task = self._tasks[direction] = asyncio.create_task(self._run(direction))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(task), WAIT_SECONDS)

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, direction: Direction) -> None:
        while due := self._store.undigested(direction, BATCH):
            heads = [self._head(direction, message_id, rowid) for message_id, rowid in due]
            digests = await asyncio.to_thread(_digest_all, heads)
            await self._store.add_digests(direction, digests)

    def _head(self, direction: Direction, message_id: str, rowid: int) -> Head:
        """What a digest is made of, read on the event loop (the store's reader is its)."""
        store = self._store
        if direction is Direction.SENT:
            sent = store.sent_message(message_id)
            assert sent is not None
            head = _start(store.sent_body_file(message_id), lambda: store.sent_raw(message_id))
            return message_id, rowid, sent.source, sent.recipients, head
        record = store.message(message_id)
        assert record is not None
        head = _start(store.body_file(message_id), lambda: store.raw(message_id))
        return message_id, rowid, record.mail_from, record.recipients, head


def _start(path: Path | None, raw: Callable[[], bytes | None]) -> bytes:
    """The first `DIGEST_HEAD` bytes of a body: a large one, kept as a file, is not read whole."""
    if path is None:
        return (raw() or b"")[: mime.DIGEST_HEAD]
    with path.open("rb") as body:
        return body.read(mime.DIGEST_HEAD)


def _digest_all(heads: list[Head]) -> list[Digest]:
    return [mime.digest(*head) for head in heads]
