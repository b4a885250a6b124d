"""A running server with SigV4 verified, fake handlers and boto3 clients pointed at it.

The receipt operations are written elsewhere; these tests exercise the protocol through small
fake handlers put into the server's own registry copy (`server.operations`), never the
global `OPERATIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from inbound.testing import RunningInbound

KEY, SECRET = "AKIDINBOUNDTEST", "inbound-test-secret"
REGION = "us-west-2"


class Ses:
    """A verifying server, the calls its fake handlers saw, and client factories."""

    def __init__(self, running: RunningInbound) -> None:
        self.running = running
        self.url = running.api_url
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def handle(self, name: str, result: Any = None) -> None:
        """Register a fake `name` that records (name, ctx, kwargs) and returns/raises `result`."""

        async def fake(ctx: Any, params: dict[str, Any]) -> Any:
            self.calls.append((name, ctx, params))
            if isinstance(result, BaseException):
                raise result
            return result(params) if callable(result) else result

        self.running.server.operations[name] = fake  # type: ignore[attr-defined]

    def client(
        self,
        region: str = REGION,
        key: str = KEY,
        secret: str = SECRET,
        token: str | None = None,
        retries: int = 1,
    ) -> Any:
        return boto3.client(
            "ses",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"total_max_attempts": retries, "mode": "standard"}),
        )


@pytest.fixture
def ses(inbound_factory: Callable[..., RunningInbound]) -> Ses:
    return Ses(inbound_factory(api_auth="verify", api_credentials={KEY: SECRET}))


@pytest.fixture
def ses_open(inbound_factory: Callable[..., RunningInbound]) -> Ses:
    """`api_auth = "off"`: anything goes, signed or not."""
    return Ses(inbound_factory())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Which operations of the model still lack a handler, in every run's summary (also -n)."""
    from inbound.api.query import service
    from inbound.api.query.operations import OPERATIONS

    missing = sorted(service.operation_names() - set(OPERATIONS))
    terminalreporter.write_line(
        f"inbound: {len(missing)} of {len(service.operation_names())} SES operations "
        f"not implemented: {', '.join(missing)}"
    )
