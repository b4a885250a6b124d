"""What the store keeps, as values: the record of each table and the statuses they go through.

The statuses are `StrEnum`s whose values are the strings stored (and shown by the inspection
API) since the first release, so existing data dirs load unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar


class MessageStatus(StrEnum):
    PENDING = "pending"  # spooled; its rules have not all run yet
    DONE = "done"


class TraceKind(StrEnum):
    RULE = "rule"  # a rule matched
    ACTION = "action"  # an action ran
    RETRY = "retry"  # a failed action was attempted again (inbound/receiving/retries.py)
    VERDICTS = "verdicts"  # the message's verdicts, which of them forced (receiving/evaluation.py)


class Outcome(StrEnum):
    """How the rule set goes on after an action (recorded as its trace row's `outcome`)."""

    CONTINUE = "CONTINUE"
    STOP_RULE = "STOP_RULE"  # no further actions in this rule (Lambda disposition)
    STOP_RULE_SET = "STOP_RULE_SET"  # no further actions or rules (Stop, Lambda)


class RuleOutcome(StrEnum):
    """A rule row's `outcome`."""

    MATCHED = "MATCHED"


class PublishStatus(StrEnum):
    """`detail.status` of a failed action's row and of a retry row: SES's metric names (spec
    receiving.md §8)."""

    FAILURE = "PublishFailure"
    EXPIRED = "PublishExpired"
    DELIVERED = "Delivered"


class RetryStatus(StrEnum):
    """`pending` (next try at `next_attempt`) → `delivered` | `expired`."""

    PENDING = "pending"
    DELIVERED = "delivered"
    EXPIRED = "expired"


class OutboxStatus(StrEnum):
    """`queued` → `sending` → `sent` | `deferred` (tried again at `next_attempt`) | `failed`."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"


class SentStatus(StrEnum):
    """A message accepted by a Send* operation: `accepted` → `done` once delivery
    (inbound/sending/message_delivery.py: the mailbox simulator, loopback into receiving,
    the outbox) has dealt with every recipient and published its events; each recipient's
    result is a row of the message's trace. A rendering failure stays `renderingFailure`."""

    ACCEPTED = "accepted"  # checked, built and stored; not delivered yet
    DONE = "done"  # every recipient delivered, bounced or queued (see the trace)
    REJECTED = "rejected"  # a virus found after acceptance: a Reject event, nothing delivered
    RENDERING_FAILURE = "renderingFailure"  # a templated send whose data lacked a variable:
    # SES answers with a MessageId and sends nothing (no bytes are stored)


@dataclass(frozen=True)
class MessageRecord:
    id: str
    received_at: str
    mail_from: str
    recipients: tuple[str, ...]
    client_ip: str
    helo: str
    tls: bool
    state_id: str
    size: int
    status: MessageStatus
    finished_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.id,
            "receivedAt": self.received_at,
            "mailFrom": self.mail_from,
            "recipients": list(self.recipients),
            "clientIp": self.client_ip,
            "helo": self.helo,
            "tls": self.tls,
            "size": self.size,
            "status": self.status,
            "finishedAt": self.finished_at,
        }


@dataclass(kw_only=True)
class TraceRow:
    """One step of a message's processing. `seq` orders a message's rows; a row not yet
    numbered (a retry's, numbered by the store) has -1.

    Not frozen, though never changed (`dataclasses.replace` makes a changed copy): five
    are made per received message on the event loop, and a frozen dataclass sets each field
    through `object.__setattr__` (2.8 against 0.9 us a row, timeit). Its `detail` dict made it
    unhashable either way."""

    seq: int
    kind: TraceKind
    rule: str | None
    rule_position: int | None = None
    action_index: int | None = None
    action: str | None = None
    outcome: Outcome | RuleOutcome | None = None
    ms: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def target(self) -> tuple[int, int] | None:
        """(rule position, action index) of an action's row."""
        if self.rule_position is None or self.action_index is None:
            return None
        return (self.rule_position, self.action_index)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "rule": self.rule,
            "action": self.action,
            "outcome": self.outcome,
            "ms": self.ms,
            "detail": self.detail,
            "error": self.error,
        }


