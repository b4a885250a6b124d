"""Backends that do nothing but remember what they were asked (`inbound replay --dry-run`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inbound.backends import Backends, Invocation
from inbound.ids import new_uuid
from inbound.model import InvocationType


@dataclass
class DryRun:
    """One recorder standing in for all five backends."""

    calls: list[dict[str, Any]] = field(default_factory=list)

    def _note(self, call: str, **details: Any) -> str:
        ref = new_uuid()
        self.calls.append({"call": call, "ref": ref, **details})
        return ref

    async def put_object(
        self, bucket: str, key: str, body: bytes, metadata: Mapping[str, str], message_id: str
    ) -> None:
        self._note("s3.put_object", bucket=bucket, key=key, size=len(body))

    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        return self._note("sns.publish", topicArn=topic_arn, subject=subject, size=len(message))

    def exists(self, function_arn: str) -> bool:
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

    def backends(self) -> Backends:
        return Backends(self, self, self, self, self)
