"""The checklist of spec dsn.md §1 over every example DSN (ids = checklist rows)."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from dsn_cases import CASES, ORIGINAL, ORIGINAL_8BIT, WHEN

from inbound import dsn

BUILT = {name: dsn.as_bytes(case.build()) for name, case in CASES.items()}
ALL = pytest.mark.parametrize("name", list(BUILT))


def parts(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default).get_payload()


@ALL
def test_wire_form_crlf_and_line_lengths(name):
    """§1.9: CRLF only, every line <= 998 octets; the report itself is 7-bit (R6)."""
    raw = BUILT[name]
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", raw) is None
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    body = raw.split(b"\r\n\r\n", 1)[1]
    assert body.isascii()


@ALL
def test_top_level_header(name):
    """H1, H3, H4, H5, H6: To/From/Date/Message-ID, MIME-Version, multipart/report."""
    raw = BUILT[name]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["From"] and msg["Date"] and msg["Message-ID"] and msg["To"]
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"  # R1
    assert msg.get_param("boundary")
    assert (msg["Auto-Submitted"] or "auto-replied") == "auto-replied"  # never auto-generated
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # H6: encoded-words for non-ASCII (no SMTPUTF8 address here)
    assert dsn.dsn_envelope(msg) == ("", [msg["To"].addresses[0].addr_spec])  # E1, E2


@ALL
def test_report_structure(name):
    """R2, D1, T1: text first, message/delivery-status (7bit) second, returned content third."""
    p = parts(BUILT[name])
    assert len(p) in (2, 3)
    assert p[0].get_content_maintype() == "text"
    assert p[1].get_content_type() == "message/delivery-status"
    assert p[1]["Content-Transfer-Encoding"] == "7bit"
    assert p[2].get_content_type() in ("message/rfc822", "text/rfc822-headers")


@ALL
def test_delivery_status_blocks(name):
    """D2, D5, D6: one per-message block, one block per recipient, no empty block (§2.4.7)."""
    blocks = parts(BUILT[name])[1].get_payload()
    assert all(len(b.keys()) for b in blocks)
    assert "Reporting-MTA" in blocks[0]
    for b in blocks[1:]:
        assert b["Final-Recipient"] and b["Action"] and b["Status"]
    expected = CASES[name].failed | CASES[name].delayed
    assert len(blocks) - 1 == len(expected)


@ALL
def test_as_bytes_is_stable(name):
    """The EmailMessage writes back exactly the bytes that were built."""
    raw = BUILT[name]
    msg = email.message_from_bytes(raw, policy=policy.SMTP.clone(refold_source="none"))
    assert dsn.as_bytes(msg) == raw
    assert dsn.as_bytes(CASES[name].build()) == raw  # deterministic


def test_full_return_when_failed_and_7bit():
    """R3/R4/T4: no RET + a failure -> full message/rfc822, 7bit, byte for byte."""
    returned = parts(BUILT["generic-mixed-full"])[2]
    assert returned.get_content_type() == "message/rfc822"
    assert returned["Content-Transfer-Encoding"] == "7bit"
    assert ORIGINAL in BUILT["generic-mixed-full"]


def test_delay_only_returns_headers():
    """R4: a DSN with no failure in it returns only the header (RFC 3461 §6.2)."""
    returned = parts(BUILT["generic-delayed-only"])[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    header = ORIGINAL.split(b"\r\n\r\n")[0]
    assert header in BUILT["generic-delayed-only"]  # T2: all of it, MIME fields included
    assert b"the numbers are in" not in BUILT["generic-delayed-only"]


def test_8bit_original_goes_back_as_qp_headers_and_subject_survives():
    """R5/T3, §1.10: an 8-bit original with RET=FULL degrades to QP text/rfc822-headers."""
    returned = parts(BUILT["intl-utf8"])[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert returned["Content-Transfer-Encoding"] == "quoted-printable"
    decoded = returned.get_payload(decode=True)
    assert decoded.replace(b"\r\n", b"\n").rstrip(b"\n") == ORIGINAL_8BIT.split(b"\r\n\r\n")[
        0
    ].replace(b"\r\n", b"\n")
    inner = email.message_from_bytes(decoded, policy=policy.default)
    assert inner["Subject"] == "Grüße aus Köln \u2013 日本語の件名"
    dsn_msg = email.message_from_bytes(BUILT["intl-utf8"], policy=policy.default)
    assert dsn_msg["Subject"] == "Unzustellbar: Grüße aus Köln"  # H6: RFC 2047 round trip


def test_rfc2047_original_subject_is_returned_verbatim():
    original = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nFrom: a@example.com\r\n\r\nx\r\n"
    msg = dsn.ses_receipt_bounce(
        original,
        sender="pm@example.net",
        envelope_sender="a@example.com",
        recipients=["b@example.net"],
        **{"smtp_reply_code": "550", "status_code": "5.1.1", "message": "Mailbox does not exist"},
        region="eu-west-1",
    )
    headers = msg.get_payload()[2].get_payload(decode=True)
    assert email.message_from_bytes(headers, policy=policy.default)["Subject"] == "Grüße"


def test_utf8_addresses_use_rfc6533_xtext():
    """§1.10: non-ASCII addresses are written as 'utf-8; <xtext>' in the 7-bit part."""
    text = BUILT["intl-utf8"].decode("ascii")
    assert "Final-Recipient: utf-8; \\x{5C71}\\x{7530}@\\x{4F8B}\\x{3048}.jp" in text
    assert "Final-Recipient: utf-8; kim@b\\x{FC}cher.example" in text
    assert "Final-Recipient: rfc822; plain@example.net" in text


def test_smtputf8_return_path_keeps_the_address_raw():
    """H6 exception: a UTF-8 return path makes the DSN an SMTPUTF8 message (RFC 6532)."""
    msg = dsn.ses_receipt_bounce(
        ORIGINAL_8BIT,
        sender="pm@example.net",
        envelope_sender="jürgen@bücher.example",
        recipients=["山田@例え.jp"],
        smtp_reply_code="550",
        status_code="5.1.1",
        message="Mailbox does not exist",
        region="us-east-1",
    )
    raw = dsn.as_bytes(msg)
    assert "To: jürgen@bücher.example\r\n".encode() in raw
    assert dsn.dsn_envelope(msg) == ("", ["jürgen@bücher.example"])
    assert raw.split(b"\r\n\r\n", 1)[1].isascii()  # the body stays 7-bit


def test_long_diagnostic_keeps_its_syntax():
    """§4.3: a long reply is folded only between reply lines, each starting SP + code."""
    text = BUILT["long-diagnostic"].decode("ascii")
    field = re.search(r"Diagnostic-Code: (.*?)\r\n(?! )", text, re.S).group(1)
    first, *rest = field.split("\r\n")
    assert first.startswith("smtp; 550-5.7.1 ")
    assert rest and all(re.match(r" 550[ -]5\.7\.1 ", line) for line in rest)
    report = dsn.parse_dsn(BUILT["long-diagnostic"])
    words = [w for line in report.recipients[0].diagnostic_code.split("\n") for w in line.split()]
    assert [w for w in words if w.startswith("word")] == [f"word{i:04d}" for i in range(150)]


def test_long_extension_value_is_folded_and_unfolds_exactly():
    value = " ".join(["token"] * 300)
    report = dsn.DeliveryReport(
        dsn.PerMessage("mx.example.net", extensions=(("X-Note", value),)),
        (dsn.RecipientStatus("b@example.net", "failed", "5.0.0"),),
    )
    raw = dsn.as_bytes(dsn.build_dsn(report, original=None, envelope_sender="a@x", sender="p@x"))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert dsn.parse_dsn(raw).per_message.extensions == (("X-Note", value),)
    assert len(parts(raw)) == 2  # original=None: no third part (T5)


def test_boundary_never_occurs_in_the_content():
    with pytest.raises(dsn.DsnError) as info:
        dsn.build_dsn(
            dsn.DeliveryReport(
                dsn.PerMessage("mx"), (dsn.RecipientStatus("b@x", "failed", "5.0.0"),)
            ),
            original=b"X-Trap: --abc\r\n\r\n",
            envelope_sender="a@x",
            sender="p@x",
            boundary="abc",
            date=WHEN,
        )
    assert info.value.field == "boundary"


def test_parse_reads_back_what_was_built():
    for name, case in CASES.items():
        report = dsn.parse_dsn(BUILT[name])
        failed = {r.final_recipient for r in report.recipients if r.action is dsn.Action.FAILED}
        delayed = {r.final_recipient for r in report.recipients if r.action is dsn.Action.DELAYED}
        assert (failed, delayed) == (set(case.failed), set(case.delayed)), name


@pytest.mark.parametrize(
    "field",
    [
        b"Final-Recipient: rfc822; j\xc3\xb6rg@example.com",
        b"Final-Recipient: rfc822; a@example.com\r\nX-Note: \xff",
    ],
    ids=["utf-8-address", "invalid-utf-8-extension"],
)
def test_parse_reads_8_bit_bytes_in_a_delivery_status_block_as_utf_8(field):
    """Found by fuzzing (tests/fuzz/test_dsn.py): the stdlib gives such a field as a `Header`
    object, and the parser failed with AttributeError / TypeError; now it reads the value as
    UTF-8 and accepts it or names the field, as for any other value."""
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n"
        b"\r\nAction: failed\r\nStatus: 5.1.1\r\n" + field + b"\r\n--b--\r\n"
    )
    if b"X-Note" in field:  # read (as U+FFFD), then refused as any non-ASCII extension is
        with pytest.raises(dsn.DsnParseError) as refused:
            dsn.parse_dsn(raw)
        assert refused.value.field == "X-Note"
        return
    [recipient] = dsn.parse_dsn(raw).recipients
    assert recipient.final_recipient == "jörg@example.com"