@dataclass(frozen=True)
class RetryEntry:
    """One failed action of one message, retried until `deadline` (inbound/receiving/retries.py).
    Once `expired`, `dsn` is the outbox id of the 451 DSN, or why none was sent."""

    message_id: str
    rule_position: int
    action_index: int
    rule: str
    action: str
    status: RetryStatus
    attempts: int
    deadline: str
    next_attempt: str | None
    last_error: str | None
    dsn: str | None = None
    created: str = ""
    updated: str = ""

    @property
    def target(self) -> tuple[int, int]:
        return (self.rule_position, self.action_index)

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "rule": self.rule,
            "ruleIndex": self.rule_position,
            "actionIndex": self.action_index,
            "action": self.action,
            "status": self.status,
            "attempts": self.attempts,
            "deadline": self.deadline,
            "nextAttempt": self.next_attempt,
            "lastError": self.last_error,
            "dsn": self.dsn,
            "created": self.created,
            "updated": self.updated,
        }


@dataclass(frozen=True)
class SentMessage:
    """A message a Send* operation accepted (its bytes are read apart: `Store.sent_raw`).

    `mail_from` is the envelope sender SES would use (the VERP address of amazonses.com or of
    the custom MAIL FROM domain), `return_path` where feedback is forwarded (ReturnPath, else
    the source), `trace` what the sending path did, step by step."""

    id: str
    operation: str
    created: str
    source: str
    mail_from: str
    recipients: tuple[str, ...]
    return_path: str
    configuration_set: str | None
    tags: dict[str, str]
    status: SentStatus
    size: int
    trace: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "messageId": self.id,
            "operation": self.operation,
            "created": self.created,
            "source": self.source,
            "mailFrom": self.mail_from,
            "recipients": list(self.recipients),
            "returnPath": self.return_path,
            "configurationSet": self.configuration_set,
            "tags": self.tags,
            "status": self.status,
            "size": self.size,
            "trace": self.trace,
        }


@dataclass(frozen=True)
class Contact:
    """A contact of an SES v2 contact list (list management). `topic_preferences` are the
    topics the contact chose ("OPT_IN" | "OPT_OUT"), in the order first set; the others follow
    their topic's default. `key` is the address lower-cased: one contact per address, whatever
    its case, spelt as it was first given."""

    region: str
    contact_list: str
    email_address: str
    topic_preferences: dict[str, str]
    unsubscribe_all: bool
    attributes_data: str | None
    created: str
    updated: str

    @property
    def key(self) -> str:
        return self.email_address.lower()


@dataclass(frozen=True)
class ReturnedMail:
    """Mail that came back to a sent message's envelope sender (its VERP address): a DSN from a
    Bounce action or SendBounce on the copy received here. `done` once delivery has published
    what it causes (inbound/sending/returned.py)."""

    id: str
    sent_id: str
    created: str
    done: bool = False


class SuppressionReason(StrEnum):
    """Why an address is on the account-level suppression list (SES v2's values)."""

    BOUNCE = "BOUNCE"
    COMPLAINT = "COMPLAINT"


@dataclass(frozen=True)
class SuppressedDestination:
    """One address on the account-level suppression list of a Region: `address` as SES keeps
    it (sending/suppression.py `canonical`), `updated` when it was last put there, and the
    message and feedback that put it there when SES did (`None` when put through the API)."""

    address: str
    reason: SuppressionReason
    updated: str
    message_id: str | None = None
    feedback_id: str | None = None


# The embedded backends' records (below) are listed by the inspection API as they are stored,
# their fields in column order, named in camelCase (`api.pages.camel`).


@dataclass(frozen=True)
class StoredObject:
    """An object of the embedded S3: its file is `DATA/s3/<bucket>/<key>`, or, for a key no
    file path can stand for (`a//b`, `../x`, `k` beside `k/x`...), `DATA/s3-keyed/<bucket>/
    <sha256 of the key>` (`hashed`). `metadata` is the user metadata (`x-amz-meta-*` without
    the prefix), `headers` the system metadata PutObject was given (Content-Type...); `etag`
    is None for objects written before it was recorded (computed when read)."""

    bucket: str
    key: str
    size: int
    metadata: dict[str, str]
    message_id: str | None
    created: str
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    hashed: bool = False


