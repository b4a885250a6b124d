"""The DKIM verifier's own reading of a message (receiving/authentication/canonical.py) gives the
bytes dkimpy's does, for any input: the header fields, their relaxed form, the signature field
without `b=`, and the body hash under simple and relaxed canonicalization with and without
`l=`. These are what the hashes are computed over: a difference would change a verdict."""

from __future__ import annotations

import base64
import hashlib
import re

import dkim
import pytest
from dkim.canonicalization import CanonicalizationPolicy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from inbound import headers
from inbound.receiving.authentication import canonical

# The bytes canonicalization and parsing turn on, and a few others.
_TEXT = st.binary(max_size=0) | st.lists(
    st.sampled_from([b" ", b"\t", b"\r", b"\n", b"\r\n", b"a", b"Z", b"0", b"=", b";", b":",
                     b"b", b"+", b"/", b"\x0b", b"\xc3\xa9", b"From "]),
    max_size=60,
).map(b"".join)  # fmt: skip


def _dkimpy_body_hash(body: bytes, c: bytes, length: int | None) -> bytes:
    """dkimpy's bh= of `body` (its `verify_sig_process`): the body as its parse leaves it,
    canonicalized, cut to `l=`, hashed."""
    _, parsed = dkim.rfc822_parse(b"Subject: x\r\n\r\n" + body)
    canonical_body = CanonicalizationPolicy.from_c_value(b"simple/" + c).canonicalize_body(parsed)
    return hashlib.sha256(canonical_body if length is None else canonical_body[:length]).digest()


@settings(max_examples=500, deadline=None)
@given(body=_TEXT, c=st.sampled_from([b"simple", b"relaxed"]),
       length=st.none() | st.integers(0, 80))  # fmt: skip
@example(body=b"a  b\t\r\n \r\n\r\n", c=b"relaxed", length=None)
@example(body=b"\r\n", c=b"relaxed", length=None)
@example(body=b"a\nb\r\n\n\n", c=b"simple", length=3)
def test_the_body_hash_is_dkimpys_for_any_body(body: bytes, c: bytes, length: int | None) -> None:
    ours = canonical.body_hash(body, c == b"relaxed", length, hashlib.sha256)
    assert ours == _dkimpy_body_hash(body, c, length)


@settings(max_examples=500, deadline=None)
@given(name=st.sampled_from([b"Subject", b"DKIM-Signature", b"x"]), value=_TEXT)
def test_the_relaxed_field_is_dkimpys(name: bytes, value: bytes) -> None:
    relaxed = CanonicalizationPolicy.from_c_value(b"relaxed/simple")
    assert [canonical.relaxed_field(name, value)] == relaxed.canonicalize_headers([(name, value)])


def _body_start(raw: bytes) -> int:
    found = re.search(rb"\r?\n\r?\n", raw)  # as inbound/headers.py splits a message
    return len(raw) if found is None else found.end()


# canonical's function of one byte string, and what dkimpy computes for it (or where dkimpy
# has no function of its own, what inbound/headers.py or dkimpy's callers compute).
SAME = {
    "header_fields": (canonical.header_fields, lambda v: list(map(tuple, dkim.rfc822_parse(v)[0]))),
    "without_b": (canonical.without_b, lambda v: dkim.RE_BTAG.sub(rb"\1", v)),
    "body_start": (headers.body_start, _body_start),
    "tag_base64": (canonical.tag_base64, lambda v: base64.b64decode(re.sub(rb"\s+", b"", v))),
    "tag_list": (canonical.tag_list, dkim.util.parse_tag_value),
}


