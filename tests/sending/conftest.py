"""A running server for the Send* tests, and boto3 clients that never retry (a retried
`Throttling` would hide the error under test)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import boto3
import pytest
from botocore.config import Config

from inbound.config import SendingSettings
from inbound.testing import RunningInbound
from tests.webhook import Webhook as Subscriber

FAST = SendingSettings(max_send_rate=1000.0, max_24_hour_send=10000.0)


def client(running: RunningInbound) -> Any:
    return boto3.client(
        "ses",
        endpoint_url=running.api_url,
        region_name=running.settings.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def sending(inbound_factory: Callable[..., RunningInbound]) -> Callable[..., RunningInbound]:
    """`sending(**SendingSettings fields)`: a server in the sandbox with example.com verified
    and quotas high enough not to matter unless a test lowers them."""

    def make(**changes: Any) -> RunningInbound:
        settings = SendingSettings(**{**FAST.__dict__, **changes})
        return inbound_factory(verified=["example.com"], sending=settings)

    return make


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    """A real SNS HTTP subscriber (tests/webhook.py) for the tests' topics."""
    with closing(Subscriber()) as found:
        yield found


@pytest.fixture
def server(sending: Callable[..., RunningInbound]) -> RunningInbound:
    return sending()


@pytest.fixture
def ses(server: RunningInbound) -> Any:
    return client(server)
