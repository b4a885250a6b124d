"""Properties of the messages SES builds (inbound/sending/mime.py) and of the limits
(inbound/sending/checks.py): any subject, body and charset round-trips through the stdlib
parser; the recipient count and size limits hold at every value."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from inbound.errors import InvalidParameterValue, SesError
from inbound.sending import checks, mime

WHEN = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
MESSAGE_ID = "0100019aa1b2c3d4-2f6c2a0e-3c3b-4f2e-9a57-0b7d3cf2e0a1-000000"
CHARSETS = ["UTF-8", "ISO-8859-1", "US-ASCII", "Windows-1252", "UTF-16"]
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")  # str.splitlines()


def crlf_lines(body: str) -> str:
    """A text body as it travels: every line ending CRLF, and a final one."""
    lines = re.split(r"\r\n|\r|\n", body)
    if lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines) or "\r\n"


def encodable(value: str, charset: str) -> bool:
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(subject=text, body=text, html=st.none() | text, charset=st.sampled_from(CHARSETS))
# blanks between encoded words were lost (the SMTP policy's folder), and a leading one kept
@example(
    subject="0" * 8 + "\x80" * 30 + "\U00010000" * 5 + "  \x80", body="", html=None, charset="UTF-8"
)
@example(subject="x" * 70 + "  \x80\x80", body="", html=None, charset="UTF-8")
@example(subject="\r\x80", body="", html=None, charset="UTF-8")
def test_simple_message_round_trips(
    subject: str, body: str, html: str | None, charset: str
) -> None:
    assume("=?" not in subject)  # an encoded word is taken as one (docs/behaviour.md)
    fields = [("From", "sender@example.com"), ("To", "user@example.com"), ("Subject", subject)]
    parts = (mime.Text(body, charset), None if html is None else mime.Text(html, charset))
    if not all(p is None or encodable(p.data, charset) for p in parts):
        with pytest.raises(InvalidParameterValue):
            mime.simple(fields, *parts, MESSAGE_ID, WHEN)
        return
    raw = mime.simple(fields, *parts, MESSAGE_ID, WHEN)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert raw.isascii()  # everything 8-bit is encoded (quoted-printable, encoded words)
    message = message_from_bytes(raw, policy=policy.default)
    # line breaks become spaces; the parser drops the blanks that start a header's value
    assert message["Subject"] == LINE_BREAKS.sub(" ", subject).lstrip(" \t")
    assert message["Message-ID"] == f"<{MESSAGE_ID}@email.amazonses.com>"
    found = [p for p in (message.get_body(("plain",)), message.get_body(("html",))) if p]
    expected = [p.data for p in parts if p is not None]
    assert [p.get_content() for p in found] == [crlf_lines(e) for e in expected]
    assert {p.get_content_charset() for p in found} == {charset.lower()}
    assert message.get_content_type() == ("text/plain" if html is None else "multipart/alternative")


@given(st.integers(min_value=0, max_value=200))
def test_recipient_count(count: int) -> None:
    if 1 <= count <= checks.MAX_RECIPIENTS:
        checks.recipient_count(count)
    else:
        with pytest.raises(SesError, match=r"Recipient count exceeds 50\.|at least one"):
            checks.recipient_count(count)


@given(st.integers(min_value=0, max_value=3 * checks.MAX_MESSAGE_BYTES))
def test_message_size(size: int) -> None:
    if size <= checks.MAX_MESSAGE_BYTES:
        checks.message_size(size)
    else:
        with pytest.raises(InvalidParameterValue, match=f"bytes long: '{size}'"):
            checks.message_size(size)


@given(st.binary(max_size=2000), st.booleans())
def test_raw_body_is_kept_byte_for_byte(body: bytes, crlf: bool) -> None:
    eol = b"\r\n" if crlf else b"\n"
    head = eol.join([b"From: s@example.com", b"Bcc: b@example.com", b"Subject: x"])
    raw = mime.prepare_raw(head + eol + eol + body, MESSAGE_ID, WHEN)
    assert raw.endswith(eol + eol + body)
    assert b"Bcc" not in raw.partition(eol + eol)[0]


_ADDRESS_TEXT = st.lists(
    st.sampled_from([*"ab.@<>,;:\"\\ ()[]é=?+-Z1'", "=?utf-8?q?Jos=C3=A9?=", "x@y.test"]),
    max_size=20,
).map("".join)


def _addresses_of(value: str) -> list[str]:
    """What the default policy's full parse reads in `value` as an address field."""
    parsed = message_from_bytes(f"To: {value}\n\n".encode(), policy=policy.default)
    return [a.addr_spec for v in parsed.get_all("To", []) for a in getattr(v, "addresses", ())]


