"""Which of a configuration set's event destinations an event goes to, and what it becomes for
CloudWatch (a data point), EventBridge (an event entry) and Amazon Pinpoint (an event-stream
record). Pure: the configuration set is the stored document (`sending/service.py`).

SES publishes an event to every destination that is enabled ("Enabled: If true, the event
destination is enabled. When the event destination is enabled, the specified event types are
sent to the destinations in this EventDestination", API reference) and whose
`MatchingEventTypes` lists the event's type under its lower-case name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from inbound.backends import BusEntry, MetricDatum
from inbound.sending.configuration import DIMENSION_VALUE
from inbound.sending.events import Click, Event, EventType

# SES's metrics are in the AWS/SES namespace ("aws cloudwatch list-metrics --namespace AWS/SES",
# "Retrieving Amazon SES event data from CloudWatch"), one metric per event type, named as the
# CloudWatch User Guide lists them ("Amazon Simple Email Service Metrics and Dimensions"): Send,
# Reject, Bounce, Complaint, Delivery, Open, Click, Rendering Failure; these are the eventType
# names, and DeliveryDelay and Subscription are named the same way (docs/behaviour.md).
NAMESPACE = "AWS/SES"

# SES's events on EventBridge: source `aws.ses`, one detail-type per event type ("Amazon Simple
# Email Service events", EventBridge Events Reference: Email Sent, Email Delivered, Email
# Bounced, Email Complaint Received, Email Rejected, Email Opened, Email Rendering Failed, Email
# Clicked, Email Delivery Delayed, Email Subscribed), the event record as `detail`.
BUS_SOURCE = "aws.ses"
DETAIL_TYPES = {
    EventType.SEND: "Email Sent",
    EventType.REJECT: "Email Rejected",
    EventType.BOUNCE: "Email Bounced",
    EventType.COMPLAINT: "Email Complaint Received",
    EventType.DELIVERY: "Email Delivered",
    EventType.DELIVERY_DELAY: "Email Delivery Delayed",
    EventType.RENDERING_FAILURE: "Email Rendering Failed",
    EventType.OPEN: "Email Opened",
    EventType.CLICK: "Email Clicked",
    EventType.SUBSCRIPTION: "Email Subscribed",
}
# Amazon Pinpoint's email event types (Pinpoint Developer Guide, "Email events" of event
# streams); a Transient bounce is its soft bounce. It has none for DeliveryDelay.
PINPOINT_TYPES = {
    EventType.SEND: "_email.send",
    EventType.REJECT: "_email.rejected",
    EventType.BOUNCE: "_email.hardbounce",
    EventType.COMPLAINT: "_email.complaint",
    EventType.DELIVERY: "_email.delivered",
    EventType.RENDERING_FAILURE: "_email.rendering_failure",
    EventType.OPEN: "_email.open",
    EventType.CLICK: "_email.click",
    EventType.SUBSCRIPTION: "_email.unsubscribe",
}


def matching(configuration_set: Mapping[str, Any], event: Event) -> list[Mapping[str, Any]]:
    """The destinations `event` is published to, in the set's order."""
    return _matching(configuration_set, event.type)


def publishes(configuration_set: Mapping[str, Any], event_type: EventType) -> bool:
    """Whether some destination takes events of this type (open and click tracking is on for
    a message only then)."""
    return bool(_matching(configuration_set, event_type))


def _matching(
    configuration_set: Mapping[str, Any], event_type: EventType
) -> list[Mapping[str, Any]]:
    wanted = event_type.matching_name
    return [
        destination
        for destination in configuration_set.get("EventDestinations", ())
        if destination.get("Enabled") and wanted in destination.get("MatchingEventTypes", ())
    ]


def bus_entry(event: Event, record: bytes) -> BusEntry:
    """The PutEvents entry of `event` (`record`: its JSON)."""
    return BusEntry(BUS_SOURCE, DETAIL_TYPES[event.type], record.decode(), event.occurred)


def pinpoint_event(application_arn: str, event: Event) -> dict[str, Any] | None:
    """The event-stream record Pinpoint keeps for `event`, or None for a type it has none for:
    `event_type`, the times in milliseconds, the application and account, and SES's record
    (without `eventType`) as `facets.email_channel.mail_event` (the layout of Pinpoint's email
    event records; UNCONFIRMED for events SES publishes, docs/behaviour.md)."""
    kind = PINPOINT_TYPES.get(event.type)
    if kind is None:
        return None
    record = orjson.loads(orjson.dumps(event.record()))
    del record["eventType"]
    if event.type is EventType.BOUNCE and record["bounce"].get("bounceType") == "Transient":
        kind = "_email.softbounce"
    _, _, _, _, account, resource = application_arn.split(":", 5)
    millis = int(event.occurred.timestamp() * 1000)
    return {
        "event_type": kind,
        "event_timestamp": millis,
        "arrival_timestamp": millis,
        "event_version": "3.1",
        "application": {"app_id": resource.rpartition("/")[2], "sdk": {}},
        "awsAccountId": account,
        "facets": {"email_channel": {"mail_event": record}},
    }


def metric_datum(dimensions: Sequence[Mapping[str, str]], event: Event) -> MetricDatum | None:
    """The data point of `event` for a CloudWatch destination's `DimensionConfigurations`, or
    None when a value taken from an email header has characters SES does not publish ("If you
    specify a name or value that contains other characters, the email sending call will still
    succeed, but the event metrics will not be sent to Amazon CloudWatch", "Set up a CloudWatch
    event destination for event publishing")."""
    found = []
    for dimension in dimensions:
        name = dimension["DimensionName"]
        value = _value(dimension["DimensionValueSource"], name, event)
        if value is None:
            value = dimension["DefaultDimensionValue"]
        elif DIMENSION_VALUE.fullmatch(value) is None:
            return None
        found.append((name, value))
    return MetricDatum(str(event.type), tuple(found), event.occurred)


def _value(source: str, name: str, event: Event) -> str | None:
    """messageTag: the message tag called `name`, SES's auto-tags included ("To use an auto-tag,
    type the complete name of the auto-tag as the Dimension Name"); emailHeader: the header;
    linkTag: the clicked link's tag (Click events only)."""
    if source == "messageTag":
        values = event.tags.get(name)
        return values[0] if values else None
    if source == "emailHeader":
        return event.mail.header(name)
    if isinstance(event.outcome, Click) and event.outcome.link_tags:
        link_values = event.outcome.link_tags.get(name)
        return link_values[0] if link_values else None
    return None
