"""The DKIM tests' signing keys, made once per module (an RSA-2048 key takes ~0.1 s), and a
DNS server of the tests' own for the resolver source."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.test_identities import FakeDns
from tests.receiving.authentication.signing import Keys


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.make()


@pytest.fixture
def fake_dns() -> Iterator[FakeDns]:
    server = FakeDns()
    yield server
    server.close()
