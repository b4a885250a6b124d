"""Delivery of sent mail: the worker that takes each stored message through what happens after
a Send* operation stored it.

One worker (`scheduling.DueWorker`) takes the messages in the order they were stored: those a
killed process left pending (`Store.sent_pending_ids`, read at start), then those the Sender
hands it as it stores them, with their bytes, so that nothing is read back (profiled: the
reads were a tenth of a send's CPU on the event loop). Each message is delivered by
sending/message_delivery.py; each pass also publishes what came back to the messages' envelope
senders (sending/returned.py) and, with a relay, the relay's recorded attempts
(`Store.relay_outcomes_due`, sending/relay_events.py).

Exactly once: each step with an effect outside the message is recorded in the message's trace
under a key as soon as it is made, and a resumed message skips the keys on record
(sending/journal.py). docs/behaviour.md "Delivery of sent mail" has the choices and the SES
pages they rest on.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from inbound.backends import Mailer
from inbound.config import RelaySettings
from inbound.identities.book import IdentityBook
from inbound.receiving.engine import Engine
from inbound.receiving.verdicts import ContentScanner
from inbound.records import SentMessage, SentStatus
from inbound.scheduling import PAGE_SIZE, DueWorker
from inbound.sending.answers import Answers
from inbound.sending.feedback import Feedback
from inbound.sending.message_delivery import MessageDelivery
from inbound.sending.outgoing import Outgoings
from inbound.sending.relay_events import RelayEvents
from inbound.sending.reporting import Reporter
from inbound.sending.returned import Returned
from inbound.sending.routes import Routes
from inbound.sending.service import SendingConfiguration
from inbound.sending.suppression import SuppressionList
from inbound.store import Store

log = logging.getLogger("inbound.delivery")

RETRY_SECONDS = 5.0  # after a pass that failed as a whole (the store)
# The queued messages' bytes kept in memory, in all and each; beyond, read back when due.
HELD_BYTES, HELD_MESSAGE_BYTES = 16 * 1024 * 1024, 1024 * 1024

T = TypeVar("T")


class Deliveries:
    """The delivery worker. `wake()` is the Sender's hand-off once a message is stored."""

    def __init__(
        self,
        store: Store,
        feedback: Feedback,
        sending: SendingConfiguration,
        identities: IdentityBook,
        engine: Engine,
        mailer: Mailer,
        virus: ContentScanner,
        *,
        region: str,
        account_id: str,
        relay: RelaySettings | None = None,
    ) -> None:
        self._store = store
        suppression = SuppressionList(store)
        outgoings = Outgoings(identities, region, account_id)
        reporter = Reporter(feedback, sending, suppression)
        routes = Routes(engine, mailer)
        answers = Answers(reporter, routes)
        self._messages = MessageDelivery(
            store, outgoings, reporter, routes, answers, suppression, virus, relay
        )
        self._returned = Returned(store, outgoings, reporter, routes)
        self._relayed = RelayEvents(store, outgoings, reporter, routes, relay)
        self._worker = DueWorker(
            self._run_due,
            lambda: None,  # nothing waits for a time: every pending message is due now
            name="inbound-delivery",
            log=log,
            what="delivery of sent mail",
            retry_seconds=RETRY_SECONDS,
        )
        self._page_full = False  # the last pass had as many as it could take: run another
        self._due: collections.deque[_Due] = collections.deque()  # oldest first
        self._failed: list[_Due] = []  # tried again at the next pass, as they were pending
        self._known: set[str] = set()  # queued, failed or in progress: never taken twice
        self._held_bytes = 0  # the bytes of the queued messages (HELD_BYTES)

    def start(self) -> None:
        """Queue what a previous process left pending, then run: before the Send* operations
        are served (app.py), so no message is both read here and handed over."""
        self._queue_pending(self._store.sent_pending_ids())
        self._worker.start()

    def take_over(self) -> None:
        """Deliver the sent messages that engines sharing the store left unfinished when
        their lease ran out (inbound/takeover.py), a page at a time; the pass this wakes
        claims their returned mail and relay outcomes too."""
        self._queue_pending(self._store.sent_abandoned_ids(PAGE_SIZE))
        self._worker.wake()

    def _queue_pending(self, message_ids: list[str]) -> None:
        for message_id in message_ids:
            if message_id not in self._known:
                self._queue_due(_Due(message_id, self._store.generation))

    def hand(self, record: SentMessage, raw: bytes | None) -> None:
        """The Sender's hand-off of a message it stored: queued with its bytes within
        HELD_MESSAGE_BYTES and HELD_BYTES, else by id, read from the store when its turn
        comes."""
        if record.id in self._known:
            return
        size = len(raw or b"")
        if size > HELD_MESSAGE_BYTES or self._held_bytes + size > HELD_BYTES:
            self._queue_due(_Due(record.id, self._store.generation))
        else:
            self._queue_due(_Due(record.id, self._store.generation, record, raw, size))
        self._worker.wake()

    def _queue_due(self, due: _Due) -> None:
        self._due.append(due)
        self._known.add(due.id)
        self._held_bytes += due.size

    def wake(self) -> None:
        self._worker.wake()

    async def settle(self) -> None:
        """Wait until every message stored before this call has been dealt with, and its trace
        committed: passes until one that was not a full page (a full one means more were
        pending)."""
        await self._worker.settle()
        while self._page_full:
            await self._worker.settle()
        await self._store.flush(durable=False)

    async def stop(self) -> None:
        await self._worker.stop()

    async def _run_due(self, limit: int) -> int:
        """Deliver up to `limit` pending messages; returns how many finished. One that fails
        (a bug, a backend raising where it should not) stays pending and is tried again at the
        next wake-up, without holding up the others."""
        self._due.extendleft(reversed(self._failed))
        self._failed = []
        taken = [self._due.popleft() for _ in range(min(limit, len(self._due)))]
        finished = await self._each(taken, self._deliver_due, lambda d: f"sent message {d.id}")
        finished += await self._each(
            self._store.sent_returns_due(limit),
            lambda due: self._returned.publish(*due),
            lambda due: f"mail returned to sent message {due[0].sent_id}",
        )
        finished += await self._each(
            self._store.relay_outcomes_due(limit),
            self._relayed.publish,
            lambda o: f"relay outcome {o.attempt} of sent message {o.sent_id}",
        )
        self._page_full = finished >= limit and not self._worker.closing
        return min(finished, limit)  # `limit`: the worker runs the next page at once

    async def _each(
        self, due: Sequence[T], handle: Callable[[T], Awaitable[None]], name: Callable[[T], str]
    ) -> int:
        """`handle` each item until the worker closes; returns how many finished."""
        finished = 0
        for item in due:
            if self._worker.closing:
                break
            try:
                await handle(item)
            except Exception:
                log.exception("delivering %s failed", name(item))
            else:
                finished += 1
        return finished

    async def _deliver_due(self, due: _Due) -> None:
        """A queued message, unless the store was reset since it was queued; one that fails
        is queued again for the next pass."""
        self._held_bytes -= due.size
        try:
            if due.generation == self._store.generation:
                await self._deliver_stored(due)
        except Exception:
            self._failed.append(dataclasses.replace(due, record=None, raw=None, size=0))
            raise
        self._known.discard(due.id)

    async def _deliver_stored(self, due: _Due) -> None:
        record, raw = due.record, due.raw
        if record is None:
            record, raw = self._store.sent_message(due.id), self._store.sent_raw(due.id)
            if record is None:
                return
        if raw is None and record.status is not SentStatus.RENDERING_FAILURE:
            return  # reset through the API since it was stored
        await self._messages.deliver(record, raw)


@dataclasses.dataclass(frozen=True)
class _Due:
    """A message for the worker: with its record and bytes when handed over as stored, by id
    when it was pending at start (or too big to hold, `Deliveries.hand`). `generation` is the
    store's when it was queued (Store.generation)."""

    id: str
    generation: int
    record: SentMessage | None = None
    raw: bytes | None = None
    size: int = 0  # of `raw`, counted in HELD_BYTES
