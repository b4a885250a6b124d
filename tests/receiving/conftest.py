"""`serve`: a server with both SMTP listeners on and the given `[limits]`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from inbound.config import Address, LimitSettings
from inbound.testing import RunningInbound
from tests.postgres import postgres_server, postgres_url, store_url  # noqa: F401  fixtures
from tests.sending.conftest import FAST

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def serve(inbound_factory: Callable[..., RunningInbound]) -> Callable[..., RunningInbound]:
    """`serve(**LimitSettings fields)`: the receiving port and the SMTP interface's (AUTH PLAIN
    allowed on loopback), its TLS-wrapper port too."""

    def make(**limits: Any) -> RunningInbound:
        sending = dataclasses.replace(
            FAST, smtp_allow_plain_auth=True, smtps=Address("127.0.0.1", 0)
        )
        return inbound_factory(
            sending=sending, api_credentials={KEY_ID: SECRET}, limits=LimitSettings(**limits)
        )

    return make
