"""Backends through boto3: real AWS, or any endpoint that speaks it (moto, LocalStack).

One boto3 session per distinct set of credentials and one client per service, made once by
`AwsServices`; every call runs in a small thread pool of its own, so the event loop never
waits on the network and slow AWS calls cannot starve the loop's default executor (which
the embedded backends use for file writes). botocore's "standard" retry mode retries
throttling and transient errors; anything still failing raises `BackendError`, which the
pipeline records as a PublishFailure (spec receiving.md §8).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, Literal, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from inbound.backends import BackendError, BusEntry, Invocation, MetricDatum
from inbound.config import BackendSettings, Settings
from inbound.model import InvocationType

T = TypeVar("T")
SERVICE_NAMES: dict[
    str, Literal["s3", "sns", "lambda", "kms", "cloudwatch", "firehose", "events"]
] = {
    "s3": "s3",
    "sns": "sns",
    "lambda": "lambda",
    "kms": "kms",
    "cloudwatch": "cloudwatch",
    "firehose": "firehose",
    "eventbridge": "events",
}
_FAILURES = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)


class AwsServices:
    """The clients of the services configured as `kind = "aws"`, and the pool they run in."""

    def __init__(self, settings: Settings, max_workers: int = 16) -> None:
        self.settings = settings
        self._sessions: dict[tuple[Any, ...], boto3.session.Session] = {}
        self._clients: dict[str, Any] = {}
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="inbound-aws")

    def client(self, service: str) -> Any:
        """The one client of `service`, made on first request (creation is not thread-safe
        in boto3, so the factory asks for every client up front, on the loop's thread)."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = self._make(service, self.settings.backend(service))
        return client

    def _make(self, service: str, conf: BackendSettings) -> Any:
        identity = (conf.profile, conf.access_key_id, conf.secret_access_key, conf.session_token)
        session = self._sessions.get(identity)
        if session is None:
            session = self._sessions[identity] = boto3.session.Session(
                profile_name=conf.profile,
                aws_access_key_id=conf.access_key_id,
                aws_secret_access_key=conf.secret_access_key,
                aws_session_token=conf.session_token,
            )
        read_timeout = conf.read_timeout
        if service == "lambda":  # a RequestResponse call may take SES's whole 30 s (§3.5)
            read_timeout = max(read_timeout, self.settings.lambda_timeout + 5)
        config = botocore.config.Config(
            connect_timeout=conf.connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "max_attempts": conf.max_attempts},
            max_pool_connections=32,
        )
        return session.client(
            SERVICE_NAMES[service],
            region_name=conf.region or self.settings.region,
            endpoint_url=conf.endpoint_url,
            config=config,
        )

    async def run(self, call: Callable[..., T], /, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _error(operation: str, exc: Exception) -> BackendError:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        return BackendError(f"{operation}: {err.get('Code', '?')}: {err.get('Message', exc)}")
    return BackendError(f"{operation}: {type(exc).__name__}: {exc}")


class _AwsClient:
    """A backend through the client of one service (`SERVICE`) that `services` made."""

    SERVICE: ClassVar[str]

    def __init__(self, services: AwsServices) -> None:
        self.services = services
        self.client = services.client(self.SERVICE)

    async def close(self) -> None:
        self.services.close()


class AwsObjectStore(_AwsClient):
    SERVICE = "s3"

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str,
        prefix: bytes = b"",
    ) -> None:
        # Raises on a missing or refusing bucket: that is how CreateReceiptRule's setup write
        # turns into InvalidS3Configuration (spec §8).
        whole = prefix + body if prefix else body  # one body for boto3
        try:
            await self.services.run(
                self.client.put_object, Bucket=bucket, Key=key, Body=whole, Metadata=dict(metadata)
            )
        except _FAILURES as exc:
            raise _error(f"S3 PutObject s3://{bucket}/{key}", exc) from None

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        await self.put_object(bucket, key, body, {}, message_id)

    async def get_object(self, bucket: str, key: str) -> tuple[bytes, dict[str, str]]:
        def get() -> tuple[bytes, dict[str, str]]:
            response = self.client.get_object(Bucket=bucket, Key=key)
            return response["Body"].read(), dict(response.get("Metadata", {}))

        try:
            return await self.services.run(get)
        except _FAILURES as exc:
            raise _error(f"S3 GetObject s3://{bucket}/{key}", exc) from None


class AwsPublisher(_AwsClient):
    SERVICE = "sns"

    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        subject_arg = {"Subject": subject} if subject else {}  # SNS refuses an empty one
        try:
            response = await self.services.run(
                self.client.publish, TopicArn=topic_arn, Message=message, **subject_arg
            )
        except _FAILURES as exc:
            raise _error(f"SNS Publish {topic_arn}", exc) from None
        return str(response["MessageId"])

    async def prepare_topic(self, topic_arn: str) -> bool:
        """Whether the topic exists: nothing is ever made in an AWS account."""
        try:
            await self.services.run(self.client.get_topic_attributes, TopicArn=topic_arn)
        except _FAILURES:
            return False
        return True


