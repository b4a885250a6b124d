"""Virtual Deliverability Manager's view of what was sent, computed from the sent messages'
traces: each recipient's events (GetMessageInsights) and daily counts of VDM's metrics
(BatchGetMetricData, metrics export jobs). Pure: records in, values out.

Every event of a message is a step of its trace (`feedback.event_step`): its type, when it was
recorded, the recipient it is about (none for the whole message: Send, Reject, Rendering
Failure, Open, Click) and the outcome's facts as its event record has them. What each metric
counts is the `sesv2` model's definition of the `Metric` enum; choices where it is silent are in
docs/behaviour.md ("Virtual Deliverability Manager").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from inbound.records import SentMessage
from inbound.sending import simulator
from inbound.sending.events import EventType
from inbound.timestamps import from_wire

Json = dict[str, Any]
SUPPRESSED = "OnAccountSuppressionList"  # bounces and complaints "originating from your
# account-level suppression list" are left out of the metrics

# The recipient's mailbox provider, by domain (`Isp`, "e.g., Gmail, Yahoo"); others are "Other".
_ISPS = {
    "gmail.com": "Gmail",
    "googlemail.com": "Gmail",
    "yahoo.com": "Yahoo",
    "ymail.com": "Yahoo",
    "rocketmail.com": "Yahoo",
    "aol.com": "AOL",
    "outlook.com": "Hotmail",
    "hotmail.com": "Hotmail",
    "live.com": "Hotmail",
    "msn.com": "Hotmail",
    "icloud.com": "iCloud",
    "me.com": "iCloud",
    "mac.com": "iCloud",
    "comcast.net": "Comcast",
}
# ISPs whose complaints reach SES through a feedback loop (DELIVERY_COMPLAINT counts only
# deliveries to them): Gmail reports no complaint per message.
FEEDBACK_LOOP_ISPS = frozenset({"Yahoo", "Hotmail", "AOL", "Comcast"})


def isp_of(address: str) -> str:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    found = _ISPS.get(domain)
    if found is None:
        for prefix, isp in (("yahoo.", "Yahoo"), ("hotmail.", "Hotmail"), ("outlook.", "Hotmail")):
            if domain.startswith(prefix):
                return isp
    return found or "Other"


@dataclass(frozen=True)
class InsightEvent:
    kind: EventType
    at: datetime
    recipient: str | None  # None: the event is about the whole message
    facts: Json

    def details(self, recipient: str) -> Json | None:
        """`Details` of a Bounce or a Complaint for `recipient`, in the model's names."""
        if self.kind is EventType.BOUNCE:
            found = {
                "BounceType": str(self.facts.get("bounceType", "Undetermined")).upper(),
                "BounceSubType": self.facts.get("bounceSubType"),
            }
            for bounced in self.facts.get("bouncedRecipients", ()):
                if bounced.get("emailAddress") == recipient and "diagnosticCode" in bounced:
                    found["DiagnosticCode"] = bounced["diagnosticCode"]
            return {"Bounce": found}
        if self.kind is EventType.COMPLAINT:
            return {
                "Complaint": {
                    "ComplaintSubType": self.facts.get("complaintSubType"),
                    "ComplaintFeedbackType": self.facts.get("complaintFeedbackType"),
                }
            }
        return None


def events_of(record: SentMessage) -> list[InsightEvent]:
    """The message's events in the order they happened. A step recorded before events kept
    their time reads as the message's."""
    found = []
    for step in record.trace:
        if step.get("step") != "event":
            continue
        facts = step.get("facts", {})
        at = facts.get("timestamp") or step.get("at") or record.created
        found.append(
            InsightEvent(EventType(step["eventType"]), from_wire(at), step.get("recipient"), facts)
        )
    return sorted(found, key=lambda event: event.at)


def destinations(record: SentMessage) -> list[str]:
    return list(dict.fromkeys(record.recipients))


def for_recipient(events: Iterable[InsightEvent], recipient: str) -> list[InsightEvent]:
    """The events about `recipient`: its own and the message's."""
    return [e for e in events if e.recipient in (None, recipient)]


