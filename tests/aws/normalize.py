"""What differs between two runs of the same message: ids, clocks, per-message signatures.

Everything else in an object, notification or event must be the same byte for byte, so the
tests replace exactly these and compare the rest.
"""

from __future__ import annotations

import re

_PATTERNS = [
    # RFC 5322 dates (the Received header SES adds)
    (re.compile(rb"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} [\d:]{8} [+-]\d{4}"), b"<DATE>"),
    # ISO timestamps (mail.timestamp, receipt.timestamp)
    (re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), b"<TIME>"),
    (re.compile(rb'"processingTimeMillis": ?\d+'), b'"processingTimeMillis":<MS>'),
    # X-SES-RECEIPT is opaque and per message; the DKIM signature has t= and b=
    (re.compile(rb"(X-SES-RECEIPT: ?)[A-Za-z0-9+/=]+"), rb"\1<RECEIPT>"),
    (re.compile(rb'("X-SES-RECEIPT","value":")[A-Za-z0-9+/=]+'), rb"\1<RECEIPT>"),
    (re.compile(rb"(\bt=)\d+"), rb"\1<T>"),
    (re.compile(rb"(\bb=)[A-Za-z0-9+/=]+"), rb"\1<B>"),
]


def normalize(data: bytes | str, *message_ids: str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    for message_id in message_ids:
        raw = raw.replace(message_id.encode(), b"<MESSAGE-ID>")
    for pattern, replacement in _PATTERNS:
        raw = pattern.sub(replacement, raw)
    return raw


def assert_same(got: bytes, expected: bytes) -> None:
    """`got == expected`, showing where they part when they do not."""
    if got != expected:
        at = next(
            (i for i, (a, b) in enumerate(zip(got, expected, strict=False)) if a != b),
            min(len(got), len(expected)),
        )
        raise AssertionError(
            f"differ at byte {at}:\n  got      {got[max(0, at - 120) : at + 60]!r}\n"
            f"  expected {expected[max(0, at - 120) : at + 60]!r}"
        )
