"""Embedded backends: everything inside the data dir, no external service (DESIGN.md).

* objects: `DATA/s3/<bucket>/<key>`, metadata in the store; buckets exist on first use;
* publisher: the embedded SNS (`local_sns.py`): topics, HTTP(S) subscriptions, the
  notification log;
* functions: `local_lambda.py`;
* mailer: the outbox; `inbound.relay` delivers it to a smarthost when `[relay]` is set;
* mailbox: a Maildir per WorkMail organization, `DATA/workmail/<organization id>/`;
* metrics: CloudWatch data points, in the store (`GET /api/metrics`);
* streams: Kinesis Data Firehose records, in the store (`GET /api/firehose`).
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound.backends import BackendError, BusEntry, MetricDatum
from inbound.datadir import UnsafePath, under
from inbound.ids import new_uuid
from inbound.records import (
    MailboxDelivery,
    MetricPoint,
    OutboxMessage,
    OutboxStatus,
    RecordedEvent,
    StoredObject,
    StreamRecord,
)
from inbound.store import Store
from inbound.timestamps import now_iso, to_wire


def _under(root: Path, *parts: str) -> Path:
    """An unsafe path from a rule or a client fails the action, as any backend error does."""
    try:
        return under(root, *parts)
    except UnsafePath as exc:
        raise BackendError(str(exc)) from None


def _write_atomically(path: Path, body: bytes, partial: Path) -> None:
    """Readers never see a partial file: write it in `partial` (same file system), then
    rename it over `path`. Folders are made only when missing (a stat per object was a
    measurable cost)."""
    try:
        _replace_with(path, body, partial)
    except FileNotFoundError:
        partial.mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace_with(path, body, partial)


def _replace_with(path: Path, body: bytes, partial: Path) -> None:
    tmp = f"{partial}/{new_uuid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)  # a full disk, a missing folder: nothing half-written stays behind
        raise


@dataclass
class LocalObjectStore:
    """Objects under `root`/<bucket>/<key>. Each is written in `partial` first and renamed
    into its bucket, so a bucket never holds a half-written or temporary file, even after a
    kill -9; what a killed server left in `partial` goes at the next start
    (`discard_partial`)."""

    root: Path
    store: Store
    partial: Path

    def discard_partial(self) -> int:
        """Delete the writes a killed server left unfinished; how many there were. Only `serve`
        calls it: one server per data dir, whose writes cannot be in progress yet."""
        try:
            leftovers = list(self.partial.iterdir())
        except FileNotFoundError:
            return 0
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def path(self, bucket: str, key: str) -> Path:
        return _under(self.root, bucket, key)

    async def put_object(
        self, bucket: str, key: str, body: bytes, metadata: Mapping[str, str], message_id: str
    ) -> None:
        path = self.path(bucket, key)
        record = StoredObject(
            bucket=bucket,
            key=key,
            size=len(body),
            metadata=dict(metadata),
            message_id=message_id,
            created=now_iso(),
        )
        await self.store.add_object(record, lambda: _write_atomically(path, body, self.partial))

    async def get_object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        try:
            body = self.path(bucket, key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BackendError(f"NoSuchKey: s3://{bucket}/{key} (in {self.root.parent})") from None
        found = self.store.stored_object(bucket, key)
        return body, found.metadata if found is not None else {}


@dataclass
class LocalMailer:
    store: Store
    on_queued: Callable[[], None] | None = None  # the relay's wake(), when one runs

    async def send(
        self, mail_from: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        outbox_id = new_uuid()
        queued = OutboxMessage(
            id=outbox_id,
            mail_from=mail_from,
            recipients=tuple(recipients),
            message_id=message_id,
            status=OutboxStatus.QUEUED,
            created=now_iso(),
        )
        self.store.queue_outbox(queued, message)
        if self.on_queued is not None:
            self.on_queued()
        return outbox_id


@dataclass
class LocalMailbox:
    root: Path
    store: Store

    async def deliver(
        self, organization_arn: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        organization = organization_arn.rsplit("/", 1)[-1]
        folder = _under(self.root, organization)
        key = await asyncio.to_thread(_maildir_add, folder, message)
        path = str(under(folder, "new", key))
        self.store.add_mailbox_delivery(
            MailboxDelivery(
                id=key,
                organization_arn=organization_arn,
                recipients=tuple(recipients),
                path=path,
                message_id=message_id,
                created=now_iso(),
            )
        )
        return path


def _maildir_add(folder: Path, message: bytes) -> str:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(folder, create=True).add(message)


@dataclass
class LocalMetrics:
    """CloudWatch as a log of data points: one row per datum, as PutMetricData received it."""

    store: Store

    async def put_metric_data(
        self, namespace: str, data: Sequence[MetricDatum], message_id: str
    ) -> None:
        created = now_iso()
        self.store.add_metric_points(
            [
                MetricPoint(
                    id=new_uuid(),
                    namespace=namespace,
                    metric_name=datum.metric_name,
                    dimensions=dict(datum.dimensions),
                    value=datum.value,
                    unit=datum.unit,
                    timestamp=to_wire(datum.timestamp),
                    message_id=message_id,
                    created=created,
                )
                for datum in data
            ]
        )


@dataclass
class LocalStreams:
    """Kinesis Data Firehose as a log of the records each delivery stream received."""

    store: Store

    async def put_record(self, stream_arn: str, data: bytes, message_id: str) -> str:
        record_id = new_uuid()
        self.store.add_stream_record(
            StreamRecord(
                id=record_id,
                stream_arn=stream_arn,
                data=data.decode("utf-8", "replace"),
                message_id=message_id,
                created=now_iso(),
            )
        )
        return record_id


@dataclass
class LocalBus:
    """EventBridge as a log of the events each bus received, each as a rule's target would get
    it: the entry inside EventBridge's envelope (`version`, `id`, the bus's `account` and
    `region`, `time` in seconds; "Amazon EventBridge events", EventBridge User Guide)."""

    store: Store

    async def put_bus_event(self, bus_arn: str, entry: BusEntry, message_id: str) -> str:
        event_id = new_uuid()
        _, _, _, region, account, _ = bus_arn.split(":", 5)
        event = {
            "version": "0",
            "id": event_id,
            "detail-type": entry.detail_type,
            "source": entry.source,
            "account": account,
            "time": entry.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": list(entry.resources),
            "detail": json.loads(entry.detail),
        }
        record = RecordedEvent(event_id, bus_arn, event, message_id, now_iso())
        self.store.add_recorded_event("eventbridge", record)
        return event_id


@dataclass
class LocalPinpoint:
    """Amazon Pinpoint as a log of the events each project (application) received."""

    store: Store

    async def put_pinpoint_event(
        self, application_arn: str, event: Mapping[str, Any], message_id: str
    ) -> str:
        event_id = new_uuid()
        record = RecordedEvent(event_id, application_arn, dict(event), message_id, now_iso())
        self.store.add_recorded_event("pinpoint", record)
        return event_id
