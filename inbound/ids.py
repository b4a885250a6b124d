"""Identifiers: unique, not secret. A seeded PRNG instead of `os.urandom`, which costs tens of
microseconds a call on virtual machines and was a top item of the engine's profile."""

from __future__ import annotations

import base64
import hashlib
import random
import uuid

_random = random.Random()  # seeded from os.urandom once


def random_bytes(n: int) -> bytes:
    return _random.randbytes(n)


def new_uuid() -> str:
    """A version-4 UUID string, as SNS and Lambda request ids look."""
    return str(uuid.UUID(int=_random.getrandbits(128), version=4))


def new_message_id() -> str:
    """40 characters of base32hex, lower case: the form seen in 2019+ SES traffic (§4.2)."""
    return base64.b32hexencode(random_bytes(25)).decode("ascii").lower()


def message_id_for(*parts: str) -> str:
    """A message id in `new_message_id`'s form, the same for the same `parts`: what makes a
    step that spools a message idempotent across a restart."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()[:25]
    return base64.b32hexencode(digest).decode("ascii").lower()
