"""Blobs as the SES APIs carry them: base64 text, decoded strictly.

Both endpoints decode a blob member this way (v1's Query codec, v2's REST-JSON codec): only
the base64 alphabet with its padding, anything else an error. SendRawEmail's message is one:
a 10 KB message is ~14 KB of base64 in every call, which the standard library's `binascii`
decoded in 28 us on the benchmark's machine, a thirtieth of the call's CPU; pybase64 (SIMD)
does it in 1 us. It decides as `base64.b64decode(text, validate=True)` does (a property test,
tests/test_blobs.py, checks that both accept and refuse the same texts and decode alike).
"""

from __future__ import annotations

import base64

import pybase64


def decoded(text: str | bytes) -> bytes:
    """The bytes `text` encodes; `binascii.Error` (or ValueError) when it is not strict
    base64: a character outside the alphabet (blanks and line breaks included), wrong or
    misplaced padding."""
    try:
        return pybase64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error: the standard library decides (it takes `0000=`)
        return base64.b64decode(text, validate=True)
