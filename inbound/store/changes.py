"""What the store announces once a write is committed: a received message accepted or a step
of its trace recorded, a sent message stored or its delivery advanced, everything reset.

The web UI's live list (inbound/web/events.py) listens, so it learns of new mail without
polling. The store is the one place every path goes through (SMTP, sending's loopback, retries,
`DELETE /api/messages`), and it announces after the commit, so a listener that reads on the
announcement finds what was announced. A PostgreSQL store would use LISTEN/NOTIFY the same way.

Nobody listening costs one empty loop per write. A listener's queue is bounded: one that falls
behind misses announcements, never the fact that something changed (its queue is full of them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

QUEUE_SIZE = 64


class ChangeKind(StrEnum):
    RECEIVED = "received"  # a received message: accepted, or a step of its trace recorded
    SENT = "sent"  # a message a Send* operation accepted: stored, or its delivery advanced
    RESET = "reset"  # everything emptied (`DELETE /api/messages`)


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    message_id: str | None = None


class Changes:
    """Announcements, on the store's event loop."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[Change]] = set()

    @property
    def listening(self) -> bool:
        """Whether anyone listens: a writer that would wait for a commit only to announce it
        need not then."""
        return bool(self._listeners)

    def post(self, kind: ChangeKind, message_id: str | None = None) -> None:
        for queue in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(Change(kind, message_id))

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[Change]]:
        """A queue of what is committed from now on, until the block ends."""
        queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_SIZE)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)
