"""Where actions and sending events reach the outside world: ten small interfaces, chosen
by configuration.

`local.py` (and `local_kms.py`) implement them inside the data dir (the default: one command,
no service); `aws.py` through boto3 (AWS, moto, LocalStack); `dry.py` records what would have
happened without doing it (`inbound replay --dry-run`). `factory.make_backends` picks per
service from `[backends.<service>]`. Replace one by passing your own factory to
`inbound.app.InboundServer(backends=...)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from inbound.backends.errors import BackendError as BackendError  # re-exported

if TYPE_CHECKING:  # the store's writer process loads `s3_files`, and this with it
    from inbound.model import InvocationType


class ObjectStore(Protocol):
    async def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str,
        prefix: bytes = b"",
    ) -> None:
        """The object `prefix + body`: the S3 action passes the headers SES prepends apart
        from the message, so that an embedded store writes both without copying the message
        (benchmarks/RESULTS.md, "Issue 15")."""
        ...

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        """SES's setup object, written when a rule naming the bucket is saved; BackendError
        when the bucket refuses it. The embedded S3 returns once it is queued in the store's
        writer, ahead of the rule's own commit, which the API reply waits for."""
        ...

    async def get_object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        """The object's body and user metadata; BackendError when there is none."""
        ...


class Publisher(Protocol):
    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        """Returns the SNS MessageId of the publication; `subject` "" publishes without one."""
        ...

    async def prepare_topic(self, topic_arn: str) -> bool:
        """Whether the topic exists to be published to, made first where the service may (the
        embedded SNS, unless `[backends] strict`): checked when a rule naming it is saved."""
        ...


@dataclass(frozen=True)
class Invocation:
    request_id: str
    payload: Any  # the function's return value (RequestResponse), None for Event
    error: str | None = None  # a function error or a timeout


class FunctionInvoker(Protocol):
    async def exists(self, function_arn: str) -> bool:
        """Whether the function can be invoked (checked when a rule is saved)."""
        ...

    async def invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        invocation_type: InvocationType,
        message_id: str,
    ) -> Invocation: ...


class Mailer(Protocol):
    async def send(
        self, mail_from: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        """Queue `message` in the outbox; returns the outbox id."""
        ...


class Mailbox(Protocol):
    async def deliver(
        self, organization_arn: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        """Deliver into the organization's mail store; returns where it went."""
        ...


@dataclass(frozen=True)
class MetricDatum:
    """One CloudWatch data point, as SES's event publishing writes it: a count of 1 per event
    ("Unit: Count", CloudWatch User Guide, "Amazon Simple Email Service Metrics and
    Dimensions")."""

    metric_name: str
    dimensions: tuple[tuple[str, str], ...]  # (name, value), in the destination's order
    timestamp: datetime
    value: float = 1.0
    unit: str = "Count"


class MetricSink(Protocol):
    """CloudWatch, as a configuration set's CloudWatch event destination needs it."""

    async def put_metric_data(
        self, namespace: str, data: Sequence[MetricDatum], message_id: str
    ) -> None: ...


class DeliveryStreams(Protocol):
    """Kinesis Data Firehose, as a configuration set's Firehose event destination needs it."""

    async def put_record(self, stream_arn: str, data: bytes, message_id: str) -> str:
        """Returns the record id."""
        ...


@dataclass(frozen=True)
class BusEntry:
    """One EventBridge PutEvents entry, as SES's event publishing makes it."""

    source: str
    detail_type: str
    detail: str  # JSON
    time: datetime
    resources: tuple[str, ...] = ()


class EventBus(Protocol):
    """EventBridge, as a configuration set's EventBridge event destination needs it."""

    async def put_bus_event(self, bus_arn: str, entry: BusEntry, message_id: str) -> str:
        """Returns the event id."""
        ...


class PinpointEvents(Protocol):
    """Amazon Pinpoint, as a configuration set's Pinpoint event destination needs it."""

    async def put_pinpoint_event(
        self, application_arn: str, event: Mapping[str, Any], message_id: str
    ) -> str:
        """Returns the event id."""
        ...


class KeyService(Protocol):
    """KMS, as the S3 action's client-side encryption needs it (spec receiving.md §3.3)."""

    async def generate_data_key(
        self, key_id: str, context: Mapping[str, str]
    ) -> tuple[bytes, bytes]:
        """A 256-bit data key: (plaintext, ciphertext blob bound to `context`)."""
        ...

    async def decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        """The plaintext data key of `blob`; fails unless `context` is the one it was made with."""
        ...


def _memory_kms() -> KeyService:
    from inbound.backends.local_kms import LocalKms

    return LocalKms(None)  # keys in memory only: for Backends built by hand without a KMS


@dataclass(frozen=True)
class Backends:
    objects: ObjectStore
    publisher: Publisher
    functions: FunctionInvoker
    mailer: Mailer
    mailbox: Mailbox
    metrics: MetricSink
    streams: DeliveryStreams
    bus: EventBus
    pinpoint: PinpointEvents
    kms: KeyService = field(default_factory=_memory_kms)

    async def close(self) -> None:
        """Close each backend that has a `close`, once (AWS ones share a thread pool; DryRun
        is all of them at once)."""
        parts = (
            self.objects, self.publisher, self.functions, self.metrics, self.streams, self.bus,
            self.kms,
        )  # fmt: skip
        for backend in {id(x): x for x in parts}.values():
            close = getattr(backend, "close", None)
            if close is not None:
                await close()
