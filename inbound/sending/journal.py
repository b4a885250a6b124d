"""A sent message's journal: its delivery steps on record, by key, in its trace.

Each step of the delivery worker with an effect outside the message (an event published, a
notification, a message spooled or queued) is recorded under a key as soon as it is made, and
a resumed message skips the keys on record (the shared journal, inbound/journal.py, as
receiving's rule actions do). Records are queued without waiting for their commit
(`Store.record_sent_steps`): a kill between an effect and its record makes that one effect
again when the message resumes (at least once for the step in flight).
"""

from __future__ import annotations

import time
from typing import Any

from inbound import activity
from inbound.journal import Steps
from inbound.records import SentMessage, SentStatus
from inbound.store import Store

Step = dict[str, Any]


class SentJournal(Steps[str, Step]):
    """The steps of one message already on record, by key; new ones are recorded as made."""

    def __init__(self, store: Store, record: SentMessage) -> None:
        super().__init__({s["key"]: s for s in record.trace if "key" in s}, self._write)
        self._store = store
        self._sent = record
        self._started = time.perf_counter()

    def _write(self, key: str, step: Step) -> Step:
        step = {"key": key, **step}
        self._store.record_sent_steps(self._sent.id, [step])
        return step

    def finish(self, status: SentStatus, step: Step) -> None:
        self._store.record_sent_steps(self._sent.id, [step], finished=status)
        activity.sent(self._sent, status, step, (time.perf_counter() - self._started) * 1000)
