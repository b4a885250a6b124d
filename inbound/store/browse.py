"""What the web UI reads (inbound/web/): its message lists, newest first, filtered and searched,
and the records a message's trace points at.

Search is SQLite FTS5 over `digests` (subject, addresses and the start of the text of each
message, inbound/web/digests.py). Digests are made when the UI lists or searches, for the
messages stored since the last one (`undigested`), not when mail is accepted: a server nobody
browses pays nothing per message (docs/ui.md, "Search").
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from inbound.records import (
    Digest,
    Direction,
    Listing,
    MessageFilter,
    MessageRecord,
    Notification,
    OutboxMessage,
    RetryStatus,
    SentMessage,
    Summary,
    TraceKind,
)
from inbound.store import rows
from inbound.store.embedded import notification
from inbound.store.outbox import outbox_message
from inbound.store.sent import _sent
from inbound.store.writer import Connection, Database, Row, Write

FAILED = "failed"  # the received list's third status: an action failed and is not delivered
_SOURCE_TABLE = {Direction.RECEIVED: "messages", Direction.SENT: "sent"}
_WORD = re.compile(r"\w")

# An action that failed and is still being retried or has expired, or failed for good (no
# retry entry: `final`, e.g. over a size limit).
_FAILED_SQL = f"""(
    EXISTS (SELECT 1 FROM retries r WHERE r.message_id = m.id
            AND r.status != '{RetryStatus.DELIVERED}')
    OR EXISTS (SELECT 1 FROM trace t WHERE t.message_id = m.id
            AND t.kind = '{TraceKind.ACTION}' AND t.error IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM retries r WHERE r.message_id = t.message_id
                AND r.rule_position = t.rule_position AND r.action_index = t.action_index)))"""


def search_terms(text: str) -> list[str]:
    """The terms of `text` that have a word character, separated by whitespace or a NUL (as
    FTS5 separates the words it keeps, and its query syntax cannot hold a NUL)."""
    return [t for t in text.replace("\0", " ").split() if _WORD.search(t)]


def match_expression(text: str) -> str | None:
    """FTS5 syntax for `text`: every whitespace-separated term must occur, each as a phrase
    prefix (`alice@exa` finds alice@example.com); quoting makes any input a literal, so a
    user's quotes, stars or `OR` are searched for, never parsed. None: no term has a word."""
    terms = search_terms(text)
    if not terms:
        return None
    return " AND ".join('"' + t.replace('"', '""') + '"*' for t in terms)


