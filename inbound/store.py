"""SQLite state under the data dir: spool, traces, backend records. The only module with SQL.

Durability: the spool *is* the `spool` table of `inbound.sqlite3` (WAL, synchronous=FULL), so a
message is on disk once its transaction commits. Writes go through one writer thread that
commits whatever is queued in one transaction (group commit): concurrent SMTP sessions share
one fsync instead of paying one each (spec benchmarking.md). Reads use a second connection on
the event-loop thread; WAL lets them run beside the writer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from inbound.records import (
    MessageRecord,
    MessageStatus,
    Outcome,
    RetryEntry,
    RetryStatus,
    RuleOutcome,
    TraceKind,
    TraceRow,
)
from inbound.timestamps import now_iso

T = TypeVar("T")
log = logging.getLogger("inbound.store")

SCHEMA = """
CREATE TABLE IF NOT EXISTS states (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id TEXT PRIMARY KEY, received_at TEXT NOT NULL, mail_from TEXT NOT NULL,
    recipients TEXT NOT NULL, client_ip TEXT NOT NULL, helo TEXT NOT NULL, tls INTEGER NOT NULL,
    state_id TEXT NOT NULL REFERENCES states(id), size INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', finished_at TEXT);
CREATE INDEX IF NOT EXISTS messages_status ON messages(status);
CREATE TABLE IF NOT EXISTS spool (id TEXT PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS trace (
    message_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, rule TEXT,
    rule_position INTEGER, action_index INTEGER, action TEXT, outcome TEXT, ms REAL,
    detail TEXT, error TEXT, PRIMARY KEY (message_id, seq));
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, metadata TEXT NOT NULL,
    message_id TEXT, created TEXT NOT NULL, PRIMARY KEY (bucket, key));
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY, topic_arn TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL,
    message_id TEXT, created TEXT NOT NULL, deliveries TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS invocations (
    id TEXT PRIMARY KEY, function_arn TEXT NOT NULL, invocation_type TEXT NOT NULL,
    payload TEXT NOT NULL, response TEXT, error TEXT, message_id TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, mail_from TEXT NOT NULL, recipients TEXT NOT NULL, raw BLOB NOT NULL,
    message_id TEXT, status TEXT NOT NULL DEFAULT 'queued', created TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_attempt TEXT, next_attempt TEXT,
    last_error TEXT, remote_reply TEXT);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status);
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS mailbox (
    id TEXT PRIMARY KEY, organization_arn TEXT NOT NULL, recipients TEXT NOT NULL,
    path TEXT NOT NULL, message_id TEXT, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS retries (
    message_id TEXT NOT NULL, rule_position INTEGER NOT NULL, action_index INTEGER NOT NULL,
    rule TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    deadline TEXT NOT NULL, next_attempt TEXT, last_error TEXT, dsn TEXT,
    created TEXT NOT NULL, updated TEXT NOT NULL,
    PRIMARY KEY (message_id, rule_position, action_index));
CREATE INDEX IF NOT EXISTS retries_status ON retries(status, next_attempt);
"""

# Tables that `reset()` empties (DELETE /api/messages), in dependency order.
RESET_TABLES = (
    "retries",
    "trace",
    "spool",
    "messages",
    "s3_objects",
    "notifications",
    "invocations",
    "outbox",
    "mailbox",
)
_BATCH = 512


class _Job:
    __slots__ = ("durable", "fn", "future", "loop")

    def __init__(
        self,
        fn: Callable[[sqlite3.Connection], Any],
        loop: Any = None,
        future: Any = None,
        durable: bool = False,
    ) -> None:
        self.fn, self.loop, self.future, self.durable = fn, loop, future, durable


class Store:
    """All persistent state. Create, `open()`, use from one event loop, `close()`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / "inbound.sqlite3"
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: sqlite3.Connection | None = None
        self._synchronous = "FULL"  # the writer connection's current setting (_connect)

    # ── lifecycle ──────────────────────────────────────────────────────────────────────
    def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        writer = self._connect()
        writer.executescript(SCHEMA)
        self._thread = threading.Thread(
            target=self._write_loop, args=(writer,), name="inbound-store", daemon=True
        )
        self._thread.start()
        self._reader = self._connect()

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    # ── group commit ──────────────────────────────────────────────────────────────────────
    def _write_loop(self, conn: sqlite3.Connection) -> None:
        running = True
        while running:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    running = False
                    break
                batch.append(job)
            self._commit(conn, batch)
        conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[_Job]) -> None:
        """One transaction for the batch. It is fsynced (synchronous=FULL) only when someone
        needs it — the spool before `250`, API changes before their response; other records
        commit without one (NORMAL): a killed process loses none of them, an OS crash only
        the latest. The WAL is one append-only file, so a later fsync also makes every
        earlier commit durable, in order.

        Jobs run without a savepoint each: every statement hands the GIL to the event loop
        and back, which cost more than the SQL (profiled). When a job fails, the batch is
        rolled back and replayed one transaction per job, so only that job fails."""
        synchronous = "FULL" if any(job.durable for job in batch) else "NORMAL"
        if synchronous != self._synchronous:
            conn.execute(f"PRAGMA synchronous={synchronous}")
            self._synchronous = synchronous
        outcomes: list[tuple[bool, Any]]
        try:
            outcomes = [(True, value) for value in _transaction(conn, batch)]
        except Exception:
            outcomes = []
            for job in batch:
                try:
                    outcomes.append((True, _transaction(conn, [job])[0]))
                except Exception as exc:  # handed to the caller
                    outcomes.append((False, exc))
        # One wake-up of each waiting event loop per batch, not one per job: every wake-up is
        # a write to the loop's self-pipe and a turn of its selector (profiled).
        waiting: dict[Any, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for job, (ok, value) in zip(batch, outcomes, strict=True):
            if job.future is not None:
                waiting.setdefault(job.loop, []).append((job.future, ok, value))
            elif not ok:
                log.error("store write failed: %s", value)
        for loop, settled in waiting.items():
            loop.call_soon_threadsafe(_settle, settled)

    async def write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run `fn` in the writer's next transaction; returns once it is committed (and, when
        `durable`, fsynced)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Job(fn, loop, future, durable))
        return await future

    def submit(self, fn: Callable[[sqlite3.Connection], Any]) -> None:
        """Queue `fn` without waiting. Writes commit in submission order, so a record submitted
        after another is never durable before it; waking the event loop for every one of them
        cost more CPU than the rest of the engine (profiled)."""
        self._queue.put(_Job(fn))

    async def flush(self, *, durable: bool = True) -> None:
        """Wait until everything submitted so far is committed (and fsynced if `durable`)."""
        await self.write(lambda c: None, durable=durable)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        assert self._reader is not None, "store is not open"
        cursor = self._reader.execute(sql, params)
        cursor.row_factory = sqlite3.Row
        return cursor.fetchall()

    # ── messages and spool ────────────────────────────────────────────────────────────────
    async def save_state(self, state_id: str, body: str) -> None:
        await self.write(
            lambda c: c.execute(
                "INSERT OR IGNORE INTO states (id, body) VALUES (?, ?)", (state_id, body)
            )
        )

    def load_state(self, state_id: str) -> str:
        return self._read("SELECT body FROM states WHERE id = ?", (state_id,))[0]["body"]

    async def spool(self, record: MessageRecord, raw: bytes) -> None:
        def insert(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO spool (id, raw) VALUES (?, ?)", (record.id, raw))
            c.execute(
                "INSERT INTO messages (id, received_at, mail_from, recipients, client_ip, helo,"
                " tls, state_id, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.received_at,
                    record.mail_from,
                    json.dumps(record.recipients),
                    record.client_ip,
                    record.helo,
                    int(record.tls),
                    record.state_id,
                    record.size,
                ),
            )

        await self.write(insert)

    def raw(self, message_id: str) -> bytes | None:
        rows = self._read("SELECT raw FROM spool WHERE id = ?", (message_id,))
        return bytes(rows[0]["raw"]) if rows else None

    def message(self, message_id: str) -> MessageRecord | None:
        rows = self._read("SELECT * FROM messages WHERE id = ?", (message_id,))
        return _message(rows[0]) if rows else None

    def messages(self, *, status: str | None = None, limit: int = 1000) -> list[MessageRecord]:
        where, params = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = self._read(
            f"SELECT * FROM messages {where} ORDER BY received_at, rowid LIMIT ?",
            (*params, limit),
        )
        return [_message(r) for r in rows]

    def counts(self) -> dict[str, int]:
        rows = self._read("SELECT status, COUNT(*) AS n FROM messages GROUP BY status")
        by_status = {r["status"]: r["n"] for r in rows}
        return {"messages": sum(by_status.values()), "pending": by_status.get("pending", 0)}

    # ── trace ──────────────────────────────────────────────────────────────────────────────
    async def add_trace(
        self,
        message_id: str,
        rows: list[TraceRow],
        *,
        finished: bool = False,
        retries: Sequence[RetryEntry] = (),
    ) -> None:
        """Record steps of a message in one write; `finished` also marks the message done.
        `retries` (failed actions to retry) commit with the rows that report the failures.
        Returns once committed, so that the next action never starts before the record of
        the previous one exists: a killed process then never repeats a completed action."""
        statements = _trace_inserts(message_id, rows)
        entries = tuple(retries)  # the caller reuses its list
        done_at = now_iso() if finished else None

        def write(c: sqlite3.Connection) -> None:
            for sql, params in statements:
                c.execute(sql, params)
            if entries:
                _insert_retries(c, entries)
            if done_at is not None:
                c.execute(
                    "UPDATE messages SET status = 'done', finished_at = ? WHERE id = ?",
                    (done_at, message_id),
                )

        await self.write(write, durable=False)

    def trace(self, message_id: str) -> list[TraceRow]:
        rows = self._read("SELECT * FROM trace WHERE message_id = ? ORDER BY seq", (message_id,))
        return [
            TraceRow(
                seq=r["seq"],
                kind=TraceKind(r["kind"]),
                rule=r["rule"],
                rule_position=r["rule_position"],
                action_index=r["action_index"],
                action=r["action"],
                outcome=_outcome(r["outcome"]),
                ms=r["ms"],
                detail=json.loads(r["detail"]),
                error=r["error"],
            )
            for r in rows
        ]

    # ── records written by the embedded backends ─────────────────────────────────────────
    def insert(self, table: str, **values: Any) -> None:
        """Insert one backend record (`table` is one of the schema's tables, never user input)."""
        sql, params = _insert(table, values)
        self.submit(lambda c: c.execute(sql, params))

    async def insert_after(self, effect: Callable[[], None], table: str, **values: Any) -> None:
        """Run `effect` (a file write) in the writer thread, then insert the record that
        describes it in the same transaction: the event loop does not wait on the file system
        (profiled: it was a fifth of the loop's work per message), and the record never
        exists without its file."""
        sql, params = _insert(table, values)

        def write(c: sqlite3.Connection) -> None:
            effect()
            c.execute(sql, params)

        await self.write(write, durable=False)

    def update(self, table: str, key: str, key_value: Any, **values: Any) -> None:
        assert table in RESET_TABLES, table
        sets = ", ".join(f"{k} = ?" for k in values)
        self.submit(
            lambda c: c.execute(
                f"UPDATE {table} SET {sets} WHERE {key} = ?", (*values.values(), key_value)
            )
        )

    def records(self, table: str, *, limit: int = 1000, **where: Any) -> list[dict[str, Any]]:
        assert table in RESET_TABLES, table
        clause = " AND ".join(f"{k} = ?" for k in where)
        rows = self._read(
            f"SELECT * FROM {table} {'WHERE ' + clause if clause else ''}"
            f" ORDER BY created, rowid LIMIT ?",
            (*where.values(), limit),
        )
        return [dict(r) for r in rows]

    # ── outbox relay: queued → sending → sent | deferred (next_attempt) | failed ──────────
    def outbox_due(self, now: str, limit: int = 100) -> list[dict[str, Any]]:
        """Outbox messages to attempt now, oldest first, without their bytes. `sending` ones
        are left by a crash mid-attempt (the relay marks one at a time): try them again."""
        rows = self._read(
            "SELECT id, mail_from, recipients, created, attempts FROM outbox"
            " WHERE status IN ('queued', 'sending') OR (status = 'deferred' AND next_attempt <= ?)"
            " ORDER BY created, rowid LIMIT ?",
            (now, limit),
        )
        return [dict(r) for r in rows]

    def outbox_next_attempt(self) -> str | None:
        """The earliest `next_attempt` of a deferred message (ISO 8601 UTC), if any."""
        rows = self._read("SELECT MIN(next_attempt) AS t FROM outbox WHERE status = 'deferred'")
        return rows[0]["t"] if rows else None

    def outbox_raw(self, outbox_id: str) -> bytes | None:
        rows = self._read("SELECT raw FROM outbox WHERE id = ?", (outbox_id,))
        return bytes(rows[0]["raw"]) if rows else None

    async def outbox_sending(self, outbox_id: str, now: str) -> None:
        """Durably mark an attempt as started before the first SMTP byte goes out."""
        await self.write(
            lambda c: c.execute(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
                " last_attempt = ?, next_attempt = NULL WHERE id = ?",
                (now, outbox_id),
            )
        )

    async def outbox_result(
        self,
        outbox_id: str,
        status: str,
        *,
        last_error: str | None,
        remote_reply: str | None,
        next_attempt: str | None = None,
    ) -> None:
        assert status in ("sent", "deferred", "failed"), status
        await self.write(
            lambda c: c.execute(
                "UPDATE outbox SET status = ?, last_error = ?, remote_reply = ?, next_attempt = ?"
                " WHERE id = ?",
                (status, last_error, remote_reply, next_attempt, outbox_id),
            )
        )

    async def outbox_retry(self, outbox_id: str) -> str | None:
        """Queue a deferred or failed message again; returns its status before, None if absent
        (the status is unchanged unless it was deferred or failed)."""

        def retry(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT status FROM outbox WHERE id = ?", (outbox_id,)).fetchone()
            if row is not None and row[0] in ("deferred", "failed"):
                c.execute(
                    "UPDATE outbox SET status = 'queued', next_attempt = NULL WHERE id = ?",
                    (outbox_id,),
                )
            return row[0] if row is not None else None

        return await self.write(retry)

    # ── retries: failed actions retried until their deadline (inbound/retries.py) ──────────
    # A message's entries are worked on only once the message is `done`: its trace is then
    # complete (a retry replays it) and its sequence numbers are no longer being handed out.
    _RETRY_WORK = (
        "SELECT r.* FROM retries r JOIN messages m ON m.id = r.message_id WHERE m.status = 'done'"
    )

    def retries_due(self, now: str, limit: int = 100) -> list[RetryEntry]:
        """Pending entries due by `now`, and expired ones whose DSN is not settled yet."""
        rows = self._read(
            f"{self._RETRY_WORK} AND ((r.status = 'pending' AND r.next_attempt <= ?)"
            " OR (r.status = 'expired' AND r.dsn IS NULL))"
            " ORDER BY r.next_attempt, r.message_id, r.rule_position, r.action_index LIMIT ?",
            (now, limit),
        )
        return [_retry(r) for r in rows]

    def retries_next_attempt(self) -> str | None:
        """The earliest `next_attempt` of a pending entry of a finished message, if any."""
        rows = self._read(
            "SELECT MIN(r.next_attempt) AS t FROM retries r JOIN messages m"
            " ON m.id = r.message_id WHERE m.status = 'done' AND r.status = 'pending'"
        )
        return rows[0]["t"] if rows else None

    def retries(
        self, *, message_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[RetryEntry]:
        where = {"message_id": message_id, "status": status}
        clause = " AND ".join(f"{k} = ?" for k, v in where.items() if v is not None)
        rows = self._read(
            f"SELECT * FROM retries {'WHERE ' + clause if clause else ''}"
            " ORDER BY created, message_id, rule_position, action_index LIMIT ?",
            (*(v for v in where.values() if v is not None), limit),
        )
        return [_retry(r) for r in rows]

    def messages_with_retries(self, status: str, limit: int = 1000) -> list[MessageRecord]:
        """Messages with at least one retry entry in `status`, oldest first."""
        rows = self._read(
            "SELECT * FROM messages WHERE id IN"
            " (SELECT message_id FROM retries WHERE status = ?)"
            " ORDER BY received_at, rowid LIMIT ?",
            (status, limit),
        )
        return [_message(r) for r in rows]

    def message_dsn(self, message_id: str) -> str | None:
        """The 451 DSN already settled for this message (once per message, spec §8)."""
        rows = self._read(
            "SELECT dsn FROM retries WHERE message_id = ? AND dsn IS NOT NULL LIMIT 1",
            (message_id,),
        )
        return rows[0]["dsn"] if rows else None

    async def retry_attempted(self, entry: RetryEntry, row: TraceRow) -> None:
        """Store an attempt's outcome (`entry` as it is now) and its trace row, numbered after
        the message's last one, in one transaction."""
        values = _trace_values(entry.message_id, row)[2:]

        def write(c: sqlite3.Connection) -> None:
            seq = c.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM trace WHERE message_id = ?",
                (entry.message_id,),
            ).fetchone()[0]
            c.execute(f"INSERT INTO trace VALUES {_TRACE_ROW}", (entry.message_id, seq, *values))
            _insert_retries(c, [entry])

        await self.write(write)

    async def retry_dsn(self, entry: RetryEntry, dsn: str) -> None:
        await self.write(
            lambda c: c.execute(
                "UPDATE retries SET dsn = ?, updated = ? WHERE message_id = ?"
                " AND rule_position = ? AND action_index = ?",
                (dsn, now_iso(), entry.message_id, entry.rule_position, entry.action_index),
            )
        )

    async def retry_now(self, message_id: str, now: str) -> int:
        """Make the message's pending and expired entries due at `now`; returns how many."""

        def write(c: sqlite3.Connection) -> int:
            cursor = c.execute(
                "UPDATE retries SET status = 'pending', next_attempt = ?, updated = ?"
                " WHERE message_id = ? AND status IN ('pending', 'expired')",
                (now, now, message_id),
            )
            return cursor.rowcount

        return await self.write(write)

    # ── API state: JSON documents by kind and key (identities, configuration sets, ...) ─────
    async def put_document(self, kind: str, key: str, body: Any) -> None:
        """Store `body` (JSON-serialisable) durably before returning: API changes must survive
        a restart once the response is sent."""
        text = json.dumps(body, sort_keys=True)
        await self.write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", (kind, key, text, now_iso())
            )
        )

    async def delete_document(self, kind: str, key: str) -> None:
        await self.write(
            lambda c: c.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))
        )

    def document(self, kind: str, key: str) -> Any | None:
        rows = self._read("SELECT body FROM documents WHERE kind = ? AND key = ?", (kind, key))
        return json.loads(rows[0]["body"]) if rows else None

    def documents(self, kind: str) -> dict[str, Any]:
        """Every document of `kind`, by key, in key order."""
        rows = self._read("SELECT key, body FROM documents WHERE kind = ? ORDER BY key", (kind,))
        return {r["key"]: json.loads(r["body"]) for r in rows}

    async def reset(self) -> None:
        def wipe(c: sqlite3.Connection) -> None:
            for table in RESET_TABLES:
                c.execute(f"DELETE FROM {table}")

        await self.write(wipe)


