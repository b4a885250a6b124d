"""Records to rows and back, for the tables that more than one query module writes: a
message's trace rows and retry entries commit together with other changes (`add_trace`,
`retry_attempted`)."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson

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
from inbound.store.engine import Connection, Row, Statement, execute_together
from inbound.timestamps import now_iso

R = TypeVar("R")
TRACE_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_TRACE_CHUNK = 50  # rows per statement: 550 parameters, under SQLite's oldest limit of 999


def record(kind: type[R], row: Row, **decoded: Any) -> R:
    """A `kind` from a row whose columns are its fields; `decoded` gives the columns stored
    as JSON, as integers (booleans) or as enum values, decoded. Columns that are no field of
    `kind` (what a query computes beside them, store/browse.py) are left out."""
    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    return kind(**{**{k: v for k, v in dict(row).items() if k in names}, **decoded})


def message(row: Row) -> MessageRecord:
    return record(
        MessageRecord,
        row,
        recipients=tuple(json.loads(row["recipients"])),
        tls=bool(row["tls"]),
        status=MessageStatus(row["status"]),
    )


# orjson writes what it cannot take from these to `json.dumps`, which refuses them as before
_JSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


def json_text(value: Any) -> str:
    """`json.dumps(value)` for a column read back with `json.loads`: the same value, written
    by orjson in a tenth of the time (a message's five trace rows took 11.7 us of the event
    loop with `json.dumps`; docs/cpu.md, "Fourth round"). What orjson would write otherwise
    goes to `json.dumps`: keys that are not text, integers past 64 bits, text that is not
    UTF-8, and any `null`, which orjson also writes for NaN and the infinities (`json.dumps`
    keeps them). A property test checks that both read back the same."""
    try:
        text = orjson.dumps(value, option=_JSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)
    return json.dumps(value) if b"null" in text else text.decode()


@functools.cache
def _trace_insert(rows: int) -> str:
    """The INSERT of `rows` trace rows: one text per size, which the frame to the store's
    writer pickles once for all of a turn's writes (pickle's memo)."""
    return f"INSERT OR REPLACE INTO trace VALUES {', '.join([TRACE_ROW] * rows)}"


def trace_inserts(message_id: str, rows: Sequence[TraceRow]) -> list[Statement]:
    """Multi-row INSERTs: the writer thread hands the GIL back and forth once per statement
    step, which cost more than the rows themselves (profiled)."""
    statements: list[Statement] = []
    for start in range(0, len(rows), _TRACE_CHUNK):
        chunk = rows[start : start + _TRACE_CHUNK]
        params = [value for row in chunk for value in trace_values(message_id, row)]
        statements.append((_trace_insert(len(chunk)), params))
    return statements


def trace_values(message_id: str, row: TraceRow) -> tuple[Any, ...]:
    """The row's columns. The statuses as plain text (`_value_`: `value` is a Python
    property): an enum member pickles (to the store's writer) through a Python
    `__reduce_ex__`, and loads through its class's call, 3 us of the event loop per trace
    write (timeit) and as much in the writer."""
    outcome = row.outcome
    return (
        message_id,
        row.seq,
        row.kind._value_,
        row.rule,
        row.rule_position,
        row.action_index,
        row.action,
        None if outcome is None else outcome._value_,
        row.ms,
        json_text(row.detail),
        row.error,
    )


def trace_row(row: Row) -> TraceRow:
    values = dict(row)
    del values["message_id"]
    return TraceRow(
        **{
            **values,
            "kind": TraceKind(row["kind"]),
            "outcome": _outcome(row["outcome"]),
            "detail": json.loads(row["detail"]),
        }
    )


def _outcome(text: str | None) -> Outcome | RuleOutcome | None:
    if text is None:
        return None
    return RuleOutcome.MATCHED if text == RuleOutcome.MATCHED else Outcome(text)


def insert_retries(c: Connection, entries: Sequence[RetryEntry]) -> None:
    now = now_iso()
    c.executemany(
        "INSERT INTO retries (message_id, rule_position, action_index, rule, action, status,"
        " attempts, deadline, next_attempt, last_error, dsn, created, updated)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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


def trace_and_retries(
    c: Connection, statements: Sequence[Statement], retries: Sequence[RetryEntry]
) -> None:
    """The write of `Messages.add_trace`: here, beside the rows it writes, since the store's
    writer process loads the module of each write it runs (store/writer_child.py)."""
    execute_together(c, statements)
    if retries:
        insert_retries(c, retries)


def trace_and_retry(c: Connection, entry: RetryEntry, values: tuple[Any, ...]) -> None:
    """A failed action's trace row, after the message's last one, and its retry entry."""
    seq = c.execute(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM trace WHERE message_id = ?",
        (entry.message_id,),
    ).fetchone()[0]
    c.execute(f"INSERT INTO trace VALUES {TRACE_ROW}", (entry.message_id, seq, *values))
    insert_retries(c, [entry])


def retry_entry(row: Row) -> RetryEntry:
    return record(RetryEntry, row, status=RetryStatus(row["status"]))