# ── metrics ─────────────────────────────────────────────────────────────────────────────────
class Metric(StrEnum):
    SEND = "SEND"
    COMPLAINT = "COMPLAINT"
    PERMANENT_BOUNCE = "PERMANENT_BOUNCE"
    TRANSIENT_BOUNCE = "TRANSIENT_BOUNCE"
    OPEN = "OPEN"
    CLICK = "CLICK"
    DELIVERY = "DELIVERY"
    DELIVERY_OPEN = "DELIVERY_OPEN"
    DELIVERY_CLICK = "DELIVERY_CLICK"
    DELIVERY_COMPLAINT = "DELIVERY_COMPLAINT"


@dataclass(frozen=True)
class Tracked:
    """One message VDM tracks, with what its dimensions are."""

    record: SentMessage
    identity: str  # EMAIL_IDENTITY: the identity it was sent as
    events: tuple[InsightEvent, ...]

    @property
    def recipient(self) -> str:
        return self.record.recipients[0]

    def dimension(self, name: str) -> str | None:
        """A `MetricDimensionName`'s value; TENANT_NAME the tenant it was sent through (v2's
        TenantName, or X-SES-TENANT), recorded in its trace's first step."""
        accepted = self.record.trace[0] if self.record.trace else {}
        return {
            "EMAIL_IDENTITY": self.identity,
            "CONFIGURATION_SET": self.record.configuration_set,
            "ISP": isp_of(self.recipient),
            "TENANT_NAME": accepted.get("TenantName"),
        }.get(name)

    def tracking(self, kind: str) -> bool:
        """Whether the message has an open pixel (`open`) or tracked links (`links`)."""
        step = next((s for s in self.record.trace if s.get("step") == "tracking"), {})
        return bool(step.get(kind))


def tracked(
    records: Iterable[SentMessage], identity_of: Callable[[SentMessage], str]
) -> Iterator[Tracked]:
    """The messages the metrics count: "emails addressed to more than one recipient" are left
    out of every metric."""
    for record in records:
        if len(destinations(record)) == 1:
            yield Tracked(record, identity_of(record), tuple(events_of(record)))


def counted(message: Tracked, metric: Metric) -> list[InsightEvent]:
    """The events of `message` that `metric` counts."""
    simulated = simulator.outcome_of(message.recipient) is not None
    kinds = {e.kind for e in message.events}
    if metric in (Metric.OPEN, Metric.CLICK):  # "Unique open events", "Unique click events"
        kind = EventType.OPEN if metric is Metric.OPEN else EventType.CLICK
        return [e for e in message.events if e.kind is kind][:1] if kind in kinds else []
    if simulated:  # every other metric "excludes" the mailbox simulator
        return []
    events = message.events
    if metric is Metric.SEND:
        return [e for e in events if e.kind is EventType.SEND]
    if metric is Metric.COMPLAINT:
        return [
            e
            for e in events
            if e.kind is EventType.COMPLAINT and e.facts.get("complaintSubType") != SUPPRESSED
        ]
    if metric in (Metric.PERMANENT_BOUNCE, Metric.TRANSIENT_BOUNCE):
        wanted = "Permanent" if metric is Metric.PERMANENT_BOUNCE else "Transient"
        return [
            e
            for e in events
            if e.kind is EventType.BOUNCE
            and e.facts.get("bounceType") == wanted
            and (metric is Metric.TRANSIENT_BOUNCE or e.facts.get("bounceSubType") != SUPPRESSED)
        ]
    deliveries = [e for e in events if e.kind is EventType.DELIVERY]
    if metric is Metric.DELIVERY_OPEN:
        return deliveries if message.tracking("open") else []
    if metric is Metric.DELIVERY_CLICK:
        return deliveries if message.tracking("links") else []
    if metric is Metric.DELIVERY_COMPLAINT:
        return deliveries if isp_of(message.recipient) in FEEDBACK_LOOP_ISPS else []
    return deliveries


def days(start: datetime, end: datetime) -> list[date]:
    """Every UTC day from StartDate's to EndDate's, both included."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def daily(
    messages: Iterable[Tracked],
    metric: Metric,
    dimensions: Mapping[str, str],
    start: datetime,
    end: datetime,
) -> list[tuple[datetime, int]]:
    """(day, count) for each day of the span: `metric`'s events that day among the messages
    whose dimensions have the values asked for."""
    counts = dict.fromkeys(days(start, end), 0)
    for message in messages:
        if any(message.dimension(k) != v for k, v in dimensions.items()):
            continue
        for event in counted(message, metric):
            day = event.at.astimezone(UTC).date()
            if day in counts:
                counts[day] += 1
    return [(midnight(day), count) for day, count in counts.items()]
