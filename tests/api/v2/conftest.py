"""A running server and boto3 `sesv2` (and `ses`) clients pointed at it, with client-side
parameter validation off where a test sends what botocore would refuse to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from inbound.config import SendingSettings
from inbound.testing import RunningInbound
from tests.rulesets import bounce, rule, rules

FAST = SendingSettings(max_send_rate=1000.0, max_24_hour_send=10000.0)


def client(running: RunningInbound, service: str = "sesv2", validate: bool = True) -> Any:
    return boto3.client(
        service,
        endpoint_url=running.api_url,
        region_name=running.settings.region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=validate,
        ),
    )


@pytest.fixture
def server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    """The sandbox, example.com verified, quotas high enough not to matter."""
    return inbound_factory(verified=["example.com"], sending=FAST)


@pytest.fixture
def vdm_server(inbound_factory: Callable[..., RunningInbound]) -> RunningInbound:
    """Out of the sandbox (mail to any address), example.com verified; gone@example.com is
    received here and bounced by its rule (a Permanent bounce that is no simulator's)."""
    return inbound_factory(
        rules(rule("gone", bounce(), recipients=["gone@example.com"])),
        verified=["example.com"],
        sending=SendingSettings(**{**FAST.__dict__, "production": True}),
    )


@pytest.fixture
def v2(server: RunningInbound) -> Any:
    return client(server)


@pytest.fixture
def v1(server: RunningInbound) -> Any:
    return client(server, "ses")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Which operations of the v2 model still lack a handler, in every run's summary."""
    from inbound.api.v2 import service
    from inbound.api.v2.operations import V2_OPERATIONS

    missing = sorted(service.operation_names() - set(V2_OPERATIONS))
    terminalreporter.write_line(
        f"inbound: {len(missing)} of {len(service.operation_names())} SES v2 operations "
        f"not implemented: {', '.join(missing)}"
    )


def error(call: Any, **params: Any) -> tuple[str, int, str]:
    """The code, HTTP status and message of the error `call(**params)` gets."""
    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def add_destination(
    v2: Any, set_name: str, name: str, types: list[str], **destination: Any
) -> None:
    """An enabled event destination of `types` (v2's names) on a configuration set, made
    through v2; `destination` is its one member (`SnsDestination={...}`, ...)."""
    v2.create_configuration_set_event_destination(
        ConfigurationSetName=set_name,
        EventDestinationName=name,
        EventDestination={"Enabled": True, "MatchingEventTypes": types, **destination},
    )
