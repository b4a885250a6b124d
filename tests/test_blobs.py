"""inbound/blobs.py decides as the standard library's strict decoder does: the same texts are
accepted, with the same bytes, and the same refused."""

from __future__ import annotations

import base64
import binascii

from hypothesis import example, given
from hypothesis import strategies as st

from inbound import blobs

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Mostly the alphabet, with what makes a text not strict base64: padding anywhere, blanks,
# line breaks, the URL-safe characters, non-ASCII.
TEXTS = st.one_of(
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    st.text(alphabet=ALPHABET + "=", max_size=24),
    st.text(alphabet=ALPHABET + "= \r\n\t-_.é\x00", max_size=24),
)


def _outcome(decode: object, text: str | bytes) -> bytes | str:
    try:
        return decode(text)  # type: ignore[operator,no-any-return]
    except (binascii.Error, ValueError):
        return "refused"


@given(TEXTS)
@example("")
@example("=")
@example("QQ")
@example("QQ===")
@example("QU=J")
@example("QUJD\n")
@example("é")
@example("0000=")  # padding past a whole quantum: the standard library decodes it
def test_decides_as_the_standard_library(text: str) -> None:
    expected = _outcome(lambda t: base64.b64decode(t, validate=True), text)
    assert _outcome(blobs.decoded, text) == expected
    assert _outcome(blobs.decoded, text.encode("utf-8")) == _outcome(
        lambda t: base64.b64decode(t, validate=True), text.encode("utf-8")
    )


def test_a_message_round_trips() -> None:
    message = bytes(range(256)) * 40
    assert blobs.decoded(base64.b64encode(message).decode()) == message
