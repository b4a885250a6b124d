"""Which of a configuration set's event destinations an event goes to, and the CloudWatch data
point it becomes. Pure: the configuration set is the stored document (`sending/service.py`).

SES publishes an event to every destination that is enabled ("Enabled: If true, the event
destination is enabled. When the event destination is enabled, the specified event types are
sent to the destinations in this EventDestination", API reference) and whose
`MatchingEventTypes` lists the event's type under its lower-case name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inbound.backends import MetricDatum
from inbound.sending.configuration import DIMENSION_VALUE
from inbound.sending.events import Click, Event, EventType

# SES's metrics are in the AWS/SES namespace ("aws cloudwatch list-metrics --namespace AWS/SES",
# "Retrieving Amazon SES event data from CloudWatch"), one metric per event type, named as the
# CloudWatch User Guide lists them ("Amazon Simple Email Service Metrics and Dimensions"): Send,
# Reject, Bounce, Complaint, Delivery, Open, Click, Rendering Failure; these are the eventType
# names, and DeliveryDelay and Subscription are named the same way (docs/behaviour.md).
NAMESPACE = "AWS/SES"


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
