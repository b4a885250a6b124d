"""The one place that picks each backend: `[backends.<service>] kind` (docs/aws.md).

`s3`, `sns`, `lambda`, `kms`, `cloudwatch`, `firehose` and `eventbridge` are `local`
(embedded, in the data dir) unless configured `aws`; the mailer, the WorkMail mailbox and
Pinpoint are always local (moto has no Pinpoint PutEvents to test one against). Making
backends creates nothing: the SNS signing key they use is made when the server starts
(`inbound.app.seed_keys`). The embedded Lambda (`local_lambda.py` and its runtime) is made
with the first invocation or check of a function: most servers never invoke one, and its
modules are memory a running server keeps (docs/aws-endpoints.md, "Memory").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from inbound.backends import Backends, Invocation
from inbound.backends.local import (
    LocalBus,
    LocalMailbox,
    LocalMailer,
    LocalMetrics,
    LocalPinpoint,
    LocalStreams,
)
from inbound.backends.local_kms import LocalKms
from inbound.backends.local_s3 import LocalObjectStore
from inbound.backends.local_sns import LocalSns
from inbound.backends.sns_envelope import SnsSigner, signing_paths
from inbound.config import BACKEND_SERVICES, Settings
from inbound.datadir import under
from inbound.model import InvocationType
from inbound.store import Store

if TYPE_CHECKING:
    from inbound.backends.local_lambda import LocalFunctions


def make_backends(store: Store, settings: Settings, http_url: str) -> Backends:
    """What `InboundServer` uses by default."""
    backends = local_backends(store, settings, http_url)
    remote = [s for s in BACKEND_SERVICES if settings.backend(s).kind == "aws"]
    if not remote:
        return backends
    from inbound.backends import aws  # boto3 is imported only when it is used

    services = aws.AwsServices(settings)
    for service in remote:  # every client made now, on this thread (boto3 needs that)
        services.client(service)
    return Backends(
        objects=aws.AwsObjectStore(services) if "s3" in remote else backends.objects,
        publisher=aws.AwsPublisher(services) if "sns" in remote else backends.publisher,
        functions=(
            aws.AwsFunctions(services, settings.lambda_timeout)
            if "lambda" in remote
            else backends.functions
        ),
        mailer=backends.mailer,
        mailbox=backends.mailbox,
        metrics=aws.AwsMetrics(services) if "cloudwatch" in remote else backends.metrics,
        streams=aws.AwsStreams(services) if "firehose" in remote else backends.streams,
        bus=aws.AwsBus(services) if "eventbridge" in remote else backends.bus,
        pinpoint=backends.pinpoint,
        kms=aws.AwsKms(services) if "kms" in remote else backends.kms,
    )


def local_backends(store: Store, settings: Settings, http_url: str) -> Backends:
    data = settings.data_dir
    signing_key = signing_paths(data)[1]
    return Backends(
        objects=local_objects(store, settings),
        publisher=LocalSns(
            store,
            settings.sns_subscribers,
            SnsSigner(signing_key, http_url),
            settings.sns_retry_delay_scale,
            settings.strict,
        ),
        functions=FunctionsOnFirstUse(lambda: local_functions(store, settings, http_url)),
        mailer=LocalMailer(store),
        mailbox=LocalMailbox(under(data, "workmail"), store),
        metrics=LocalMetrics(store),
        streams=LocalStreams(store),
        bus=LocalBus(store),
        pinpoint=LocalPinpoint(store),
        kms=LocalKms(under(data, "kms")),
    )


def local_functions(store: Store, settings: Settings, http_url: str) -> LocalFunctions:
    from inbound.backends.local_lambda import LocalFunctions, engine_environment

    return LocalFunctions(
        settings.lambda_handlers,
        store,
        settings.lambda_timeout,
        region=settings.region,
        concurrency=settings.lambda_concurrency,
        engine_env=engine_environment(settings, http_url),
    )


class FunctionsOnFirstUse:
    """The embedded Lambda `make` returns, made when a function is first checked or invoked."""

    def __init__(self, make: Callable[[], LocalFunctions]) -> None:
        self._make = make
        self._made: LocalFunctions | None = None

    def _functions(self) -> LocalFunctions:
        if self._made is None:
            self._made = self._make()
        return self._made

    async def exists(self, function_arn: str) -> bool:
        return await self._functions().exists(function_arn)

    async def invoke(
        self,
        function_arn: str,
        event: Mapping[str, Any],
        invocation_type: InvocationType,
        message_id: str,
    ) -> Invocation:
        return await self._functions().invoke(function_arn, event, invocation_type, message_id)

    async def close(self) -> None:
        if self._made is not None:
            await self._made.close()


def local_objects(store: Store, settings: Settings) -> LocalObjectStore:
    """The embedded S3, as the S3 action and the S3 API (api/aws/s3) use it."""
    data = settings.data_dir
    return LocalObjectStore(
        under(data, "s3"), store, under(data, "s3-partial"), settings.region, settings.strict
    )


def embedded_s3_and_kms(
    store: Store, settings: Settings, backends: Backends
) -> tuple[LocalObjectStore, LocalKms]:
    """What the embedded S3 and KMS APIs serve (api/aws): the backends' own when they are
    the embedded ones, else embedded ones over the same data dir."""
    objects = backends.objects
    kms = backends.kms
    return (
        objects if isinstance(objects, LocalObjectStore) else local_objects(store, settings),
        kms if isinstance(kms, LocalKms) else LocalKms(under(settings.data_dir, "kms")),
    )