class Browse(Database):
    # ── digests ─────────────────────────────────────────────────────────────────────────────
    def undigested(self, direction: Direction, limit: int) -> list[tuple[str, int]]:
        """(message id, rowid) of the messages stored after the last digested one, in order."""
        table = _SOURCE_TABLE[direction]
        found = self._read(
            f"SELECT id, rowid FROM {table} WHERE rowid > (SELECT COALESCE(MAX(source_rowid),"
            " 0) FROM digests WHERE kind = ?) ORDER BY rowid LIMIT ?",
            (direction, limit),
        )
        return [(r["id"], r["rowid"]) for r in found]

    async def add_digests(self, direction: Direction, digests: Sequence[Digest]) -> None:
        """Keep the digests of the messages that still exist: one reset while they were made
        leaves none behind, whose rowids would hold back the digests of the messages after it
        (`undigested` goes on from the highest)."""
        table = _SOURCE_TABLE[direction]
        kept = self._names.stored  # mail's text may have a NUL
        kept_digests = [
            (d.message_id, d.source_rowid, *map(kept, (d.subject, d.sender, d.recipients, d.body)))
            for d in digests
        ]
        write = Write(_add_digests, direction, table, kept_digests)
        await self._write(write, durable=False)  # made again from the messages if lost

    # ── lists ───────────────────────────────────────────────────────────────────────────────
    def browse_received(
        self, wanted: MessageFilter, limit: int, offset: int
    ) -> Listing[Summary[MessageRecord]] | None:
        """None when `wanted.text` has nothing to search for (no letter or digit)."""
        where: list[str] = []
        params: list[Any] = []
        if wanted.status == FAILED:
            where.append(_FAILED_SQL)
        elif wanted.status:
            where.append("m.status = ?")
            params.append(wanted.status)
        for kind, name in ((TraceKind.RULE, wanted.rule), (TraceKind.ACTION, wanted.action)):
            if name:
                column = "rule" if kind is TraceKind.RULE else "action"
                where.append(
                    "EXISTS (SELECT 1 FROM trace t WHERE t.message_id = m.id"
                    f" AND t.kind = ? AND t.{column} = ?)"
                )
                params += [kind, name]
        if not self._searching(Direction.RECEIVED, wanted.text, where, params):
            return None
        sql = (
            "SELECT m.*, d.subject AS digest_subject, "
            f"{_FAILED_SQL} AS failed, (SELECT json_group_array(t.rule) FROM trace t"
            f" WHERE t.message_id = m.id AND t.kind = '{TraceKind.RULE}') AS matched"
            " FROM messages m LEFT JOIN digests d"
            f" ON d.kind = '{Direction.RECEIVED}' AND d.message_id = m.id"
            + (" WHERE " + " AND ".join(where) if where else "")
        )
        found, total = self._page(
            sql, "m.received_at DESC, m.rowid DESC", tuple(params), limit, offset
        )
        return Listing(
            (
                Summary(
                    rows.message(r),
                    self._subject(r),
                    tuple(json.loads(r["matched"])),
                    bool(r["failed"]),
                )
                for r in found
            ),
            total,
        )

    def browse_sent(
        self, wanted: MessageFilter, limit: int, offset: int
    ) -> Listing[Summary[SentMessage]] | None:
        where: list[str] = []
        params: list[Any] = []
        if wanted.status:
            where.append("m.status = ?")
            params.append(wanted.status)
        if not self._searching(Direction.SENT, wanted.text, where, params):
            return None
        sql = (
            "SELECT m.*, d.subject AS digest_subject FROM sent m LEFT JOIN digests d"
            f" ON d.kind = '{Direction.SENT}' AND d.message_id = m.id"
            + (" WHERE " + " AND ".join(where) if where else "")
        )
        found, total = self._page(sql, "m.created DESC, m.rowid DESC", tuple(params), limit, offset)
        return Listing((Summary(_sent(r), self._subject(r)) for r in found), total)

    def _subject(self, row: Row) -> str | None:
        """The subject of a listed message's digest (None: not digested yet)."""
        subject: str | None = row["digest_subject"]
        return None if subject is None else self._names.read(subject)

    @staticmethod
    def _searching(direction: Direction, text: str, where: list[str], params: list[Any]) -> bool:
        """Add the full-text condition for `text`; False when it has no term to search."""
        if not text.strip():
            return True
        expression = match_expression(text)
        if expression is None:
            return False
        where.append(
            "m.id IN (SELECT d.message_id FROM digest_text JOIN digests d"
            " ON d.rowid = digest_text.rowid WHERE d.kind = ? AND digest_text MATCH ?)"
        )
        params += [direction, expression]
        return True

    # ── what a trace points at ──────────────────────────────────────────────────────────────
    def notification(self, sns_id: str) -> Notification | None:
        found = self._read("SELECT * FROM notifications WHERE id = ?", (sns_id,))
        return notification(found[0]) if found else None

    def outbox_message(self, outbox_id: str) -> OutboxMessage | None:
        found = self._read("SELECT * FROM outbox WHERE id = ?", (outbox_id,))
        return outbox_message(found[0]) if found else None


def _add_digests(
    c: Connection, direction: Direction, table: str, digests: list[tuple[Any, ...]]
) -> None:
    for message_id, source_rowid, subject, sender, recipients, body in digests:
        cursor = c.execute(
            "INSERT OR IGNORE INTO digests (kind, message_id, source_rowid, subject)"
            f" SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM {table} WHERE id = ?)",
            (direction, message_id, source_rowid, subject, message_id),
        )
        if cursor.rowcount:  # its text under the digest's rowid (either engine has one)
            c.execute(
                "INSERT INTO digest_text (rowid, sender, recipients, subject, body)"
                " SELECT rowid, ?, ?, ?, ? FROM digests WHERE kind = ? AND message_id = ?",
                (sender, recipients, subject, body, direction, message_id),
            )
