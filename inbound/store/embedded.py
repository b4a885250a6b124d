"""What the embedded backends did (inbound/backends/local.py): objects written, notifications
published, Lambda invocations, WorkMail deliveries, CloudWatch data points, Firehose records.
Recorded without waiting (the writer commits them in order) unless a method says otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from inbound.records import (
    LambdaInvocation,
    MailboxDelivery,
    MetricPoint,
    Notification,
    StoredObject,
    StreamRecord,
)
from inbound.store import rows
from inbound.store.writer import Connection, Database, Row


class Embedded(Database):
    # ── S3 ────────────────────────────────────────────────────────────────────────────────
    async def add_object(self, record: StoredObject, write_file: Callable[[], None]) -> None:
        """Run `write_file` in the writer thread, then insert the record that describes the
        file in the same transaction: the event loop does not wait on the file system
        (profiled: it was a fifth of the loop's work per message), and the record never
        exists without its file."""
        params = (
            record.bucket,
            record.key,
            record.size,
            json.dumps(record.metadata),
            record.message_id,
            record.created,
        )

        def write(c: Connection) -> None:
            write_file()
            c.execute("INSERT OR REPLACE INTO s3_objects VALUES (?, ?, ?, ?, ?, ?)", params)

        await self._write(write, durable=False)

    def objects(self, limit: int = 1000) -> list[StoredObject]:
        return [_object(r) for r in self._listing("s3_objects", limit)]

    def stored_object(self, bucket: str, key: str) -> StoredObject | None:
        found = self._read("SELECT * FROM s3_objects WHERE bucket = ? AND key = ?", (bucket, key))
        return _object(found[0]) if found else None

    # ── SNS ───────────────────────────────────────────────────────────────────────────────
    def add_notification(self, record: Notification) -> None:
        params = (
            record.id,
            record.topic_arn,
            record.subject,
            record.message,
            record.message_id,
            record.created,
            json.dumps(record.deliveries),
        )
        self._submit(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?)", params
            )
        )

    def notification_delivered(self, sns_id: str, deliveries: list[dict[str, Any]]) -> None:
        """What each HTTP subscriber answered."""
        text = json.dumps(deliveries)
        self._submit(
            lambda c: c.execute(
                "UPDATE notifications SET deliveries = ? WHERE id = ?", (text, sns_id)
            )
        )

    def notifications(self, limit: int = 1000) -> list[Notification]:
        return [
            rows.record(Notification, r, deliveries=json.loads(r["deliveries"]))
            for r in self._listing("notifications", limit)
        ]

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
            lambda c: c.execute(
                "INSERT OR REPLACE INTO invocations"
                " (id, function_arn, invocation_type, payload, message_id, created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                params,
            )
        )

    def invocation_returned(self, request_id: str, response: Any) -> None:
        text = json.dumps(response)
        self._submit(
            lambda c: c.execute(
                "UPDATE invocations SET response = ? WHERE id = ?", (text, request_id)
            )
        )

    def invocation_failed(self, request_id: str, error: str) -> None:
        self._submit(
            lambda c: c.execute(
                "UPDATE invocations SET error = ? WHERE id = ?", (error, request_id)
            )
        )

    def invocations(self, limit: int = 1000) -> list[LambdaInvocation]:
        return [
            rows.record(
                LambdaInvocation,
                r,
                payload=json.loads(r["payload"]),
                response=None if r["response"] is None else json.loads(r["response"]),
            )
            for r in self._listing("invocations", limit)
        ]

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
            lambda c: c.execute("INSERT OR REPLACE INTO mailbox VALUES (?, ?, ?, ?, ?, ?)", params)
        )

    def mailbox_deliveries(self, limit: int = 1000) -> list[MailboxDelivery]:
        return [
            rows.record(MailboxDelivery, r, recipients=tuple(json.loads(r["recipients"])))
            for r in self._listing("mailbox", limit)
        ]

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
            lambda c: c.executemany(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", params
            )
        )

    def metric_points(self, limit: int = 1000) -> list[MetricPoint]:
        return [
            rows.record(MetricPoint, r, dimensions=json.loads(r["dimensions"]))
            for r in self._listing("metrics", limit)
        ]

    # ── Firehose ──────────────────────────────────────────────────────────────────────────
    def add_stream_record(self, record: StreamRecord) -> None:
        params = (record.id, record.stream_arn, record.data, record.message_id, record.created)
        self._submit(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO stream_records VALUES (?, ?, ?, ?, ?)", params
            )
        )

    def stream_records(self, limit: int = 1000) -> list[StreamRecord]:
        return [rows.record(StreamRecord, r) for r in self._listing("stream_records", limit)]

    def _listing(self, table: str, limit: int) -> list[Row]:
        """A table's rows, oldest first (`table` is one of this module's, never input)."""
        return self._read(f"SELECT * FROM {table} ORDER BY created, rowid LIMIT ?", (limit,))


def _object(row: Row) -> StoredObject:
    return rows.record(StoredObject, row, metadata=json.loads(row["metadata"]))
