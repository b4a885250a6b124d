"""Property: whatever valid report we build, our parser and the stdlib read back exactly it."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound import dsn

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*/=?^_`{|}~-"
UNICODE_LETTERS = "äöüßéñçøå山田例えякдπλ"
WORDS = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789.,:;!?'\"()-_/", min_size=1, max_size=12
)

atom = st.text(ATEXT, min_size=1, max_size=10)
utf8_atom = st.text(ATEXT + UNICODE_LETTERS, min_size=1, max_size=10)
dot_atom = st.lists(atom | utf8_atom, min_size=1, max_size=3).map(".".join)
quoted = st.text("abc xyz0123.;()@,", min_size=1, max_size=12).map(lambda s: f'"{s}"')
plus_label = st.tuples(dot_atom, atom).map("+".join)
label = st.text("abcdefghijklmnopqrstuvwxyz0123456789" + UNICODE_LETTERS, min_size=1, max_size=10)
domain = st.lists(label, min_size=1, max_size=3).map(lambda labels: ".".join([*labels, "example"]))
address = st.tuples(dot_atom | quoted | plus_label, domain).map("@".join)
subject_text = st.lists(
    st.text(st.characters(categories=("L", "N", "P", "S")), min_size=1, max_size=8),
    min_size=1,
    max_size=8,
).map(" ".join)
number = st.integers(0, 999).map(str)


@st.composite
def recipient(draw, final: str) -> dsn.RecipientStatus:
    action = draw(st.sampled_from([dsn.Action.FAILED, dsn.Action.DELAYED]))
    klass = "4" if action is dsn.Action.DELAYED else draw(st.sampled_from("45"))
    status = f"{klass}.{draw(number)}.{draw(number)}"
    code = f"{klass}{draw(st.integers(0, 5))}{draw(st.integers(0, 9))}"
    lines = draw(
        st.lists(st.lists(WORDS, min_size=1, max_size=30).map(" ".join), min_size=1, max_size=3)
    )
    diagnostic = "\n".join(
        f"{code}{' ' if i == len(lines) - 1 else '-'}{status} {text}"
        for i, text in enumerate(lines)
    )
    return dsn.RecipientStatus(
        final_recipient=final,
        original_recipient=draw(st.none() | address),
        action=action,
        status=status,
        diagnostic_code=diagnostic,
        remote_mta=draw(st.none() | st.just("dns; mx.example.org")),
        will_retry_until=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        if action is dsn.Action.DELAYED and draw(st.booleans())
        else None,
    )


@st.composite
def reports(draw) -> dsn.DeliveryReport:
    finals = draw(st.lists(address, min_size=1, max_size=4, unique=True))
    return dsn.DeliveryReport(
        dsn.PerMessage(
            "dns; mx.example.net", arrival_date=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
        ),
        tuple(draw(recipient(final)) for final in finals),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=reports(), subject=subject_text, original_subject=subject_text)
def test_parsers_agree_with_what_was_generated(report, subject, original_subject):
    original = f"From: a@example.com\r\nSubject: {original_subject}\r\n\r\nbody\r\n".encode()
    msg = dsn.build_dsn(
        report,
        original=original,
        envelope_sender="a@example.com",
        sender="postmaster@mx.example.net",
        subject=subject,
    )
    raw = dsn.as_bytes(msg)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert raw.isascii()

    assert dsn.parse_dsn(raw) == report  # our parser: the very same data classes

    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
    blocks = parsed.get_payload()[1].get_payload()
    assert len(blocks) == 1 + len(report.recipients)
    for block, r in zip(blocks[1:], report.recipients, strict=True):
        kind, value = block["Final-Recipient"].split("; ", 1)
        assert kind == ("rfc822" if r.final_recipient.isascii() else "utf-8")
        assert dsn.decode_utf8_addr(value) == r.final_recipient
        assert (block["Action"], block["Status"]) == (r.action, r.status)
    third = parsed.get_payload()[2]
    if third.get_content_type() == "message/rfc822":  # 7-bit original: returned in full
        inner = third.get_payload(0)
    else:  # 8-bit: quoted-printable header only
        inner = email.message_from_bytes(third.get_payload(decode=True), policy=policy.default)
    assert inner["Subject"] == original_subject


header_line = st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(header_line, min_size=1, max_size=6),
    recipients=st.lists(address, min_size=1, max_size=3, unique=True),
    text=st.lists(WORDS, min_size=1, max_size=40).map(" ".join),
)
def test_a_bounce_sent_unparsed_is_what_its_parsed_message_writes(lines, recipients, text):
    """`as_bytes` of a report not parsed yet is its text (dsn/build.py, `_Built`): the same
    bytes as the message parsed from it writes, whatever the returned header holds."""
    built = dsn.ses_receipt_bounce(
        b"\r\n".join(lines) + b"\r\n\r\nbody\r\n",
        sender="postmaster@example.com",
        envelope_sender="a@example.com",
        recipients=recipients,
        smtp_reply_code="552",
        status_code="5.3.4",
        message=text,
        region="us-east-1",
    )
    sent = dsn.as_bytes(built)
    assert built["To"] == "a@example.com"  # its first use parses it
    assert dsn.as_bytes(built) == sent
    assert dsn.parse_dsn(sent).recipients[0].final_recipient == recipients[0]
