"""Fuzz what the engine reads of a received message's MIME structure and header fields: the
header split (`headers.SplitMessage`), the `mail` object (`headers`, `commonHeaders`,
`destination`), the trace headers built from the message (`Authentication-Results` names its
`From` domain and `DKIM-Signature` `d=`), and the GTUBE / EICAR scanners, which decode every
base64 and quoted-printable part. Whatever the bytes: no exception, a `mail` object that JSON
encodes (orjson, as the actions do) with `date` and `messageId`, trace header values that no
parser could read as more than one line, and the original bytes kept exactly.

Inputs: messages generated from hostile header fields and nested multipart bodies, the
committed DSN fixtures mutated (tests/fuzz/mutations.py), and random bytes. The SMTP target
sends such messages through the whole running engine as well.
"""

from __future__ import annotations

import asyncio
import base64
import quopri
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from inbound.actions import json_dumps
from inbound.headers import SplitMessage
from inbound.receiving import receipt
from inbound.receiving.verdicts import (
    EICAR_SCANNER,
    GTUBE_SCANNER,
    AuthInput,
    NoDnsAuthenticator,
    auth_headers,
)
from tests.api.strategies import HOSTILE
from tests.fuzz import budget
from tests.fuzz.mutations import TOKENS, mutated

TARGET = "mime"
MOMENT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Bcc",
        "Reply-To",
        "Sender",
        "Subject",
        "Date",
        "Message-ID",
        "Return-Path",
        "DKIM-Signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "X-Custom",
    ]
) | st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
    min_size=1,
    max_size=12,
)
_VALUES = st.sampled_from(
    [
        *HOSTILE,
        '"Doe, John" <john@example.com>, =?utf-8?q?J=C3=B6rg?= <j@example.com>',
        "=?utf-8?b?invalid?=",
        "=?unknown-charset?q?x?= <a@b>",
        "<a@b@c>, ,;, <>",
        "v=1; d=example.com; b=abc",
        "multipart/mixed; boundary=x",
        "base64",
        "quoted-printable",
    ]
) | st.text(max_size=60)
_BODIES = st.binary(max_size=200) | st.sampled_from(
    [b"XJS*C4JGB-BTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X", b"=\r\n=ZZ=4", b"!!!===", *TOKENS]
)


@st.composite
def parts(draw: st.DrawFn, depth: int = 0) -> bytes:
    """One MIME entity: a leaf in 7bit, base64 or quoted-printable (validly or not), or a
    multipart of further entities, with boundaries that may be missing or repeated."""
    if depth < 2 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["b", "=_x", "", "b b"]))
        children = draw(st.lists(parts(depth + 1), max_size=3))
        inner = b"".join(
            b"--" + boundary.encode() + b"\r\n" + child + b"\r\n" for child in children
        )
        closing = draw(st.sampled_from([b"--" + boundary.encode() + b"--\r\n", b""]))
        head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
        return head + inner + closing
    body = draw(_BODIES)
    encoding = draw(st.sampled_from(["7bit", "base64", "quoted-printable", "base64-broken"]))
    if encoding == "base64":
        body = base64.encodebytes(body)
    elif encoding == "quoted-printable":
        body = quopri.encodestring(body)
    cte = encoding.removesuffix("-broken")
    return f"Content-Type: text/plain\r\nContent-Transfer-Encoding: {cte}\r\n\r\n".encode() + body


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    fields = draw(st.lists(st.tuples(_NAMES, _VALUES), max_size=12))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    head = "".join(
        f"{name}: {value.replace(chr(10), chr(10) + ' ')}{newline}" for name, value in fields
    )
    return head.encode("utf-8", "surrogatepass") + draw(parts())


@budget.examples(ci=150, deep=30_000)
@given(raw=messages() | mutated() | st.binary(max_size=400))
def test_the_engine_reads_any_message(raw: bytes) -> None:
    budget.case(TARGET)
    split = SplitMessage.parse(raw)
    assert split.with_headers([]) == raw and 0 <= split.body_offset <= len(raw) + 2
    incoming = AuthInput("192.0.2.1", "client.test", "s@example.org", split.headers)
    trace = auth_headers(NoDnsAuthenticator().evaluate(incoming), incoming)
    for _, value in trace:
        assert not set(value) & {"\r", "\n", "\x00"}, value
    headers = [*trace, *split.headers]
    mail = receipt.mail_object(
        timestamp="2026-12-04T12:00:00.000Z",
        source="s@example.org",
        message_id="0" * 40,
        headers=headers,
        received=MOMENT,
        hostname="inbound-smtp.us-east-1.amazonaws.com",
    )
    json_dumps(mail)
    common = mail["commonHeaders"]
    assert isinstance(common, dict) and {"date", "messageId"} <= set(common)
    for scanner in (GTUBE_SCANNER, EICAR_SCANNER):
        asyncio.run(scanner.scan(split.with_headers(trace)))
