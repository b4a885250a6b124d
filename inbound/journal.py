"""The steps of one piece of work, by key: those already on record, and new ones as made.

Work with effects outside the process (a receipt action, a sending event, a message spooled or
queued) can be cut off by a kill or a crash; the next start runs it again from the top with
what its trace has on record. A step on record is not made again: its record stands for it,
and steers the run as it did the first time. A new step is recorded as soon as it is made, so
at most the step in flight is made twice. Both pipelines keep their journals this way:
receiving's rule actions (receiving/pipeline.py, read back by receiving/journal.py) and the
delivery of sent mail (sending/journal.py). The owner's `record` decides how and when a record
is written (receiving buffers up to the next checkpoint, sending queues without waiting).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")


class Steps(Generic[K, S]):
    """`done`: the steps on record by key; `record(key, step)` writes a new one and returns it
    as it went on record."""

    def __init__(self, done: Mapping[K, S], record: Callable[[K, S], S]) -> None:
        self._done = dict(done)
        self._recorder = record

    def recorded(self, key: K) -> S | None:
        return self._done.get(key)

    def keep(self, key: K, step: S) -> None:
        """Record `step` unless one is on record under `key`: for a step made again on every
        run (it has no effect outside the work, or edits what the run works on)."""
        if key not in self._done:
            self._done[key] = self._recorder(key, step)

    async def once(self, key: K, effect: Callable[[], Awaitable[S | None]]) -> S | None:
        """The step on record under `key`, or `effect` made and recorded now. An effect that
        returns None did nothing (nothing to publish, no recipient): nothing is recorded."""
        found = self._done.get(key)
        if found is not None:
            return found
        step = await effect()
        if step is None:
            return None
        self.keep(key, step)
        return self._done[key]
