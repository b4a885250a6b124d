"""One log line per message, once it is finished: a received message when its rules have run,
a sent one when delivery has dealt with every recipient (docs/running.md, "Logs").

The engine and sending's delivery call these at the point where they record a message as
finished, with what that run did; nothing is read back from the store. The line is built only
when the `inbound.mail` logger would emit it (`inbound serve` enables it at its default level),
so an embedded server or the pytest plugin pays one level check per message.

The text line and the JSON object (`--log-format json`, logs.JsonFormatter) carry the same
fields: the JSON one gets them from the record's `fields` attribute.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from inbound.records import MessageRecord, SentMessage, TraceKind, TraceRow

log = logging.getLogger("inbound.mail")
Fields = dict[str, Any]


def received(record: MessageRecord, rows: Sequence[TraceRow], ms: float) -> None:
    """`rows`: the steps of this run (a resumed message's run does the rest of them)."""
    if log.isEnabledFor(logging.INFO):
        _emit(functools.partial(_received_fields, record, tuple(rows), ms))


def _received_fields(record: MessageRecord, rows: Sequence[TraceRow], ms: float) -> Fields:
    actions = [
        {"rule": row.rule, "action": row.action, "ok": row.error is None}
        for row in rows
        if row.kind is TraceKind.ACTION
    ]
    rules = [row.rule for row in rows if row.kind is TraceKind.RULE]
    return _fields("received", record.id, record.mail_from, record.recipients, record.size, ms,
                   rules=rules, actions=actions)  # fmt: skip


def sent(record: SentMessage, status: str, step: Mapping[str, Any], ms: float) -> None:
    """`step`: delivery's last step, whose `recipients` says where each one went."""
    if log.isEnabledFor(logging.INFO):
        fields = _sent_fields(record, status, step, ms)  # `step` is read now: it may change
        _emit(lambda: fields)


def _sent_fields(record: SentMessage, status: str, step: Mapping[str, Any], ms: float) -> Fields:
    outcomes = [
        {"recipient": r["recipient"], "route": r["route"], "events": r["events"]}
        for r in step.get("recipients", ())
    ]
    return _fields("sent", record.id, record.source, record.recipients, record.size, ms,
                   operation=record.operation, status=status, delivery=outcomes)  # fmt: skip


def _fields(
    event: str,
    message_id: str,
    sender: str,
    to: Sequence[str],
    size: int,
    ms: float,
    **more: Any,
) -> Fields:
    fields: Fields = {"event": event, "messageId": message_id, "from": sender}
    fields["to"] = list(to)
    fields |= {"size": size, **more, "ms": round(ms, 1)}
    return fields


def _emit(make: Callable[[], Fields]) -> None:
    """Hand the line to the handlers with its fields made by `make` when first read: by the
    thread that writes the log (logs.py), not on the event loop. `make` reads only what does
    not change (a frozen record, its steps)."""
    fields = _LazyFields(make)
    # `log.info` less its search of the stack for the caller's file and line, which no
    # format of ours shows: a third of the line's cost, once per message.
    record = log.makeRecord(log.name, logging.INFO, "", 0, "%s", (_Line(fields),), None)
    record.fields = fields
    log.handle(record)


class _LazyFields(Mapping[str, Any]):
    """A line's fields, made by `make` when first read (by a formatter, or `record.fields`)."""

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[], Fields]) -> None:
        self._make = make
        self._made: Fields | None = None

    def made(self) -> Fields:
        if self._made is None:
            self._made = self._make()
        return self._made

    def __getitem__(self, key: str) -> Any:
        return self.made()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.made())

    def __len__(self) -> int:
        return len(self.made())


class _Line:
    """The text form, made only when a text handler formats the record."""

    def __init__(self, fields: _LazyFields) -> None:
        self.fields = fields

    def __str__(self) -> str:
        f = self.fields.made()
        head = f"{f['event']} {f['messageId']} {f['from'] or '<>'} → {', '.join(f['to'])}"
        parts = [head, _size(f["size"])]
        if f["event"] == "received":
            parts.append(f"rules: {', '.join(f['rules']) or 'none'}")
            if f["actions"]:
                marks = (f"{a['action']} {'✓' if a['ok'] else '✗'}" for a in f["actions"])
                parts.append(f"actions: {', '.join(marks)}")
        else:
            parts.append(f"{f['operation']} {f['status']}")
            for r in f["delivery"]:
                parts.append(f"{r['recipient']}: {'+'.join(r['events']) or r['route']}")
        parts.append(f"{f['ms']:.0f} ms")
        return "  ".join(parts)


def _size(octets: int) -> str:
    return f"{octets} B" if octets < 1024 else f"{octets / 1024:.1f} KB"
