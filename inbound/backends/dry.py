"""Backends that do nothing but remember what they were asked (`inbound replay --dry-run`).

KMS is the exception that must work: an encrypting S3 action needs a real data key to go on,
so one comes from a throw-away in-memory KMS (nothing is stored, nothing can be decrypted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inbound.backends import BackendError, Backends, BusEntry, Invocation, MetricDatum
from inbound.backends.local_kms import LocalKms
from inbound.ids import new_uuid
from inbound.model import InvocationType


@dataclass
class DryRun:
    """One recorder standing in for all the backends."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    _kms: LocalKms = field(default_factory=lambda: LocalKms(None))

    def _note(self, call: str, **details: Any) -> str:
        ref = new_uuid()
        self.calls.append({"call": call, "ref": ref, **details})
        return ref

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str,
        prefix: bytes = b"",
    ) -> None:
        self._note("s3.put_object", bucket=bucket, key=key, size=len(prefix) + len(body))

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        await self.put_object(bucket, key, body, {}, message_id)

    async def get_object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        raise BackendError(f"NoSuchKey: s3://{bucket}/{key} (a dry run stores nothing)")

    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        return self._note("sns.publish", topicArn=topic_arn, subject=subject, size=len(message))

    async def prepare_topic(self, topic_arn: str) -> bool:
        return True

    async def exists(self, function_arn: str) -> bool:
        return True

    async def invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        invocation_type: InvocationType,
        message_id: str,
    ) -> Invocation:
        # Not run: a function's effects are side effects. RequestResponse continues.
        ref = self._note("lambda.invoke", functionArn=function_arn, type=invocation_type.value)
        return Invocation(ref, None)

    async def send(
        self, mail_from: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        return self._note("outbox.send", mailFrom=mail_from, recipients=list(recipients))

    async def deliver(
        self, organization_arn: str, recipients: Sequence[str], message: bytes, message_id: str
    ) -> str:
        return self._note("workmail.deliver", organizationArn=organization_arn)

    async def put_metric_data(
        self, namespace: str, data: Sequence[MetricDatum], message_id: str
    ) -> None:
        self._note("cloudwatch.put_metric_data", namespace=namespace, count=len(data))

    async def put_record(self, stream_arn: str, data: bytes, message_id: str) -> str:
        return self._note("firehose.put_record", deliveryStreamArn=stream_arn, size=len(data))

    async def put_bus_event(self, bus_arn: str, entry: BusEntry, message_id: str) -> str:
        return self._note("events.put_events", eventBusArn=bus_arn, detailType=entry.detail_type)

    async def put_pinpoint_event(
        self, application_arn: str, event: Mapping[str, Any], message_id: str
    ) -> str:
        return self._note("pinpoint.put_events", applicationArn=application_arn)

    async def generate_data_key(
        self, key_id: str, context: Mapping[str, str]
    ) -> tuple[bytes, bytes]:
        self._note("kms.generate_data_key", keyId=key_id, context=dict(context))
        return await self._kms.generate_data_key(key_id, context)

    async def decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        return await self._kms.decrypt(blob, context)

    def backends(self) -> Backends:
        return Backends(self, self, self, self, self, self, self, self, self, kms=self)