@dataclass(frozen=True)
class Bucket:
    """A bucket of the embedded S3: made by CreateBucket, or by the first write to it."""

    name: str
    region: str
    created: str


@dataclass(frozen=True)
class Notification:
    """An SNS publication, and what each HTTP subscriber answered (`deliveries`)."""

    id: str
    topic_arn: str
    subject: str
    message: str
    message_id: str | None
    created: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class LambdaInvocation:
    id: str
    function_arn: str
    invocation_type: str
    payload: Any
    response: Any = None
    error: str | None = None
    message_id: str | None = None
    created: str = ""


@dataclass(frozen=True)
class OutboxMessage:
    """A message queued for the relay (its bytes are read apart: `Store.outbox_raw`)."""

    id: str
    mail_from: str
    recipients: tuple[str, ...]
    message_id: str | None
    status: OutboxStatus
    created: str
    attempts: int = 0
    last_attempt: str | None = None
    next_attempt: str | None = None
    last_error: str | None = None
    remote_reply: str | None = None


@dataclass(frozen=True)
class RelayOutcome:
    """How one relay attempt ended for the outbox entry holding a sent message's recipients,
    kept until delivery publishes its events (DeliveryDelay, Delivery, Bounce). `queued` is
    when the entry was queued: the relay gives up `max_age_seconds` after it."""

    outbox_id: str
    attempt: int
    sent_id: str
    status: OutboxStatus  # sent, deferred or failed
    queued: str
    remote_reply: str | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class MailboxDelivery:
    """A message the embedded WorkMail added to an organization's Maildir."""

    id: str
    organization_arn: str
    recipients: tuple[str, ...]
    path: str
    message_id: str | None
    created: str


@dataclass(frozen=True)
class MetricPoint:
    """A CloudWatch data point the embedded backend recorded (a CloudWatch event destination)."""

    id: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str]
    value: float
    unit: str
    timestamp: str
    message_id: str | None
    created: str


@dataclass(frozen=True)
class StreamRecord:
    """A record the embedded Kinesis Data Firehose received (a Firehose event destination);
    `data` is its bytes as UTF-8 text: SES's records are JSON followed by a newline."""

    id: str
    stream_arn: str
    data: str
    message_id: str | None
    created: str


@dataclass(frozen=True)
class RecordedEvent:
    """An event the embedded EventBridge bus or Amazon Pinpoint project received (an
    EventBridge or Pinpoint event destination): `event` as the service would hand it on (the
    EventBridge event a rule's target gets; the Pinpoint event-stream record)."""

    id: str
    target_arn: str  # the event bus or the Pinpoint application
    event: dict[str, Any]
    message_id: str | None
    created: str


T = TypeVar("T")


class Listing(list[T]):
    """One page of a store listing, oldest first, with `total`: how many the whole listing held
    when the page was read (the JSON API says both, so that nothing is cut off unsaid)."""

    def __init__(self, items: Iterable[T], total: int) -> None:
        super().__init__(items)
        self.total = total


# What the web UI lists and searches by (inbound/web/, store/browse.py).


class Direction(StrEnum):
    RECEIVED = "received"  # through the receiving engine (`messages`)
    SENT = "sent"  # accepted by a Send* operation (`sent`)


@dataclass(frozen=True)
class Digest:
    """A message as the UI lists and searches it, read once from its bytes
    (inbound/web/digests.py): the addresses of the envelope and of its headers, its subject and
    the start of its text. `source_rowid` orders digests as their messages were stored."""

    message_id: str
    source_rowid: int
    subject: str
    sender: str
    recipients: str
    body: str


@dataclass(frozen=True)
class MessageFilter:
    """What the UI's list asks for: `text` in sender, recipients, subject or body (every word,
    as a prefix), `status` (received: pending, done or failed; sent: a SentStatus), `rule` that
    matched, `action` type that ran (received only)."""

    text: str = ""
    status: str | None = None
    rule: str | None = None
    action: str | None = None


M = TypeVar("M", MessageRecord, SentMessage)


@dataclass(frozen=True)
class Summary(Generic[M]):
    """A row of the UI's list: the message, its subject (None until digested), the rules that
    matched it and whether one of its actions failed for good or is being retried."""

    record: M
    subject: str | None
    rules: tuple[str, ...] = ()
    failed: bool = False
