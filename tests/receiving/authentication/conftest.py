"""The DKIM tests' signing keys, made once per module (an RSA-2048 key takes ~0.1 s)."""

from __future__ import annotations

import pytest

from tests.receiving.authentication.signing import Keys


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys.make()