@pytest.mark.parametrize("name", SAME)
@settings(max_examples=1000, deadline=None)
@given(value=_TEXT)
@example(value=b"From someone\r\nSubject: x\r\n \tfolded\r\n\r\nnot a field")
@example(value=b" leading continuation: x\r\n")
@example(value=b"::x: y\r\nno colon\r\n\n\r\n")
@example(value=b" v=1; a = b ;; 1x=2; b=abc\r\n def=;\r\n h=from; b =\r\n\tx/+=\r\n")
@example(value=b"a=1; a=2;b= \r\n \r\n")
@example(value=b"QU =\tJ=")
def test_each_function_gives_what_dkimpy_gives_or_fails_alike(name: str, value: bytes) -> None:
    ours, theirs = SAME[name]
    try:
        expected = theirs(value)
    except Exception as error:
        with pytest.raises(Exception) as raised:
            ours(value)
        if isinstance(error, IndexError):  # dkimpy's, for a continuation line before any field
            assert isinstance(raised.value, dkim.MessageFormatError)
        else:
            assert (type(raised.value), raised.value.args) == (type(error), error.args)
        return
    assert ours(value) == expected


class _Collected:
    """A hasher that keeps what it is given: what dkimpy's `hash_headers` hashes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def update(self, data: bytes) -> None:
        self.parts.append(data)


_NAME = st.sampled_from([b"From", b"from", b"To", b"Subject", b"SUBJECT", b"X-A"])


@settings(max_examples=500, deadline=None)
@given(
    fields=st.lists(st.tuples(_NAME, _TEXT), max_size=8),
    include=st.lists(_NAME.map(bytes.lower), max_size=8),
    signature=_TEXT,
    c=st.sampled_from([b"simple", b"relaxed"]),
)
def test_the_signed_header_data_is_what_dkimpy_hashes(fields, include, signature, c) -> None:
    policy = CanonicalizationPolicy.from_c_value(c + b"/simple")
    field = (b"DKIM-Signature", signature)
    hashed = _Collected()
    dkim.hash_headers(hashed, policy, policy.canonicalize_headers(fields), include, field, {})
    ours = canonical.headers_hashed(fields, include, field, c == b"relaxed")
    assert ours == b"".join(hashed.parts)


_TAG_VALUE = st.sampled_from(
    [b"", b"1", b"2", b"rsa-sha256", b"rsa-md5", b"AAAA", b"AA A=", b"A!A=", b"AAA", b"x.test",
     b"X.Test", b"@x.test", b"a.x.test", b"a@x.test", b"a@y.test", b".x.test", b"x;test",
     b"\xc3\xa9.test", b"dns/txt", b"dns", b"0", b"12", b"9999999999", b"1x", b"pass", b"fail",
     b"none", b"odd"]
) | _TEXT  # fmt: skip
_VALID = {b"v": b"1", b"a": b"rsa-sha256", b"b": b"AAAA", b"bh": b"AAAA", b"d": b"x.test",
          b"h": b"from", b"s": b"s"}  # fmt: skip


def _dkimpy_validate(sig: dict[bytes, bytes]) -> None:
    """dkimpy's checks of a signature's tags, and its verifier's reading of `l=` after them."""
    dkim.validate_signature_fields(sig)
    if b"l" in sig:
        int(sig[b"l"])


@settings(max_examples=2000, deadline=None)
@given(
    changed=st.dictionaries(
        st.sampled_from([*_VALID, b"i", b"l", b"q", b"t", b"x", b"cv"]),
        st.none() | _TAG_VALUE,
        max_size=4,
    )
)
@example(changed={b"i": b"mail.x.test"})
@example(changed={b"i": b"x.test", b"v": b"2"})
@example(changed={b"l": b"", b"x": b"1"})
def test_a_signature_is_validated_as_dkimpy_validates_it(changed) -> None:
    """The same ValidationError (type and message) or none; where dkimpy fails with a Python
    error (an `i=` that is `d=` itself, an empty `l=`), a ValidationError."""
    sig = {k: v for k, v in {**_VALID, **changed}.items() if v is not None}
    try:
        _dkimpy_validate(sig)
    except dkim.ValidationError as error:
        with pytest.raises(dkim.ValidationError) as raised:
            canonical.validate(sig)
        assert raised.value.args == error.args
    except (IndexError, ValueError):  # dkimpy's crash
        with pytest.raises(dkim.ValidationError):
            canonical.validate(sig)
    else:
        canonical.validate(sig)
