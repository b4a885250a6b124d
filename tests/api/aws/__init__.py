"""Tests of the embedded services' AWS APIs (inbound/api/aws)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from inbound.testing import RunningInbound

KEY, SECRET = "AKIDINBOUNDAWSTEST", "inbound-aws-test-secret"  # of the servers that verify


def signed_client(
    server: RunningInbound,
    service: str,
    key: str = KEY,
    secret: str = SECRET,
    region: str = "us-east-1",
) -> Any:
    """A client with these credentials, trying once (an error is the answer under test)."""
    return boto3.client(
        service,
        endpoint_url=server.api_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )
