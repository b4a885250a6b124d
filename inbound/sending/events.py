"""The JSON records SES publishes about a sent message: configuration-set event records
(`eventType`) and identity notifications (`notificationType`). Pure: values in, JSON out.

Field lists and nesting follow the SES Developer Guide: "Contents of event data that Amazon SES
publishes to Amazon SNS" and its "Examples" page (the Firehose pages have the same records) for
events; "Amazon SNS notification contents for Amazon SES" and "Amazon SNS notification examples
for Amazon SES" for identity notifications. The two differ in the `mail` object: events carry
`tags` (message tags and SES's auto-tags) and always the headers; notifications carry
`sourceIp` and `callerIdentity` instead of tags, and the headers only when the identity has
headers-in-notifications on. Choices where the pages are silent are in docs/behaviour.md.

Outcomes are the facts of one event (a bounce's recipients, a click's link, ...) as dataclasses
with Python names; `Event` pairs one with the `SentMail` it is about. The send core builds a
`SentMail` when it accepts a message; the simulator, delivery and tracking build the outcomes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from inbound.headers import Header, address_list, common_headers, listed_headers, unfolded
from inbound.timestamps import to_wire

Json = dict[str, Any]


class EventType(StrEnum):
    """`eventType` as SES writes it: "Rendering Failure" has a space, DeliveryDelay has none."""

    SEND = "Send"
    REJECT = "Reject"
    BOUNCE = "Bounce"
    COMPLAINT = "Complaint"
    DELIVERY = "Delivery"
    DELIVERY_DELAY = "DeliveryDelay"
    RENDERING_FAILURE = "Rendering Failure"
    OPEN = "Open"
    CLICK = "Click"
    SUBSCRIPTION = "Subscription"

    @property
    def matching_name(self) -> str:
        """Its name in an event destination's `MatchingEventTypes` (the model's EventType enum:
        send, reject, bounce, complaint, delivery, open, click, renderingFailure; SES API v2
        adds deliveryDelay and subscription)."""
        return _MATCHING[self]


_MATCHING = {
    EventType.SEND: "send",
    EventType.REJECT: "reject",
    EventType.BOUNCE: "bounce",
    EventType.COMPLAINT: "complaint",
    EventType.DELIVERY: "delivery",
    EventType.DELIVERY_DELAY: "deliveryDelay",
    EventType.RENDERING_FAILURE: "renderingFailure",
    EventType.OPEN: "open",
    EventType.CLICK: "click",
    EventType.SUBSCRIPTION: "subscription",
}


def wire_time(moment: datetime) -> str:
    """`2017-08-05T00:41:02.669Z`: "ISO8601 format (YYYY-MM-DDThh:mm:ss.sZ)", always UTC."""
    return to_wire(moment.astimezone(UTC))


# ── the message ─────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class SentMail:
    """What every record says about the message: the `mail` object's facts.

    `source` is the sender as the caller gave it (the examples show `Sender Name
    <sender@example.com>`); `headers` are the fields of the message as it was submitted
    (`X-SES-*` ones included, as in the examples); `tags` the message tags in order, from the
    API's `Tags` or the `X-SES-MESSAGE-TAGS` header.
    """

    message_id: str
    timestamp: datetime  # when SES accepted the send
    source: str
    source_arn: str
    sending_account_id: str
    destination: tuple[str, ...]
    headers: tuple[Header, ...]
    source_ip: str
    caller_identity: str
    configuration_set: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    tenant: str | None = None  # TenantName of an API v2 send

    @property
    def from_domain(self) -> str:
        """`ses:from-domain`: "The domain of the "From" address" (the first one), else of
        the source."""
        for name, value in self.headers:
            if name.lower() == "from":
                found = address_list(unfolded(value))
                if found:
                    return found[0][1].rpartition("@")[2].lower()
        return self.source.rstrip(">").rpartition("@")[2].lower()

    def all_tags(self, outgoing_ip: str | None) -> dict[str, list[str]]:
        """`mail.tags`: each name maps to its list of values, SES's auto-tags first ("Monitor
        email sending using Amazon SES event publishing", Amazon SES Auto-Tags)."""
        tags = {}
        if self.configuration_set is not None:
            tags["ses:configuration-set"] = [self.configuration_set]
        tags["ses:source-ip"] = [self.source_ip]
        tags["ses:from-domain"] = [self.from_domain]
        tags["ses:caller-identity"] = [self.caller_identity]
        if self.tenant is not None:
            # "SES adds a ses:tenant-name tag ... so that you can identify which tenant the
            # event belongs to" (DG, "Using tenant-level suppression lists")
            tags["ses:tenant-name"] = [self.tenant]
        if outgoing_ip is not None:
            tags["ses:outgoing-ip"] = [outgoing_ip]
        for name, value in self.tags:
            tags.setdefault(name, []).append(value)
        return tags

    def header(self, name: str) -> str | None:
        """The first field called `name` (any case), unfolded."""
        wanted = name.lower()
        return next((unfolded(v) for n, v in self.headers if n.lower() == wanted), None)

    def event_mail(self, tags: dict[str, list[str]], *, rendered: bool = True) -> Json:
        """The `mail` object of an event record, with its `tags` (`Event.tags`). A message
        that never `rendered` (Rendering Failure) has `headersTruncated` but no headers, as in
        the documented example."""
        mail: Json = {
            "timestamp": wire_time(self.timestamp),
            "source": self.source,
            "sourceArn": self.source_arn,
            "sendingAccountId": self.sending_account_id,
            "messageId": self.message_id,
            "destination": list(self.destination),
        }
        mail |= self._headers() if rendered else {"headersTruncated": False}
        mail["tags"] = tags
        return mail

    def notification_mail(self, *, with_headers: bool) -> Json:
        """The `mail` object of an identity notification: no tags; "When this notification
        type is not configured to include the original email headers, the mail object does not
        include the headersTruncated, headers, and commonHeaders fields"."""
        mail: Json = {
            "timestamp": wire_time(self.timestamp),
            "messageId": self.message_id,
            "source": self.source,
            "sourceArn": self.source_arn,
            "sourceIp": self.source_ip,
            "sendingAccountId": self.sending_account_id,
            "callerIdentity": self.caller_identity,
            "destination": list(self.destination),
        }
        if with_headers:
            mail |= self._headers()
        return mail

    def _headers(self) -> Json:
        listed, truncated = listed_headers(self.headers)
        return {
            "headersTruncated": truncated,
            "headers": listed,
            "commonHeaders": common_headers(self.headers),
        }