class AwsFunctions(_AwsClient):
    SERVICE = "lambda"

    def __init__(self, services: AwsServices, timeout: float) -> None:
        super().__init__(services)
        self.timeout = timeout  # SES waits at most 30 s for RequestResponse (spec §3.5)

    async def exists(self, function_arn: str) -> bool:
        try:
            await self.services.run(self.client.get_function, FunctionName=function_arn)
        except _FAILURES:
            return False
        return True

    async def invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        invocation_type: InvocationType,
        message_id: str,
    ) -> Invocation:
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        call = self.services.run(
            self._invoke,
            FunctionName=function_arn,
            InvocationType=invocation_type.value,
            Payload=payload,
        )
        try:
            response = await asyncio.wait_for(call, self.timeout)
        except TimeoutError:
            return Invocation("", None, f"Task timed out after {self.timeout:.2f} seconds")
        except _FAILURES as exc:
            raise _error(f"Lambda Invoke {function_arn}", exc) from None
        request_id = response.get("ResponseMetadata", {}).get("RequestId", "")
        body = response.get("Payload", b"")
        if response.get("FunctionError"):
            detail = body.decode("utf-8", "replace")
            return Invocation(request_id, None, f"{response['FunctionError']}: {detail}")
        if invocation_type is InvocationType.EVENT or not body:
            return Invocation(request_id, None)
        try:
            return Invocation(request_id, json.loads(body))
        except ValueError:  # not JSON: no disposition, flow continues (spec §3.5)
            return Invocation(request_id, body.decode("utf-8", "replace"))

    def _invoke(self, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.client.invoke(**kwargs)
        stream = response.get("Payload")
        response["Payload"] = stream.read() if stream is not None else b""
        return response


class AwsMetrics(_AwsClient):
    """`cloudwatch.put_metric_data`. CloudWatch refuses namespaces that begin with `AWS/` from
    anyone but AWS ("Namespaces that begin with "AWS/" are reserved", PutMetricData), so SES's
    `AWS/SES` only goes through to moto or LocalStack; real CloudWatch's refusal is a
    BackendError like any other (docs/aws.md)."""

    SERVICE = "cloudwatch"

    async def put_metric_data(
        self, namespace: str, data: Sequence[MetricDatum], message_id: str
    ) -> None:
        metric_data = [
            {
                "MetricName": datum.metric_name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in datum.dimensions],
                "Timestamp": datum.timestamp,
                "Value": datum.value,
                "Unit": datum.unit,
            }
            for datum in data
        ]
        try:
            await self.services.run(
                self.client.put_metric_data, Namespace=namespace, MetricData=metric_data
            )
        except _FAILURES as exc:
            raise _error(f"CloudWatch PutMetricData {namespace}", exc) from None


class AwsStreams(_AwsClient):
    """`firehose.put_record`, to the stream the destination's ARN names."""

    SERVICE = "firehose"

    async def put_record(self, stream_arn: str, data: bytes, message_id: str) -> str:
        name = stream_arn.rpartition(":deliverystream/")[2]
        try:
            response = await self.services.run(
                self.client.put_record, DeliveryStreamName=name, Record={"Data": data}
            )
        except _FAILURES as exc:
            raise _error(f"Firehose PutRecord {stream_arn}", exc) from None
        return str(response["RecordId"])


class AwsBus(_AwsClient):
    """`events.put_events`, one entry, to the bus the destination's ARN names."""

    SERVICE = "eventbridge"

    async def put_bus_event(self, bus_arn: str, entry: BusEntry, message_id: str) -> str:
        request = {
            "Source": entry.source,
            "DetailType": entry.detail_type,
            "Detail": entry.detail,
            "Time": entry.time,
            "Resources": list(entry.resources),
            "EventBusName": bus_arn,
        }
        try:
            response = await self.services.run(self.client.put_events, Entries=[request])
        except _FAILURES as exc:
            raise _error(f"EventBridge PutEvents {bus_arn}", exc) from None
        [result] = response["Entries"]
        if response.get("FailedEntryCount") or "EventId" not in result:
            raise BackendError(
                f"EventBridge PutEvents {bus_arn}: {result.get('ErrorCode')}: "
                f"{result.get('ErrorMessage')}"
            )
        return str(result["EventId"])


class AwsKms(_AwsClient):
    SERVICE = "kms"

    async def generate_data_key(
        self, key_id: str, context: Mapping[str, str]
    ) -> tuple[bytes, bytes]:
        try:
            response = await self.services.run(
                self.client.generate_data_key,
                KeyId=key_id,
                KeySpec="AES_256",
                EncryptionContext=dict(context),
            )
        except _FAILURES as exc:
            raise _error(f"KMS GenerateDataKey {key_id}", exc) from None
        return response["Plaintext"], response["CiphertextBlob"]

    async def decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        try:
            response = await self.services.run(
                self.client.decrypt, CiphertextBlob=blob, EncryptionContext=dict(context)
            )
        except _FAILURES as exc:
            raise _error("KMS Decrypt", exc) from None
        return bytes(response["Plaintext"])
