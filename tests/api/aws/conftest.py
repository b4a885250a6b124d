"""The embedded SNS's API through boto3's sns client, with real webhooks as subscribers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from inbound.testing import RunningInbound
from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures
from tests.webhook import webhook  # noqa: F401 (the fixture)

REGION = "us-east-1"  # the tests' rules name topics of us-east-1 (tests/rulesets.py)


def sns_client(server: RunningInbound, region: str = REGION, **credentials: str) -> Any:
    return boto3.client(
        "sns",
        endpoint_url=server.api_url,
        region_name=region,
        aws_access_key_id=credentials.get("key", "testing"),
        aws_secret_access_key=credentials.get("secret", "testing"),
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    """SNS's retry delays at a thousandth: 20 s between retries become 20 ms."""
    return inbound_factory(sns_retry_delay_scale=0.001)


@pytest.fixture
def sns(server: RunningInbound) -> Any:
    return sns_client(server)
