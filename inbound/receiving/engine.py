"""The receiving engine: decides each RCPT, accepts mail durably, then runs the rules.

`smtp.py` asks it three things: may this recipient be accepted (`check_rcpt`), take this
message (`accept`, which returns only once the message is on disk), and the reply texts. After
`250`, the message is processed in the background by `Pipeline` under the rule-set snapshot it
was received with; `resume()` at start-up finishes whatever a previous process left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any

from inbound import activity
from inbound.config import RetrySettings
from inbound.ids import new_message_id
from inbound.model import TlsPolicy
from inbound.receiving import replies
from inbound.receiving.budget import MemoryBudget
from inbound.receiving.evaluation import Evaluator
from inbound.receiving.filters import FilterVerdict, IpFilterTable
from inbound.receiving.journal import Journal
from inbound.receiving.keeper import StateKeeper
from inbound.receiving.message import MessageView
from inbound.receiving.pipeline import Pipeline, Plan
from inbound.receiving.replies import SmtpReply
from inbound.receiving.retries import Retries
from inbound.records import MessageRecord, MessageStatus, RetryEntry, TraceRow
from inbound.scheduling import backoff
from inbound.store import StorageError, Store
from inbound.store.bodies import SpooledBody
from inbound.timestamps import now_iso

log = logging.getLogger("inbound.engine")

# Messages processed at once. Each waits for the store's writer several times (a checkpoint
# of its trace before each action with effects, the S3 object, the last rows), so a slot is
# mostly waiting: at 16, 10 KB mail at 50 connections filled the backlog (MAX_UNPROCESSED)
# and the replies to DATA waited for room (docs/cpu.md, "Third round"). More at once also
# makes the writer's batches larger, fewer commits per message. Memory stays bounded by
# PROCESSING_MEMORY. 128 rather than 64: at c=50 the slots still waited on the writer with the
# event loop partly idle; ahead in 6 of 8 interleaved pairs (docs/cpu.md, "Fourth round").
MAX_CONCURRENT_PROCESSING = 128
# Backpressure: with this many messages accepted but not yet processed, the reply to the next
# DATA waits for one to finish (clients wait minutes for it, RFC 5321 §4.5.3.2.6), so a burst
# cannot grow the backlog, or memory, without bound.
MAX_UNPROCESSED = 256
# Bodies of messages waiting for a processing slot stay in memory up to this total; past it a
# waiting message keeps only its id and its body is read back from the spool when its turn comes
# (a read of the database on the event loop). At 10 KB and 50 connections the backlog holds
# ~230 messages (MAX_UNPROCESSED less the slots, and the accepts that all go on once room is
# made): at 2 MiB, 234-241 of 3,000 were read back (docs/cpu.md, "Fourth round").
BACKLOG_MEMORY = 4 * 1024 * 1024
# The memory budget of the messages being processed at once (receiving/budget.py): each holds
# BODY_COPIES times its size (its body, the message as a rule sees it, what a backend writes).
PROCESSING_MEMORY = 64 * 1024 * 1024
BODY_COPIES = 3
# A run whose steps could not be recorded (the data dir is full or read-only) is tried again
# after a backoff within these bounds, until it is recorded or the server stops.
STORAGE_RETRY_SECONDS = (0.5, 30.0)
# Compiled snapshots kept: the active one and the latest others (messages received under an
# older one compile it again from the store); each holds a recipient index of up to 20,000
# entries, and an API client editing 200 rules while mail arrives makes 200 snapshots.
COMPILED_SNAPSHOTS = 8


class Engine:
    def __init__(
        self,
        store: Store,
        pipeline: Pipeline,
        keeper: StateKeeper,
        *,
        hostname: str,
        evaluator: Evaluator,
        retries: RetrySettings,
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.keeper = keeper
        # Failed actions: retried by this worker, started by the app (inbound/retries.py).
        self.retries = Retries(store, pipeline, retries, self._load)
        self._view = functools.partial(MessageView, hostname=hostname, evaluator=evaluator)
        self._compiled: dict[str, tuple[Plan, IpFilterTable]] = {}
        self._active_plan: Plan | None = None  # the plan of the last active snapshot compiled
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_PROCESSING)
        self._memory = MemoryBudget(PROCESSING_MEMORY)
        self._unprocessed = 0
        self._has_room = asyncio.Event()
        self._has_room.set()
        self._backlog_bytes = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = asyncio.Event()

    # ── state ───────────────────────────────────────────────────────────────────────────────
    def _compile(self, snapshot_id: str) -> tuple[Plan, IpFilterTable]:
        """A receipt-state snapshot compiled once: the keeper's active one is used from the very
        next RCPT, compiled from the previous active one (`Plan.compile`); older ones serve
        the messages received under them."""
        found = self._compiled.get(snapshot_id)
        if found is None:
            state = self.keeper.snapshot(snapshot_id)
            active = snapshot_id == self.keeper.active.id
            plan = Plan.compile(state, self._active_plan if active else None)
            if active:
                self._active_plan = plan
            found = self._compiled[snapshot_id] = (plan, IpFilterTable(state.filters))
            if len(self._compiled) > COMPILED_SNAPSHOTS:
                oldest = next(k for k in self._compiled if k != self.keeper.active.id)
                del self._compiled[oldest]
        return found

    def _plan(self, snapshot_id: str) -> Plan:
        return self._compile(snapshot_id)[0]

    # ── SMTP decisions ──────────────────────────────────────────────────────────────────────
    async def check_rcpt(self, client_ip: str, address: str, tls: bool) -> SmtpReply:
        """Per recipient, in SES's order: IP filters, a matching rule, its TLS policy (§2, §1.5,
        §7). Any enabled matching rule that requires TLS rejects a plain-text session."""
        plan, filters = self._compile((await self.keeper.deciding()).id)
        if filters.verdict(client_ip) is FilterVerdict.BLOCKED:
            return replies.S550_IP_BLACKLISTED
        positions = plan.index.match(address)
        if not positions:
            return replies.S550_MAILBOX_UNAVAILABLE
        if not tls:
            rules = plan.rule_set.rules  # type: ignore[union-attr]
            if any(rules[p].tls_policy is TlsPolicy.REQUIRE for p in positions):
                return replies.S550_TLS_REQUIRED
        return replies.S250_OK

    def receives_for(self, address: str) -> bool:
        """Whether an enabled rule of the active rule set matches `address`: where sending
        delivers mail through this engine (inbound/sending/routes.py). IP filters and TLS
        policies are not asked: that mail comes from the engine itself."""
        return bool(self._plan(self.keeper.active.id).index.match(address))

    async def accept(
        self,
        *,
        mail_from: str,
        recipients: Iterable[str],
        raw: bytes | SpooledBody,
        client_ip: str,
        helo: str,
        tls: bool,
        message_id: str | None = None,
    ) -> str:
        """Spool the message durably under the current snapshot; returns its SES message id.
        With MAX_UNPROCESSED messages waiting to be processed it first waits for one to finish
        (backpressure: the client's end-of-DATA reply is later, nothing is refused).

        A `message_id` from the caller makes this idempotent: a message already spooled under
        it is not spooled again (sending's delivery names each of its steps so, and a kill
        between the spool and the step's record does not deliver twice)."""
        if message_id is not None and self.store.message(message_id) is not None:
            return message_id
        while self._unprocessed >= MAX_UNPROCESSED:
            self._has_room.clear()
            await self._has_room.wait()
        record = MessageRecord(
            id=message_id or new_message_id(),
            received_at=now_iso(),
            mail_from=mail_from,
            recipients=tuple(recipients),
            client_ip=client_ip,
            helo=helo,
            tls=tls,
            state_id=self.keeper.active.id,
            size=raw.size if isinstance(raw, SpooledBody) else len(raw),
            status=MessageStatus.PENDING,
            finished_at=None,
        )
        if isinstance(raw, SpooledBody):  # its file is moved into place first, in a thread
            # A client that hangs up right after CRLF.CRLF cancels the SMTP handler, and with
            # it this wait, but not the task: a message that reaches the spool is processed
            # now, not at the next start.
            spooled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._track(self._receive(record, raw, spooled))
            await spooled
            return record.id
        # The commit wakes this wait itself, ahead of the processing it resumes: the `250`
        # goes out in the next turn of the event loop (docs/cpu.md, "Third round").
        written = self.store.queue_spool(record, raw)
        try:
            await written
        except asyncio.CancelledError:  # the client hung up: the write goes on without it
            self._track(self._receive_unwaited(record, raw))
            raise
        self._schedule(record, raw, resumed=False)
        return record.id

    async def _receive(
        self, record: MessageRecord, raw: SpooledBody, spooled: asyncio.Future[None]
    ) -> None:
        """Spool a message written to a file as it arrived, tell `accept` through `spooled`,
        then process it: one task per message, not one to spool and one to process (each
        costs the event loop microseconds)."""
        try:
            await self.store.spool(record, raw)
        except BaseException as exc:
            if spooled.done():  # `accept` is no longer waiting
                pass
            elif isinstance(exc, Exception):
                spooled.set_exception(exc)
            else:  # this task was cancelled
                spooled.cancel()
            raise
        if not spooled.done():
            spooled.set_result(None)
        _, held = self._admit(None)  # its body is read back from its file when its turn comes
        await self._process(record, None, held, resumed=False)

    async def _receive_unwaited(self, record: MessageRecord, raw: bytes) -> None:
        """Process a message whose spool nobody waited for, once its write is committed:
        what is queued after it commits after it."""
        await self.store.flush(durable=False)
        if self.store.message(record.id) is not None:
            body, held = self._admit(raw)
            del raw  # one waiting past BACKLOG_MEMORY keeps no reference to its body (_admit)
            await self._process(record, body, held, resumed=False)

    # ── processing ──────────────────────────────────────────────────────────────────────────
    def _schedule(self, record: MessageRecord, raw: bytes | None, *, resumed: bool) -> None:
        """Process a message in a task: one just spooled, or one accepted earlier (resumed,
        taken over)."""
        body, held = self._admit(raw)
        self._track(self._process(record, body, held, resumed))

    def _admit(self, raw: bytes | None) -> tuple[bytes | None, int]:
        """Count a message as waiting to be processed; the body it keeps while it waits and its
        size. Decided before a coroutine takes the body as an argument: a waiting message past
        BACKLOG_MEMORY keeps no reference to its body at all (its coroutine frames would hold
        it however the body is dropped further down)."""
        self._unprocessed += 1
        if raw is None or self._backlog_bytes + len(raw) > BACKLOG_MEMORY:
            return None, 0
        self._backlog_bytes += len(raw)
        return raw, len(raw)

    def _track(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` as a task that `drain()` waits for."""
        self._idle.clear()
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        failure = None if task.cancelled() else task.exception()
        if failure is not None and not isinstance(failure, StorageError):  # the SMTP reply's
            log.error("processing failed", exc_info=failure)
        if not self._tasks:
            self._idle.set()

    async def _process(
        self, record: MessageRecord, raw: bytes | None, held: int, resumed: bool
    ) -> None:
        try:
            await self._process_in_turn(record, raw, held, resumed)
        finally:
            self._unprocessed -= 1
            if self._unprocessed < MAX_UNPROCESSED:
                self._has_room.set()

    async def _process_in_turn(
        self, record: MessageRecord, raw: bytes | None, held: int, resumed: bool
    ) -> None:
        async with self._slots, self._memory.hold(record.size * BODY_COPIES):
            self._backlog_bytes -= held
            if raw is None:
                raw = await self.store.read_raw(record.id)
                if raw is None:  # reset through the API while it waited
                    return
            for attempt in itertools.count(1):
                try:
                    await self._run(record, raw, resumed)
                    return
                except StorageError as exc:
                    if self._closing.is_set():
                        log.warning(
                            "message %s left pending for the next start: %s", record.id, exc
                        )
                        return
                    delay = backoff(attempt, *STORAGE_RETRY_SECONDS).total_seconds()
                    log.warning(
                        "could not record message %s: %s; trying again in %.1f s",
                        record.id, exc, delay,
                    )  # fmt: skip
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), delay)
                    resumed = True  # go on from what was recorded before the failure

    async def _run(self, record: MessageRecord, raw: bytes, resumed: bool) -> None:
        """One run of the rules over the message, from what its journal says is done."""
        started = time.perf_counter()
        journal = Journal.of(self.store.trace(record.id)) if resumed else Journal()
        steps = _Steps(record, self.store, self.retries)
        await self.pipeline.run(
            self._view(record, raw), self._plan(record.state_id), journal, steps
        )
        await steps.finish()
        activity.received(record, steps.done, (time.perf_counter() - started) * 1000)
        # Entries are worked on once their message is done; a resumed message may have
        # some from before the restart.
        if steps.failures or resumed:
            self.retries.wake()

    @contextlib.asynccontextmanager
    async def _load(self, message_id: str) -> AsyncIterator[tuple[MessageView, Plan] | None]:
        """A message as received and its rule-set snapshot, for a retry (None: removed), held
        within the memory budget as a message being processed is."""
        record = self.store.message(message_id)
        if record is None:
            yield None
            return
        async with self._memory.hold(record.size * BODY_COPIES):
            raw = await self.store.read_raw(message_id)
            yield None if raw is None else (self._view(record, raw), self._plan(record.state_id))

    async def resume(self) -> None:
        """Finish every message a previous process accepted but did not finish (§ item 7)."""
        pending = self.store.claim_unfinished()
        for record in pending:  # bodies are read when their turn comes, within the budget
            self._schedule(record, None, resumed=True)
        if pending:
            log.info("resuming %d unfinished message(s)", len(pending))

    def take_over(self) -> None:
        """Process the pending messages that engines sharing the store left when their lease
        ran out (inbound/takeover.py), as many as the backlog has room for: the rest go to
        the next sweep, or to another engine. Their journals say what is done already."""
        room = MAX_UNPROCESSED - self._unprocessed
        if room <= 0 or self._closing.is_set():
            return
        taken = self.store.claim_abandoned(room)
        for record in taken:
            self._schedule(record, None, resumed=True)
        if taken:
            log.info("taking over %d message(s) another engine left unfinished", len(taken))

    async def drain(self) -> None:
        """Wait until every scheduled message has been processed and recorded."""
        await self._idle.wait()
        await self.store.flush()

    async def close(self) -> None:
        self._closing.set()  # a run that cannot be recorded now waits for the next start
        try:
            await self.drain()
        except StorageError as exc:  # what was not recorded is done again at the next start
            log.warning("could not record the last steps before stopping: %s", exc)
        await self.retries.stop()


class _Steps:
    """The `Recorder` of one message's run: its new steps go to the store in one write per
    checkpoint, and the last ones with `finish()`. A failed action's retry entry commits with
    the row that reports the failure.

    What an action submitted without waiting (an S3 object's record) commits before the step
    that says it is done, unless the store's writer was lost in between (a process that died:
    `writer_losses`); then no step is recorded and the run fails, to go on from the steps
    recorded before (the action runs again)."""

    def __init__(self, record: MessageRecord, store: Store, retries: Retries) -> None:
        self._record = record
        self._store = store
        self._retries = retries
        self._losses = store.writer_losses
        self._rows: list[TraceRow] = []
        self._entries: list[RetryEntry] = []
        self.failures = 0
        self.done: list[TraceRow] = []  # every step of this run, for its log line

    def record(self, row: TraceRow) -> None:
        if row.error is not None:
            row, entry = self._retries.failed(self._record, row)
            if entry is not None:
                self._entries.append(entry)
                self.failures += 1
        self._rows.append(row)
        self.done.append(row)

    async def checkpoint(self) -> None:
        # One write per side effect, before it: steps without one (a rule match, an AddHeader)
        # wait for it, and the last step goes with `finish()`.
        if self._rows:
            await self._add(finished=False)
            self._rows.clear()
            self._entries.clear()

    async def finish(self) -> None:
        """Record the remaining steps and mark the message done, in one write."""
        await self._add(finished=True)

    async def _add(self, *, finished: bool) -> None:
        if self._store.writer_losses != self._losses:
            raise StorageError("the store's writer was lost while the message was processed")
        await self._store.add_trace(
            self._record.id, self._rows, finished=finished, retries=self._entries
        )