def _insert(table: str, values: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    assert table in RESET_TABLES, table
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    return f"INSERT OR REPLACE INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())


def _transaction(conn: sqlite3.Connection, jobs: list[_Job]) -> list[Any]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        results = [job.fn(conn) for job in jobs]
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


def _settle(settled: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _message(row: sqlite3.Row) -> MessageRecord:
    return MessageRecord(
        id=row["id"],
        received_at=row["received_at"],
        mail_from=row["mail_from"],
        recipients=tuple(json.loads(row["recipients"])),
        client_ip=row["client_ip"],
        helo=row["helo"],
        tls=bool(row["tls"]),
        state_id=row["state_id"],
        size=row["size"],
        status=MessageStatus(row["status"]),
        finished_at=row["finished_at"],
    )


_TRACE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_TRACE_CHUNK = 50  # rows per statement: 550 parameters, under SQLite's oldest limit of 999


def _trace_inserts(message_id: str, rows: Sequence[TraceRow]) -> list[tuple[str, list[Any]]]:
    """Multi-row INSERTs: the writer thread hands the GIL back and forth once per statement
    step, which cost more than the rows themselves (profiled)."""
    statements = []
    for start in range(0, len(rows), _TRACE_CHUNK):
        chunk = rows[start : start + _TRACE_CHUNK]
        params = [value for row in chunk for value in _trace_values(message_id, row)]
        marks = ", ".join([_TRACE_ROW] * len(chunk))
        statements.append((f"INSERT OR REPLACE INTO trace VALUES {marks}", params))
    return statements


def _trace_values(message_id: str, row: TraceRow) -> tuple[Any, ...]:
    return (
        message_id,
        row.seq,
        row.kind,
        row.rule,
        row.rule_position,
        row.action_index,
        row.action,
        row.outcome,
        row.ms,
        json.dumps(row.detail),
        row.error,
    )


def _insert_retries(c: sqlite3.Connection, entries: Sequence[RetryEntry]) -> None:
    now = now_iso()
    c.executemany(
        "INSERT INTO retries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (message_id, rule_position, action_index) DO UPDATE SET"
        " status = excluded.status, attempts = excluded.attempts,"
        " next_attempt = excluded.next_attempt, last_error = excluded.last_error,"
        " dsn = COALESCE(excluded.dsn, retries.dsn), updated = excluded.updated",
        [
            (
                e.message_id, e.rule_position, e.action_index, e.rule, e.action, e.status,
                e.attempts, e.deadline, e.next_attempt, e.last_error, e.dsn, e.created or now, now,
            )
            for e in entries
        ],
    )  # fmt: skip


def _retry(row: sqlite3.Row) -> RetryEntry:
    values = {k: row[k] for k in row.keys()}  # noqa: SIM118
    return RetryEntry(**{**values, "status": RetryStatus(values["status"])})


def _outcome(text: str | None) -> Outcome | RuleOutcome | None:
    if text is None:
        return None
    return RuleOutcome.MATCHED if text == RuleOutcome.MATCHED else Outcome(text)