# ── outcomes: the facts of one event ────────────────────────────────────────────────────────
@dataclass(frozen=True)
class BouncedRecipient:
    """`action`, `status` and `diagnosticCode` come from a DSN and are left out without one."""

    email_address: str
    action: str | None = None
    status: str | None = None
    diagnostic_code: str | None = None

    def json(self) -> Json:
        found: Json = {"emailAddress": self.email_address}
        for key, value in (
            ("action", self.action),
            ("status", self.status),
            ("diagnosticCode", self.diagnostic_code),
        ):
            if value is not None:
                found[key] = value
        return found


@dataclass(frozen=True)
class Bounce:
    TYPE: ClassVar[EventType] = EventType.BOUNCE
    KEY: ClassVar[str] = "bounce"

    bounce_type: str  # Undetermined | Permanent | Transient
    bounce_sub_type: str  # General, NoEmail, Suppressed, OnAccountSuppressionList, MailboxFull…
    recipients: tuple[BouncedRecipient, ...]
    timestamp: datetime
    feedback_id: str
    reporting_mta: str | None = None  # "only appears if a DSN was attached to the bounce"
    remote_mta_ip: str | None = None  # notifications only: "If SES was able to contact" it

    def json(self, *, notification: bool = False) -> Json:
        found: Json = {
            "bounceType": self.bounce_type,
            "bounceSubType": self.bounce_sub_type,
            "bouncedRecipients": [r.json() for r in self.recipients],
            "timestamp": wire_time(self.timestamp),
            "feedbackId": self.feedback_id,
        }
        if self.reporting_mta is not None:
            found["reportingMTA"] = self.reporting_mta
        if notification and self.remote_mta_ip is not None:
            found["remoteMtaIp"] = self.remote_mta_ip
        return found


@dataclass(frozen=True)
class FeedbackReport:
    """The fields SES copies from an ARF feedback report attached to a complaint."""

    user_agent: str
    feedback_type: str  # abuse, auth-failure, fraud, not-spam, other, virus
    arrival_date: datetime | None = None  # "may be absent in the report"


