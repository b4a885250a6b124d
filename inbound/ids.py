"""Identifiers: unique, not secret. A seeded PRNG instead of `os.urandom`, which costs tens of
microseconds a call on virtual machines and was a top item of the engine's profile."""

from __future__ import annotations

import hashlib
import random
import time

_random = random.Random()  # seeded from os.urandom once


def random_bytes(n: int) -> bytes:
    return _random.randbytes(n)


# The bits a version-4 UUID fixes (RFC 4122 4.4): the version (0100) and the variant (10).
_UUID4_KEPT = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def new_uuid() -> str:
    """A version-4 UUID string, as SNS and Lambda request ids look: formatted here rather than
    through `uuid.UUID` (1.8 -> 1.3 us; three or four per sent message: its MessageId, the
    request's id, the outbox entry's). A property test checks it against `uuid.UUID`."""
    return uuid4_text(_random.getrandbits(128))


def uuid4_text(bits: int) -> str:
    """`str(uuid.UUID(int=bits, version=4))`."""
    h = f"{bits & _UUID4_KEPT | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Base32hex in lower case is the digits of base 32: two of them per 10 bits, from a table.
_DIGITS = "0123456789abcdefghijklmnopqrstuv"
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]
_ID_SHIFTS = range(190, -10, -10)  # a 200-bit id, 10 bits at a time from the top
_TIME_MASK = (1 << 48) - 1  # a message id's milliseconds: until the year 10889
_REST_BITS = 152  # a message id's bits after its milliseconds: random, or a hash


def _id_text(bits: int) -> str:
    """The 40 characters `base64.b32hexencode` writes, lower case, for the 25 bytes whose
    big-endian value is `bits` (a property test checks it): base64's is Python, 7.0 ->
    2.4 us a message id (timeit), once per received message on the event loop."""
    return "".join([_PAIRS[bits >> shift & 1023] for shift in _ID_SHIFTS])


def new_message_id() -> str:
    """40 characters of base32hex, lower case: the form seen in 2019+ SES traffic (§4.2)."""
    return message_id_at(time.time_ns() // 1_000_000)


def message_id_at(milliseconds: int) -> str:
    """A new message id made at `milliseconds` since the epoch: those 48 bits first, then 152
    random ones. Ids made later sort later, so the store's indexes on them (the message, its
    spool row, its trace, its journal, its S3 object) take each new one at their right-hand
    end: a random id had a leaf page of its own in each, written to the WAL with every
    message, and read back cold by the other workers' writers (docs/cpu.md, "Message ids in
    the order of their making"). SES's ids show no order; the form is the same."""
    return _timed_id(milliseconds, _random.getrandbits(_REST_BITS))


def message_id_for(milliseconds: int, *parts: str) -> str:
    """A message id in `new_message_id`'s form, the same for the same `milliseconds` and
    `parts`: what makes a step that spools a message idempotent across a restart. Its first
    48 bits are `milliseconds` (when the message was made: it sorts among the others as
    `message_id_at`'s do), the other 152 a hash of `parts`."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()[: _REST_BITS // 8]
    return _timed_id(milliseconds, int.from_bytes(digest))


def _timed_id(milliseconds: int, rest: int) -> str:
    """The id whose first 48 bits are `milliseconds` and whose other `_REST_BITS` are `rest`."""
    return _id_text((milliseconds & _TIME_MASK) << _REST_BITS | rest)
