"""Work shared by several engines on one store: each engine finishes what it claimed.

The engines are either several hosts on one PostgreSQL database (docs/cluster.md) or the
worker processes of one `inbound serve` on its SQLite file (`[server] workers`,
docs/workers.md). Work an engine finishes later is claimed, never only read: pending received
messages (at start), retries due, outbox entries due, sent messages whose delivery is
unfinished, relay outcomes and returned mail to publish. A work row names its engine in
`claimed_by`; a row an engine inserts is its own from the start, so the engine that accepted
a message processes it. A row is claimable when nobody holds it, the claiming engine itself
does, or its holder's lease (`engines.alive_until`, renewed by a heartbeat) has run out: a
killed engine's work is taken by the next engine that claims, and at once by the engine
itself when it restarts under the same id.

This module has the claims' conditions and orders, once for both databases; each store says
how a claim is taken (`_claim`): PostgreSQL with `FOR UPDATE SKIP LOCKED`, SQLite in one
write transaction (its writes are serialised).
"""

from __future__ import annotations

from typing import Any

from inbound.records import (
    MessageRecord,
    MessageStatus,
    OutboxMessage,
    OutboxStatus,
    RelayOutcome,
    RetryEntry,
    RetryStatus,
    ReturnedMail,
)
from inbound.store import outbox, rows, sent
from inbound.store.engine import LEASE, Row
from inbound.store.store import Store

# A work row whose holder's lease has run out (or was given up). Both databases know
# `current_setting('inbound.engine')` (this engine's id) and `now()` (SQLite: functions of the
# connection, store/sqlite.py).
_LAPSED = "NOT EXISTS (SELECT 1 FROM engines e WHERE e.id = w.claimed_by AND e.alive_until > now())"
# A work row this engine may take: nobody's, its own, or a lapsed engine's.
CLAIMABLE = (
    f"(w.claimed_by IS NULL OR w.claimed_by = current_setting('inbound.engine') OR {_LAPSED})"
)
# ... but not its own: what the engine takes over while it runs (inbound/takeover.py), never
# what it is working on itself.
_ABANDONED = (
    f"(w.claimed_by IS NULL OR (w.claimed_by <> current_setting('inbound.engine') AND {_LAPSED}))"
)


class Claims(Store):
    """`Store` whose finishing work is claimed (see the module docstring)."""

    _mine = f" AND {CLAIMABLE}"
    lease = LEASE  # seconds; the store's own, given to its engine

    def takeover_interval(self) -> float:
        """Half a lease: a killed engine's work is taken over within 1.5 leases of its last
        heartbeat, at the cost of a few claims per half lease, whatever the load."""
        return self.lease / 2

    def _claim(
        self, table: str, key: str, candidates: str, params: tuple[Any, ...], then: str
    ) -> list[Row]:
        """Take the rows of `table` that `candidates` (a SELECT of `key` from `table w`, with
        `CLAIMABLE` among its conditions) finds, atomically; `then` selects from them
        (`claimed`) in the order wanted."""
        raise NotImplementedError

    def claim_unfinished(self) -> list[MessageRecord]:
        return self._claim_messages(CLAIMABLE, None)

    def claim_abandoned(self, limit: int) -> list[MessageRecord]:
        return self._claim_messages(_ABANDONED, limit)

    def _claim_messages(self, condition: str, limit: int | None) -> list[MessageRecord]:
        """Pending messages, oldest first, up to `limit` (None: all)."""
        found = self._claim(
            "messages",
            "id",
            f"SELECT w.id FROM messages w WHERE w.status = ? AND {condition}"
            f" ORDER BY w.received_at, w.rowid{_limit(limit)}",
            (MessageStatus.PENDING,),
            "SELECT * FROM claimed ORDER BY received_at, rowid",
        )
        return [rows.message(r) for r in found]

    def retries_due(self, now: str, limit: int) -> list[RetryEntry]:
        found = self._claim(
            "retries",
            "message_id, rule_position, action_index",
            "SELECT w.message_id, w.rule_position, w.action_index FROM retries w"
            " JOIN messages m ON m.id = w.message_id WHERE m.status = ?"
            " AND ((w.status = ? AND w.next_attempt <= ?) OR (w.status = ? AND w.dsn IS NULL))"
            f" AND {CLAIMABLE}"
            " ORDER BY w.next_attempt, w.message_id, w.rule_position, w.action_index LIMIT ?",
            (MessageStatus.DONE, RetryStatus.PENDING, now, RetryStatus.EXPIRED, limit),
            "SELECT * FROM claimed ORDER BY next_attempt, message_id, rule_position, action_index",
        )
        return [rows.retry_entry(r) for r in found]

    def outbox_due(self, now: str, limit: int) -> list[OutboxMessage]:
        found = self._claim(
            "outbox",
            "id",
            "SELECT w.id FROM outbox w WHERE (w.status IN (?, ?)"
            f" OR (w.status = ? AND w.next_attempt <= ?)) AND {CLAIMABLE}"
            " ORDER BY w.created, w.rowid LIMIT ?",
            (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.DEFERRED, now, limit),
            f"SELECT {outbox.COLUMNS} FROM claimed ORDER BY created, rowid",
        )
        return [outbox.outbox_message(r) for r in found]

    def sent_pending_ids(self) -> list[str]:
        return self._claim_sent(CLAIMABLE, None)

    def sent_abandoned_ids(self, limit: int) -> list[str]:
        return self._claim_sent(_ABANDONED, limit)

    def _claim_sent(self, condition: str, limit: int | None) -> list[str]:
        found = self._claim(
            "sent_pending",
            "id",
            f"SELECT w.id FROM sent_pending w WHERE {condition}{_limit(limit)}",
            (),
            "SELECT s.id FROM claimed JOIN sent s ON s.id = claimed.id ORDER BY s.created, s.rowid",
        )
        return [r["id"] for r in found]

    def relay_outcomes_due(self, limit: int) -> list[RelayOutcome]:
        found = self._claim(
            "relay_outcomes",
            "outbox_id, attempt",
            f"SELECT w.outbox_id, w.attempt FROM relay_outcomes w WHERE {CLAIMABLE}"
            " ORDER BY w.rowid LIMIT ?",
            (limit,),
            "SELECT * FROM claimed ORDER BY rowid",
        )
        return [outbox.relay_outcome(r) for r in found]

    def sent_returns_due(self, limit: int) -> list[tuple[ReturnedMail, bytes]]:
        found = self._claim(
            "sent_returns",
            "id",
            f"SELECT w.id FROM sent_returns w WHERE w.done = 0 AND {CLAIMABLE}"
            " ORDER BY w.created, w.rowid LIMIT ?",
            (limit,),
            "SELECT * FROM claimed ORDER BY created, rowid",
        )
        return [sent.returned(r) for r in found]


def _limit(limit: int | None) -> str:
    return "" if limit is None else f" LIMIT {int(limit)}"