@dataclass(frozen=True)
class Complaint:
    TYPE: ClassVar[EventType] = EventType.COMPLAINT
    KEY: ClassVar[str] = "complaint"

    recipients: tuple[str, ...]
    timestamp: datetime
    feedback_id: str
    report: FeedbackReport | None = None
    sub_type: str | None = None  # None or "OnAccountSuppressionList"

    def json(self, *, notification: bool = False) -> Json:
        found: Json = {
            "complainedRecipients": [{"emailAddress": r} for r in self.recipients],
            "timestamp": wire_time(self.timestamp),
            "feedbackId": self.feedback_id,
            "complaintSubType": self.sub_type,  # "can either be null or OnAccountSuppressionList"
        }
        if self.report is not None:
            found["userAgent"] = self.report.user_agent
            found["complaintFeedbackType"] = self.report.feedback_type
            if self.report.arrival_date is not None:
                found["arrivalDate"] = wire_time(self.report.arrival_date)
        return found


@dataclass(frozen=True)
class Delivery:
    TYPE: ClassVar[EventType] = EventType.DELIVERY
    KEY: ClassVar[str] = "delivery"

    timestamp: datetime
    processing_time_millis: int
    recipients: tuple[str, ...]
    smtp_response: str
    reporting_mta: str  # "The host name of the Amazon SES mail server that sent the mail"
    remote_mta_ip: str | None = None  # notifications only
    outgoing_ip: str | None = None  # the `ses:outgoing-ip` auto-tag of the event's mail

    def json(self, *, notification: bool = False) -> Json:
        found: Json = {
            "timestamp": wire_time(self.timestamp),
            "processingTimeMillis": self.processing_time_millis,
            "recipients": list(self.recipients),
            "smtpResponse": self.smtp_response,
            "reportingMTA": self.reporting_mta,
        }
        if notification and self.remote_mta_ip is not None:
            found["remoteMtaIp"] = self.remote_mta_ip
        return found


@dataclass(frozen=True)
class Send:
    """ "The JSON object that contains information about a send event is always empty." """

    TYPE: ClassVar[EventType] = EventType.SEND
    KEY: ClassVar[str] = "send"

    def json(self) -> Json:
        return {}


@dataclass(frozen=True)
class Reject:
    TYPE: ClassVar[EventType] = EventType.REJECT
    KEY: ClassVar[str] = "reject"

    reason: str = "Bad content"  # "The only possible value is Bad content"

    def json(self) -> Json:
        return {"reason": self.reason}


@dataclass(frozen=True)
class RenderingFailure:
    TYPE: ClassVar[EventType] = EventType.RENDERING_FAILURE
    KEY: ClassVar[str] = "failure"

    template_name: str
    error_message: str  # e.g. "Attribute 'attributeName' is not present in the rendering data."

    def json(self) -> Json:
        return {"errorMessage": self.error_message, "templateName": self.template_name}


@dataclass(frozen=True)
class DelayedRecipient:
    email_address: str
    status: str  # "4.4.1"
    diagnostic_code: str  # "smtp; 421 4.4.1 Unable to connect to remote host"


@dataclass(frozen=True)
class DeliveryDelay:
    TYPE: ClassVar[EventType] = EventType.DELIVERY_DELAY
    KEY: ClassVar[str] = "deliveryDelay"

    timestamp: datetime
    delay_type: str  # InternalFailure, General, MailboxFull, SpamDetected, RecipientServerError…
    expiration_time: datetime
    recipients: tuple[DelayedRecipient, ...]
    reporting_mta: str | None = None  # "The IP address of the MTA that reported the delay"

    def json(self) -> Json:
        found: Json = {
            "timestamp": wire_time(self.timestamp),
            "delayType": self.delay_type,
            "expirationTime": wire_time(self.expiration_time),
            "delayedRecipients": [
                {
                    "emailAddress": r.email_address,
                    "status": r.status,
                    "diagnosticCode": r.diagnostic_code,
                }
                for r in self.recipients
            ],
        }
        if self.reporting_mta is not None:
            found["reportingMTA"] = self.reporting_mta
        return found


@dataclass(frozen=True)
class Open:
    TYPE: ClassVar[EventType] = EventType.OPEN
    KEY: ClassVar[str] = "open"

    ip_address: str
    timestamp: datetime
    user_agent: str

    def json(self) -> Json:
        return {
            "ipAddress": self.ip_address,
            "timestamp": wire_time(self.timestamp),
            "userAgent": self.user_agent,
        }


