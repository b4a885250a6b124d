"""What the embedded backends did (inbound/backends/local.py): objects written, notifications
published, Lambda invocations, WorkMail deliveries, CloudWatch data points, Firehose records,
EventBridge and Pinpoint events.
Recorded without waiting (the writer commits them in order) unless a method says otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from inbound.records import (
    Bucket,
    LambdaInvocation,
    Listing,
    MailboxDelivery,
    MetricPoint,
    Notification,
    RecordedEvent,
    StoredObject,
    StreamRecord,
)
from inbound.store import rows, s3_objects
from inbound.store.engine import Engine, execute, execute_each, execute_unread
from inbound.store.packing import Large, execute_packed, unpacked_text
from inbound.store.writer import Database, Row, Write

T = TypeVar("T")
EventService = Literal["eventbridge", "pinpoint"]
_EVENT_TABLES: dict[EventService, str] = {
    "eventbridge": "eventbridge_events",
    "pinpoint": "pinpoint_events",
}


class Embedded(Database):
    def __init__(self, data_dir: Path, engine: Engine | None = None) -> None:
        super().__init__(data_dir, engine)
        self._buckets: dict[str, Bucket] = {}  # `bucket()`'s finds

    # ── S3 ────────────────────────────────────────────────────────────────────────────────
    async def add_object(
        self,
        write_file: Callable[[], StoredObject],
        remove_file: Callable[[StoredObject], None],
        *,
        durable: bool = False,
    ) -> StoredObject:
        """Run `write_file()` in the writer thread, then insert the record it returns (of the
        file it wrote) in the same transaction: the event loop does not wait on the file
        system (profiled: it was a fifth of the loop's work per message), and the record never
        exists without its file. The record says whether the file is under the key's hash
        (`StoredObject.hashed`) and has the object's ETag, hashed there too (an MD5 of every
        received message was 5% of the event loop's work). The object it replaces goes
        through `remove_file` when its file is elsewhere (hashed one way, the new one the
        other).

        A new key (every message id is one) costs one statement: the object a key replaces is
        looked up only when the insert finds the key taken."""
        return await self._write(self._object_job(write_file, remove_file), durable=durable)

    def submit_object(
        self,
        write_file: Callable[[], StoredObject],
        remove_file: Callable[[StoredObject], None],
    ) -> None:
        """`add_object` without waiting for it: committed in submission order, ahead of any
        write queued after it (a failure is logged by the writer)."""
        self._submit(self._object_job(write_file, remove_file))

    def _object_job(
        self,
        write_file: Callable[[], StoredObject],
        remove_file: Callable[[StoredObject], None],
    ) -> Write[Any]:
        """The writer's job of `add_object` (PostgreSQL's: `pipelined_object_writer`)."""
        return Write(s3_objects.write_object, write_file, remove_file, self._names)

    async def delete_object(
        self, bucket: str, key: str, remove_file: Callable[[StoredObject], None]
    ) -> None:
        """Forget the object and run `remove_file` on it, in one transaction of the writer."""
        names = self._names
        stored = (names.stored(bucket), names.stored(key))
        await self._write(Write(s3_objects.delete_object, stored, names, remove_file))

    def objects(self, limit: int = 1000, offset: int = 0) -> Listing[StoredObject]:
        return self._listing(
            "s3_objects", lambda r: s3_objects.stored_object(r, self._names), limit, offset
        )

    def stored_object(self, bucket: str, key: str) -> StoredObject | None:
        names = self._names
        found = self._read(
            "SELECT * FROM s3_objects WHERE bucket = ? AND key = ?",
            (names.stored(bucket), names.stored(key)),
        )
        return s3_objects.stored_object(found[0], names) if found else None

    def objects_after(self, bucket: str, prefix: str, after: str, limit: int) -> list[StoredObject]:
        """Up to `limit` objects of `bucket` whose key starts with `prefix` and sorts after
        `after`, in key order: UTF-8 binary order, S3's listing order (SQLite's BINARY
        collation compares the UTF-8 bytes). The prefix is compared as bytes: SQLite's text
        functions stop at a NUL, which S3 keys may hold (PostgreSQL's keys have none: they are
        escaped, store/names.py, in an escape that keeps the order and the prefixes)."""
        names = self._names
        after, prefix = names.stored(after), names.stored(prefix)
        found = self._read(
            "SELECT * FROM s3_objects WHERE bucket = ? AND key > ? AND key >= ? "
            "AND substr(CAST(key AS BLOB), 1, ?) = CAST(? AS BLOB) ORDER BY key LIMIT ?",
            (names.stored(bucket), after, prefix, len(prefix.encode()), prefix, limit),
        )
        return [s3_objects.stored_object(row, names) for row in found]

    async def add_bucket(self, bucket: Bucket) -> bool:
        """Whether the bucket is new (False: one of that name exists, left as it was)."""
        sql = "INSERT OR IGNORE INTO s3_buckets VALUES (?, ?, ?)"
        values = (self._names.stored(bucket.name), bucket.region, bucket.created)
        return await self._write(Write(execute, sql, values)) == 1

    async def delete_bucket(self, name: str) -> None:
        stored = (self._names.stored(name),)
        await self._write(Write(execute, "DELETE FROM s3_buckets WHERE name = ?", stored))
        self._buckets.pop(name, None)  # after the commit: a read meanwhile still found it

    def bucket(self, name: str) -> Bucket | None:
        """Buckets found are kept (the S3 action asks for its bucket with every object:
        profiled, 4% of receiving's event loop); `delete_bucket` forgets them."""
        found = self._buckets.get(name)
        if found is None:
            read = self._read(
                "SELECT * FROM s3_buckets WHERE name = ?", (self._names.stored(name),)
            )
            if read:
                found = self._buckets[name] = rows.record(Bucket, read[0], name=name)
        return found

    def buckets(self) -> list[Bucket]:
        found = self._read("SELECT * FROM s3_buckets ORDER BY name")
        read = self._names.read
        return [rows.record(Bucket, row, name=read(row["name"])) for row in found]

    # ── SNS ───────────────────────────────────────────────────────────────────────────────
    def add_notification(self, record: Notification) -> None:
        params = (
            record.id,
            record.topic_arn,
            record.subject,
            record.message_id,
            record.created,
            json.dumps(record.deliveries),
            Large(record.message, self._packs),
        )
        # Each publication has an id of its own (local_sns.py): a plain INSERT, where an upsert
        # cost PostgreSQL's server 10 us per message more (benchmarks/pgscale.py's load).
        self._submit(Write(execute_packed, [(_NOTIFICATION, params)]))

    def notification_delivered(self, sns_id: str, deliveries: list[dict[str, Any]]) -> None:
        """What each HTTP subscriber answered."""
        text = json.dumps(deliveries)
        self._submit(
            Write(
                execute_unread,
                "UPDATE notifications SET deliveries = ? WHERE id = ?",
                (text, sns_id),
            )
        )

    def notifications(self, limit: int = 1000, offset: int = 0) -> Listing[Notification]:
        return self._listing("notifications", notification, limit, offset)

    # ── Lambda ────────────────────────────────────────────────────────────────────────────
    def add_invocation(self, record: LambdaInvocation) -> None:
        params = (
            record.id,
            record.function_arn,
            record.invocation_type,
            json.dumps(record.payload),
            record.message_id,
            record.created,
        )
        self._submit(
            Write(
                execute_unread,
                "INSERT OR REPLACE INTO invocations"
                " (id, function_arn, invocation_type, payload, message_id, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                params,
            )
        )

    def invocation_returned(self, request_id: str, response: Any) -> None:
        text = json.dumps(response)
        self._submit(
            Write(
                execute_unread,
                "UPDATE invocations SET response = ? WHERE id = ?",
                (text, request_id),
            )
        )

    def invocation_failed(self, request_id: str, error: str) -> None:
        self._submit(
            Write(
                execute_unread, "UPDATE invocations SET error = ? WHERE id = ?", (error, request_id)
            )
        )

    def invocations(self, limit: int = 1000, offset: int = 0) -> Listing[LambdaInvocation]:
        return self._listing("invocations", _invocation, limit, offset)

    # ── WorkMail ──────────────────────────────────────────────────────────────────────────
    def add_mailbox_delivery(self, record: MailboxDelivery) -> None:
        params = (
            record.id,
            record.organization_arn,
            json.dumps(list(record.recipients)),
            record.path,
            record.message_id,
            record.created,
        )
        self._submit(
            Write(
                execute_unread, "INSERT OR REPLACE INTO mailbox VALUES (?, ?, ?, ?, ?, ?)", params
            )
        )

    def mailbox_deliveries(self, limit: int = 1000, offset: int = 0) -> Listing[MailboxDelivery]:
        return self._listing(
            "mailbox",
            lambda r: rows.record(
                MailboxDelivery, r, recipients=tuple(json.loads(r["recipients"]))
            ),
            limit,
            offset,
        )

    # ── CloudWatch ────────────────────────────────────────────────────────────────────────
    def add_metric_points(self, points: list[MetricPoint]) -> None:
        params = [
            (
                p.id,
                p.namespace,
                p.metric_name,
                json.dumps(p.dimensions),
                p.value,
                p.unit,
                p.timestamp,
                p.message_id,
                p.created,
            )
            for p in points
        ]
        self._submit(
            Write(
                execute_each,
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
        )

    def metric_points(self, limit: int = 1000, offset: int = 0) -> Listing[MetricPoint]:
        return self._listing(
            "metrics",
            lambda r: rows.record(MetricPoint, r, dimensions=json.loads(r["dimensions"])),
            limit,
            offset,
        )

    # ── Firehose ──────────────────────────────────────────────────────────────────────────
    def add_stream_record(self, record: StreamRecord) -> None:
        params = (record.id, record.stream_arn, record.data, record.message_id, record.created)
        self._submit(
            Write(
                execute_unread,
                "INSERT OR REPLACE INTO stream_records VALUES (?, ?, ?, ?, ?)",
                params,
            )
        )

    def stream_records(self, limit: int = 1000, offset: int = 0) -> Listing[StreamRecord]:
        return self._listing(
            "stream_records", lambda r: rows.record(StreamRecord, r), limit, offset
        )

    # ── EventBridge, Pinpoint ─────────────────────────────────────────────────────────────
    def add_recorded_event(self, service: EventService, record: RecordedEvent) -> None:
        table = _EVENT_TABLES[service]
        params = (
            record.id,
            record.target_arn,
            json.dumps(record.event),
            record.message_id,
            record.created,
        )
        self._submit(
            Write(execute_unread, f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?)", params)
        )

    def recorded_events(
        self, service: EventService, limit: int = 1000, offset: int = 0
    ) -> Listing[RecordedEvent]:
        return self._listing(
            _EVENT_TABLES[service],
            lambda r: rows.record(RecordedEvent, r, event=json.loads(r["event"])),
            limit,
            offset,
        )

    def _listing(
        self, table: str, build: Callable[[Row], T], limit: int, offset: int
    ) -> Listing[T]:
        """A page of a table's records, oldest first (`table` is one of this module's, never
        input)."""
        found, total = self._page(f"SELECT * FROM {table}", "created, rowid", (), limit, offset)
        return Listing((build(r) for r in found), total)


_NOTIFICATION = (
    "INSERT INTO notifications (id, topic_arn, subject, message_id, created, deliveries,"
    " message, codec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)  # the message: a `Large`


def notification(row: Row) -> Notification:
    """A notification's row as its record, its message unpacked."""
    return rows.record(
        Notification,
        row,
        message=unpacked_text(row["message"], row["codec"]),
        deliveries=json.loads(row["deliveries"]),
    )


def _invocation(row: Row) -> LambdaInvocation:
    return rows.record(
        LambdaInvocation,
        row,
        payload=json.loads(row["payload"]),
        response=None if row["response"] is None else json.loads(row["response"]),
    )
