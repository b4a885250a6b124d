"""Failed actions are retried with backoff, visibly, and never lost (spec receiving.md §8).

An action that fails (its executor raised or returned an error: missing bucket, denied write,
missing topic, endpoint down, Lambda function error or timeout) is a **PublishFailure**: its
trace row says so, the rest of the rule set runs on, and a `retries` entry is committed in the
same transaction as that row, so it survives a crash or restart. Size-limit failures
(`Result.final`) already bounced with 552 5.2.3 and are never retried.

The worker (`Retries.start()` / `stop()`, one task per server) sleeps until the earliest due
entry or a `wake()` (a message with failures finished, the API asked for a retry); it never
polls. An entry is attempted only once its message is `done`: `Pipeline.retry` then re-runs
exactly that one action, on the message as that action saw it (the AddHeader actions before it
re-applied under the same rule-set snapshot). The retried action's `Outcome` (e.g. a Lambda
`STOP_RULE_SET`) is recorded but changes nothing: the rule evaluation it belonged to finished
long ago, and later actions already ran.

Every attempt adds a `kind: "retry"` row to the message's trace: `status` `Delivered`,
`PublishFailure` (with the next attempt) or `PublishExpired`. When the window
(`[retries] window_seconds`, default SES's four hours, counted from receipt) has passed and the
action still fails, it is **PublishExpired** and the envelope sender gets the
`451 4.3.0 This message could not be delivered due to a recipient error. Please try again
later.` DSN: once per message, naming all its envelope recipients, never for a null sender.
`fail_fast` expires an action at its first failure instead, so the DSN goes out at once.
Delivery is at least once: an attempt cut off by a crash is made again on the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from inbound.actions import ActionContext
from inbound.actions.sender_bounce import RECIPIENT_ERROR, bounce_to_sender
from inbound.config import RetrySettings
from inbound.model import REAPPLIED_TYPES
from inbound.receiving.journal import Journal
from inbound.receiving.message import MessageView
from inbound.receiving.pipeline import Pipeline, Plan
from inbound.records import (
    MessageRecord,
    PublishStatus,
    RetryEntry,
    RetryStatus,
    TraceKind,
    TraceRow,
)
from inbound.scheduling import DueWorker, backoff
from inbound.store import Store
from inbound.timestamps import from_wire, now_iso, to_wire

log = logging.getLogger("inbound.retries")

CONCURRENT_MESSAGES = 8  # messages retried at once; one message's actions one after another

# `load(message_id)`: the message view and its rule-set snapshot (None: removed) for the block.
Loader = Callable[[str], contextlib.AbstractAsyncContextManager[tuple[MessageView, Plan] | None]]


class Retries:
    """The retry policy and its worker. `load(message_id)` gives the message view and the
    rule-set snapshot it was received under (the engine's, holding the message's share of the
    processing memory budget for as long as the retry works on it)."""

    def __init__(
        self, store: Store, pipeline: Pipeline, settings: RetrySettings, load: Loader
    ) -> None:
        self.store = store
        self.pipeline = pipeline
        self.settings = settings
        self._load = load
        self._worker = DueWorker(
            self._run_due,
            store.retries_next_attempt,
            name="inbound-retries",
            log=log,
            what="retrying failed actions",
            retry_seconds=settings.initial_seconds,
        )

    # ── the policy, applied while a message is processed ─────────────────────────────────
    def failed(self, record: MessageRecord, row: TraceRow) -> tuple[TraceRow, RetryEntry | None]:
        """The row to record for an action step, and the retry entry its failure starts
        (None: it did not fail, or its failure is final)."""
        if (
            row.kind != TraceKind.ACTION
            or row.error is None
            or row.detail.get("final")
            or row.action in REAPPLIED_TYPES  # applied again by every run and retry anyway
            or row.rule_position is None
            or row.action_index is None
        ):
            return row, None
        now = datetime.now(UTC)
        deadline = from_wire(record.received_at) + timedelta(seconds=self.settings.window_seconds)
        if self.settings.fail_fast or now >= deadline:
            status, next_attempt = RetryStatus.EXPIRED, None
            retry: dict[str, Any] = {"status": PublishStatus.EXPIRED, "reason": self._reason()}
        else:
            status, next_attempt = (
                RetryStatus.PENDING,
                to_wire(min(now + self._backoff(1), deadline)),
            )
            retry = {
                "status": RetryStatus.PENDING,
                "nextAttempt": next_attempt,
                "deadline": to_wire(deadline),
            }
        entry = RetryEntry(
            message_id=record.id,
            rule_position=row.rule_position,
            action_index=row.action_index,
            rule=row.rule or "",
            action=row.action or "",
            status=status,
            attempts=1,
            deadline=to_wire(deadline),
            next_attempt=next_attempt,
            last_error=row.error,
        )
        return dataclasses.replace(row, detail={**row.detail, "retry": retry}), entry

    def _reason(self) -> str:
        return "fail_fast" if self.settings.fail_fast else "the retry window has ended"

    def _backoff(self, attempts: int) -> timedelta:
        return backoff(attempts, self.settings.initial_seconds, self.settings.max_seconds)

    # ── control ──────────────────────────────────────────────────────────────────────────
    def start(self) -> None:
        self._worker.start()

    def wake(self) -> None:
        self._worker.wake()

    async def retry_now(self, message_id: str) -> int:
        """Make the message's pending and expired actions due now; returns how many. An
        expired action gets one more attempt (its DSN, if sent, is not sent again)."""
        count = await self.store.retry_now(message_id, now_iso())
        if count:
            self.wake()
        return count

    async def settle(self) -> None:
        """Wait until the worker has made a whole pass that began after this call (so every
        entry due now has been attempted). Returns at once when the worker is not running."""
        await self._worker.settle()

    async def stop(self) -> None:
        """An attempt cut off by the grace period stays pending: it is made on the next start."""
        await self._worker.stop()

    # ── the worker's pass ────────────────────────────────────────────────────────────────
    async def _run_due(self, limit: int) -> int:
        await self.store.flush()  # the engine's trace writes are submitted, not awaited
        due = self.store.retries_due(now_iso(), limit)
        by_message: dict[str, list[RetryEntry]] = defaultdict(list)
        for entry in due:
            by_message[entry.message_id].append(entry)
        slots = asyncio.Semaphore(CONCURRENT_MESSAGES)
        await asyncio.gather(*(self._message(e, slots) for e in by_message.values()))
        return len(due)

    async def _message(self, entries: list[RetryEntry], slots: asyncio.Semaphore) -> None:
        async with slots:
            for entry in entries:
                if self._worker.closing:
                    return
                try:
                    # A fresh view for each: AddHeader appends to it, and a retry re-applies.
                    async with self._load(entry.message_id) as loaded:
                        if loaded is None:  # removed meanwhile (DELETE /api/messages)
                            return
                        if entry.status == RetryStatus.PENDING:
                            await self._attempt(entry, *loaded)
                        else:
                            await self._expire(entry, *loaded, None)
                except Exception as exc:  # a bug, or the store: never retry in a tight loop
                    log.exception("retrying %s %s failed", entry.message_id, entry.target)
                    with contextlib.suppress(Exception):
                        await self._internal_error(entry, exc)

    async def _attempt(self, entry: RetryEntry, view: MessageView, plan: Plan) -> None:
        journal = Journal.of(self.store.trace(entry.message_id))
        row = await self.pipeline.retry(view, plan, entry.target, journal)
        if row is None:  # cannot happen under an immutable snapshot; do not loop on it
            row = _unnumbered(
                entry,
                TraceKind.ACTION,
                {"status": PublishStatus.FAILURE},
                "the action is no longer in the rule set snapshot",
            )
        attempts = entry.attempts + 1
        now = datetime.now(UTC)
        detail = {**row.detail, "attempt": attempts}
        if row.error is None:
            entry = dataclasses.replace(
                entry, status=RetryStatus.DELIVERED, attempts=attempts, next_attempt=None
            )
            await self.store.retry_attempted(
                entry, _retry_row(row, PublishStatus.DELIVERED, detail)
            )
            log.info("retry %s %s delivered", entry.message_id, entry.target)
            return
        deadline = from_wire(entry.deadline)
        if now >= deadline or row.detail.get("final"):
            entry = dataclasses.replace(
                entry,
                status=RetryStatus.EXPIRED,
                attempts=attempts,
                next_attempt=None,
                last_error=row.error,
            )
            await self._expire(entry, view, plan, _retry_row(row, PublishStatus.EXPIRED, detail))
            return
        next_attempt = to_wire(min(now + self._backoff(attempts), deadline))
        entry = dataclasses.replace(
            entry, attempts=attempts, next_attempt=next_attempt, last_error=row.error
        )
        detail["retry"] = {"status": RetryStatus.PENDING, "nextAttempt": next_attempt}
        await self.store.retry_attempted(entry, _retry_row(row, row.detail["status"], detail))

    async def _expire(
        self, entry: RetryEntry, view: MessageView, plan: Plan, row: TraceRow | None
    ) -> None:
        """PublishExpired: the 451 4.3.0 DSN unless this message already has one (spec §8)."""
        if row is None:  # expired when it first failed (fail_fast): this records the expiry
            detail = {"status": PublishStatus.EXPIRED, "reason": self._reason()}
            row = _unnumbered(entry, TraceKind.RETRY, detail, entry.last_error)
        detail = dict(row.detail)
        earlier = self.store.message_dsn(entry.message_id)
        if earlier is not None:
            detail["dsn"] = f"already sent for this message: {earlier}"
            dsn = earlier
        else:  # the DSN returns the message's headers, verdicts included
            await self.pipeline.evaluate(view, plan, Journal.of(self.store.trace(entry.message_id)))
            dsn = (await bounce_to_sender(self._context(entry, view, plan), RECIPIENT_ERROR))["dsn"]
            detail["dsn"] = dsn
        entry = dataclasses.replace(entry, status=RetryStatus.EXPIRED, next_attempt=None, dsn=dsn)
        await self.store.retry_attempted(entry, dataclasses.replace(row, detail=detail))
        log.info("retry %s %s expired (DSN: %s)", entry.message_id, entry.target, dsn)

    async def _internal_error(self, entry: RetryEntry, exc: Exception) -> None:
        """Record it and move on: a pending entry waits for its next backoff step, an expired
        one is settled without a DSN."""
        error = f"internal error: {type(exc).__name__}: {exc}"
        status: PublishStatus
        if entry.status == RetryStatus.PENDING:
            later = datetime.now(UTC) + self._backoff(entry.attempts + 1)
            entry = dataclasses.replace(entry, next_attempt=to_wire(later), last_error=error)
            status = PublishStatus.FAILURE
        else:
            entry = dataclasses.replace(entry, dsn=f"not sent: {error}")
            status = PublishStatus.EXPIRED
        row = _unnumbered(entry, TraceKind.RETRY, {"status": status}, error)
        await self.store.retry_attempted(entry, row)

    def _context(self, entry: RetryEntry, view: MessageView, plan: Plan) -> ActionContext:
        """The DSN's context: the failed action, and every envelope recipient (one DSN for
        the message, however many of its actions expired)."""
        rule_set = plan.rule_set
        assert rule_set is not None
        rule = rule_set.rules[entry.rule_position]
        return ActionContext(
            view,
            rule_set.name,
            rule,
            rule.actions[entry.action_index],
            view.record.recipients,
            self.pipeline.backends,
            self.pipeline.site,
        )


def _retry_row(row: TraceRow, status: PublishStatus, detail: dict[str, Any]) -> TraceRow:
    return dataclasses.replace(row, kind=TraceKind.RETRY, detail={**detail, "status": status})


def _unnumbered(
    entry: RetryEntry, kind: TraceKind, detail: dict[str, Any], error: str | None
) -> TraceRow:
    """A row about `entry`'s action that no run of it produced (the store numbers it)."""
    return TraceRow(
        seq=-1,
        kind=kind,
        rule=entry.rule,
        rule_position=entry.rule_position,
        action_index=entry.action_index,
        action=entry.action,
        detail=detail,
        error=error,
    )