@dataclass(frozen=True)
class Click:
    TYPE: ClassVar[EventType] = EventType.CLICK
    KEY: ClassVar[str] = "click"

    ip_address: str
    timestamp: datetime
    user_agent: str
    link: str
    link_tags: Mapping[str, tuple[str, ...]] | None = None  # the link's `ses:tags`, by name

    def json(self) -> Json:
        found: Json = {"ipAddress": self.ip_address, "link": self.link}
        if self.link_tags:
            found["linkTags"] = {name: list(values) for name, values in self.link_tags.items()}
        found["timestamp"] = wire_time(self.timestamp)
        found["userAgent"] = self.user_agent
        return found


@dataclass(frozen=True)
class TopicPreferences:
    """A contact's preferences in a Subscription event: its own choice per topic
    (`topicSubscriptionStatus`, as in the documented example) and, for the topics it made none
    for, their defaults (`topicDefaultSubscriptionStatus`, left out when there are none, as the
    example has none)."""

    unsubscribe_all: bool
    topics: tuple[tuple[str, str], ...] = ()  # (topic name, "OptIn" | "OptOut")
    defaults: tuple[tuple[str, str], ...] = ()

    def json(self) -> Json:
        found: Json = {
            "unsubscribeAll": self.unsubscribe_all,
            "topicSubscriptionStatus": _statuses(self.topics),
        }
        if self.defaults:
            found["topicDefaultSubscriptionStatus"] = _statuses(self.defaults)
        return found


def _statuses(topics: tuple[tuple[str, str], ...]) -> list[Json]:
    return [{"topicName": name, "subscriptionStatus": status} for name, status in topics]


@dataclass(frozen=True)
class Subscription:
    TYPE: ClassVar[EventType] = EventType.SUBSCRIPTION
    KEY: ClassVar[str] = "subscription"

    contact_list: str
    timestamp: datetime
    source: str  # how the change came: "UnsubscribeHeader" in the example
    new_preferences: TopicPreferences
    old_preferences: TopicPreferences

    def json(self) -> Json:
        return {
            "contactList": self.contact_list,
            "timestamp": wire_time(self.timestamp),
            "source": self.source,
            "newTopicPreferences": self.new_preferences.json(),
            "oldTopicPreferences": self.old_preferences.json(),
        }


Outcome = (
    Send
    | Reject
    | Bounce
    | Complaint
    | Delivery
    | DeliveryDelay
    | RenderingFailure
    | Open
    | Click
    | Subscription
)
NotificationOutcome = Bounce | Complaint | Delivery  # SetIdentityNotificationTopic's types


# ── the records ─────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Event:
    """One configuration-set event: what happened (`outcome`) to which message (`mail`)."""

    mail: SentMail
    outcome: Outcome

    @property
    def type(self) -> EventType:
        return self.outcome.TYPE

    @property
    def occurred(self) -> datetime:
        """When it happened: the outcome's time, or the send's for Send, Reject and Rendering
        Failure (whose objects have none)."""
        moment = getattr(self.outcome, "timestamp", None)
        return moment if isinstance(moment, datetime) else self.mail.timestamp

    @property
    def tags(self) -> dict[str, list[str]]:
        """The record's `mail.tags`. `ses:outgoing-ip` ("The IP address that Amazon SES used to
        send the email") is on Delivery records only, as in the documented examples."""
        outgoing = self.outcome.outgoing_ip if isinstance(self.outcome, Delivery) else None
        return self.mail.all_tags(outgoing)

    def record(self) -> Json:
        """The event record, as SES publishes it to SNS and Firehose."""
        return {
            "eventType": str(self.type),
            "mail": self.mail.event_mail(
                self.tags, rendered=not isinstance(self.outcome, RenderingFailure)
            ),
            self.outcome.KEY: self.outcome.json(),
        }


def identity_notification(
    mail: SentMail, outcome: NotificationOutcome, *, with_headers: bool
) -> Json:
    """The notification SES publishes to an identity's topic for `outcome`'s type."""
    return {
        "notificationType": str(outcome.TYPE),
        outcome.KEY: outcome.json(notification=True),
        "mail": mail.notification_mail(with_headers=with_headers),
    }
