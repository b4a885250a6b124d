"""Embedded backends: everything inside the data dir, no external service (DESIGN.md).

* objects: `local_s3.py`;
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound.backends import BusEntry, MetricDatum
from inbound.backends.errors import checked_under
from inbound.datadir import under
from inbound.ids import new_uuid
from inbound.records import (
    MailboxDelivery,
    MetricPoint,
    OutboxMessage,
    OutboxStatus,
    RecordedEvent,
    StreamRecord,
)
from inbound.store import Store
from inbound.timestamps import now_iso, to_wire


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
        folder = checked_under(self.root, organization)
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
    import mailbox  # with the first WorkMail delivery: most servers never make one

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
