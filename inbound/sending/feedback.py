"""Where sending events and identity notifications go: the one entry point the send path,
delivery, the mailbox simulator and open/click tracking call.

`publish_event` sends an event record to each matching destination of the message's
configuration set (destinations.py decides which): SNS through the Publisher backend (the
embedded notification log and HTTP subscribers, or boto3), CloudWatch as a data point, Kinesis
Data Firehose as the JSON record followed by a newline ("When publishing events to Kinesis Data
Firehose, Amazon SES follows each JSON record with a newline character", "Contents of event
data that Amazon SES publishes to Kinesis Data Firehose"), EventBridge as an `aws.ses` event
whose detail is the record, Amazon Pinpoint as an email event of its event stream.
`notify_identity` publishes a Bounce,
Complaint or Delivery notification to the topic the identity set for it
(SetIdentityNotificationTopic), with headers when SetIdentityHeadersInNotificationsEnabled is on.

SES publishes to SNS without a Subject (its feedback arrives by SNS email as "AWS Notification
Message", SNS's text for a publication without one; docs/behaviour.md). A destination that fails
does not stop the others and never fails the send: what each did is returned as `Publication`s
for the message's trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import orjson

from inbound.backends import Backends
from inbound.errors import ConfigurationSetDoesNotExist
from inbound.identities.rules import Identity
from inbound.sending import destinations
from inbound.sending.configuration import CONFIGURATION_SETS
from inbound.sending.events import (
    Event,
    NotificationOutcome,
    Outcome,
    SentMail,
    identity_notification,
)
from inbound.sending.service import SendingConfiguration
from inbound.timestamps import now_iso

log = logging.getLogger("inbound.sending")

NO_SUBJECT = ""


@dataclass(frozen=True)
class Publication:
    """What one destination did with one record. `destination` is the event destination's
    name, or the notification type for an identity notification; `ref` the SNS message id or
    the Firehose record id; `skipped` a reason nothing was published."""

    destination: str
    kind: str  # the destination's member: "SNSDestination", "CloudWatchDestination", ...
    target: str  # the topic, the metric namespace, the delivery stream, bus or application
    ref: str | None = None
    error: str | None = None
    skipped: str | None = None

    def step(self) -> dict[str, Any]:
        """As a trace step records it."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class Feedback:
    def __init__(self, sending: SendingConfiguration, backends: Backends) -> None:
        self._sending = sending
        self._publisher = backends.publisher
        self._metrics = backends.metrics
        self._streams = backends.streams
        self._bus = backends.bus
        self._pinpoint = backends.pinpoint

    async def event(
        self,
        region: str,
        configuration_set: str | None,
        mail: Callable[[], SentMail],
        outcome: Outcome,
        recipient: str | None = None,
    ) -> dict[str, Any]:
        """Publish the event of `outcome` to the message's configuration set, if it has one
        (`mail()` makes the message's facts then), and return its trace step: the event's facts
        (the outcome's JSON and when it was recorded) with what each destination did. The step
        is kept whether or not anything was published: VDM's insights and metrics read it
        (`insights.py`)."""
        done = []
        if configuration_set is not None:
            event = Event(mail(), outcome)
            done = await self.publish_event(region, configuration_set, event)
        step: dict[str, Any] = {
            "step": "event",
            "eventType": str(outcome.TYPE),
            "at": now_iso(),
            "facts": outcome.json(),
        }
        if recipient is not None:
            step["recipient"] = recipient
        return step | {"publications": [p.step() for p in done]}

    async def publish_event(
        self, region: str, configuration_set: str, event: Event
    ) -> list[Publication]:
        """Publish `event` to the destinations of `configuration_set` as they are now; a set
        deleted since the send has none."""
        try:
            found = self._sending.get(CONFIGURATION_SETS, region, configuration_set)
        except ConfigurationSetDoesNotExist:
            return []
        chosen = destinations.matching(found, event)
        if not chosen:
            return []
        text = orjson.dumps(event.record())  # compact JSON, non-ASCII as UTF-8
        return [await self._publish(d, event, text) for d in chosen]

    async def _publish(
        self, destination: Mapping[str, Any], event: Event, text: bytes
    ) -> Publication:
        name, message_id = destination["Name"], event.mail.message_id
        if "SNSDestination" in destination:
            topic = destination["SNSDestination"]["TopicARN"]
            sent = self._publisher.publish(topic, NO_SUBJECT, text.decode(), message_id)
            return await _attempt(Publication(name, "SNSDestination", topic), sent)
        if "KinesisFirehoseDestination" in destination:
            stream = destination["KinesisFirehoseDestination"]["DeliveryStreamARN"]
            put = self._streams.put_record(stream, text + b"\n", message_id)
            return await _attempt(Publication(name, "KinesisFirehoseDestination", stream), put)
        if "EventBridgeDestination" in destination:
            bus = destination["EventBridgeDestination"]["EventBusArn"]
            entry = destinations.bus_entry(event, text)
            put_event = self._bus.put_bus_event(bus, entry, message_id)
            return await _attempt(Publication(name, "EventBridgeDestination", bus), put_event)
        if "PinpointDestination" in destination:
            application = destination["PinpointDestination"]["ApplicationArn"]
            done = Publication(name, "PinpointDestination", application)
            found = destinations.pinpoint_event(application, event)
            if found is None:
                return replace(done, skipped=f"Pinpoint has no email event for {event.type}")
            put_pinpoint = self._pinpoint.put_pinpoint_event(application, found, message_id)
            return await _attempt(done, put_pinpoint)
        done = Publication(name, "CloudWatchDestination", destinations.NAMESPACE)
        dimensions = destination["CloudWatchDestination"]["DimensionConfigurations"]
        datum = destinations.metric_datum(dimensions, event)
        if datum is None:
            return replace(done, skipped="an emailHeader dimension value SES does not publish")
        put_data = self._metrics.put_metric_data(destinations.NAMESPACE, [datum], message_id)
        return await _attempt(done, put_data)

    async def notify_identity(
        self, identity: Identity, mail: Callable[[], SentMail], outcome: NotificationOutcome
    ) -> Publication | None:
        """Publish `outcome` to `identity`'s topic for its type (`mail()` makes the message's
        facts then); None when it has none."""
        kind = str(outcome.TYPE)
        topic = identity.topics.get(kind)
        if not topic:
            return None
        facts = mail()
        body = identity_notification(facts, outcome, with_headers=kind in identity.headers)
        text = orjson.dumps(body).decode()
        sent = self._publisher.publish(topic, NO_SUBJECT, text, facts.message_id)
        return await _attempt(Publication(kind, "SNSDestination", topic), sent)


async def _attempt(publication: Publication, call: Awaitable[str | None]) -> Publication:
    """`publication` with the backend's reference, or its error: a backend reports a failure by
    raising any exception (docs/extending.md), and one destination's failure is not the
    others' nor the send's."""
    try:
        ref = await call
    except Exception as exc:
        log.warning("%s %s failed: %s", publication.kind, publication.target, exc)
        return replace(publication, error=f"{type(exc).__name__}: {exc}")
    return replace(publication, ref=ref)