@given(
    fields=st.lists(
        st.tuples(st.sampled_from(["From", "To", "Cc", "Bcc", "Return-Path", "Subject"]),
                  _ADDRESS_TEXT),
        max_size=6,
    ),
    crlf=st.booleans(),
)  # fmt: skip
@settings(max_examples=500)
def test_address_fields_read_as_the_default_policy_reads_them(
    fields: list[tuple[str, str]], crlf: bool
) -> None:
    """`mime.parse_header` reads plain addresses without the RFC 5322 parser and parses a
    field only when asked for; what it returns must be what the default policy's parser
    reads, malformed values included (where that parser itself fails: "Illegal address")."""
    eol = "\r\n" if crlf else "\n"
    head = "".join(f"{name}: {value}{eol}" for name, value in fields)
    raw = (head + eol + f"body line{eol}" * 3).encode()
    header = mime.parse_header(raw)
    for name in ("From", "To", "Cc", "Bcc", "Return-Path"):
        values = [value.lstrip() for field, value in fields if field == name]
        try:
            expected = [address for value in values for address in _addresses_of(value)]
        except Exception:  # the stdlib parser's own failures
            with pytest.raises(InvalidParameterValue, match=r"^Illegal address$"):
                header.addresses(name)
            continue
        assert header.addresses(name) == expected
    subject = message_from_bytes(raw, policy=policy.default).get("Subject")
    assert header.single("Subject") == (None if subject is None else str(subject).strip())


_HEADER_BYTES = st.lists(
    st.sampled_from(
        [b"From", b"From ", b"To", b"Subject", b"X-A", b":", b": ", b" ", b"\t", b"\r\n", b"\n",
         b"\r", b"a@b.test", b"\xc3\xa9", b"\x80", b"=?utf-8?q?x?=", b"\x00", b"\x7f"]
    ),
    max_size=30,
).map(b"".join)  # fmt: skip


@given(head=_HEADER_BYTES, crlf=st.booleans())
@settings(max_examples=1000)
@example(head=b"From x\nTo: a", crlf=False)
@example(head=b": no name\r\nTo: a", crlf=True)
@example(head=b" first\r\nTo: a", crlf=True)
@example(head=b"To: a\rb", crlf=False)
def test_header_fields_are_split_as_the_parser_splits_them(head: bytes, crlf: bool) -> None:
    """`mime.parse_header` splits the fields itself when the parser would read them plainly,
    and hands the rest to compat32's parser: both must give the same fields."""
    eol = b"\r\n" if crlf else b"\n"
    fields, found_eol, _ = mime._split(head + eol + eol + b"body" + eol)
    assert mime._header(fields, found_eol) == mime._parsed_header(fields, found_eol)


@given(st.from_regex(checks._ADDRESS, fullmatch=True))
@settings(max_examples=500)
def test_a_plain_address_is_read_as_the_parser_reads_it(text: str) -> None:
    """`checks.address` returns an address SES's syntax admits without parsing it: the parser
    must read it as the same one address."""
    assert checks.address(text) == checks._parsed_address(text) == text
