"""Invalid input is refused with a DsnError (a ValueError) naming the field (spec dsn.md §1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbound import dsn

NOW = datetime(2024, 5, 6, tzinfo=UTC)
PM = dsn.PerMessage(reporting_mta="dns; mx.example.net")


def rcpt(**kw):
    base = {"final_recipient": "bob@example.net", "action": "failed", "status": "5.1.1"}
    return dsn.RecipientStatus(**{**base, **kw})


INVALID = [
    ("status-not-xyz", lambda: rcpt(status="5.1"), "Status"),
    ("status-leading-zero", lambda: rcpt(status="5.01.1"), "Status"),
    ("status-bad-class", lambda: rcpt(status="3.1.1"), "Status"),
    ("failed-with-2xx", lambda: rcpt(status="2.0.0"), "Status"),
    ("delayed-with-5xx", lambda: rcpt(action="delayed", status="5.1.1"), "Status"),
    ("unknown-action", lambda: rcpt(action="bounced"), "Action"),
    ("retry-with-failed", lambda: rcpt(will_retry_until=NOW), "Will-Retry-Until"),
    ("reply-class-vs-status", lambda: rcpt(diagnostic_code="450 4.1.1 nope"), "Diagnostic-Code"),
    ("reply-vs-enhanced", lambda: rcpt(diagnostic_code="550 4.1.1 nope"), "Diagnostic-Code"),
    ("reply-no-code", lambda: rcpt(diagnostic_code="mailbox unknown"), "Diagnostic-Code"),
    ("reply-two-codes", lambda: rcpt(diagnostic_code="550-a\n551 b"), "Diagnostic-Code"),
    ("reply-bad-continuation", lambda: rcpt(diagnostic_code="550 a\n550 b"), "Diagnostic-Code"),
    ("crlf-injection", lambda: rcpt(diagnostic_code="550 x\r\nX-Evil: 1"), "Diagnostic-Code"),
    ("non-ascii-diagnostic", lambda: rcpt(diagnostic_code="550 5.1.1 Jürgen"), "Diagnostic-Code"),
    ("naive-date", lambda: rcpt(last_attempt_date=datetime(2024, 1, 1)), "Last-Attempt-Date"),
    ("angle-address", lambda: rcpt(final_recipient="<bob@example.net>"), "Final-Recipient"),
    ("control-in-address", lambda: rcpt(final_recipient="bob\n@x"), "Final-Recipient"),
    ("empty-address", lambda: rcpt(final_recipient=""), "Final-Recipient"),
    ("extension-without-x", lambda: rcpt(extensions=(("Queue-ID", "1"),)), "Queue-ID"),
    ("extension-crlf", lambda: rcpt(extensions=(("X-Q", "a\r\nb"),)), "X-Q"),
    ("reporting-mta-untyped", lambda: dsn.PerMessage(reporting_mta="dns mx"), "Reporting-MTA"),
    (
        "envid-space",
        lambda: dsn.PerMessage("mx", original_envelope_id="a b"),
        "Original-Envelope-Id",
    ),
    ("no-recipients", lambda: dsn.DeliveryReport(PM, ()), "recipients"),
    ("duplicate-recipient", lambda: dsn.DeliveryReport(PM, (rcpt(), rcpt())), "Final-Recipient"),
    ("ses-reply-2xx", lambda: dsn.SesTemplate("250", "2.0.0", "ok"), "SmtpReplyCode"),
    ("ses-class-mismatch", lambda: dsn.SesTemplate("552", "4.2.2", "x"), "StatusCode"),
    ("ses-message-crlf", lambda: dsn.SesTemplate("550", "5.1.1", "a\r\nb"), "Message"),
    ("bounce-type", lambda: dsn.bounce_type_recipient("a@b", "Bogus"), "BounceType"),
]


@pytest.mark.parametrize(("make", "field"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_input_names_the_field(make, field):
    with pytest.raises(dsn.DsnError) as info:
        make()
    assert isinstance(info.value, ValueError)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")


@pytest.mark.parametrize("null", ["", "<>", " <> "])
def test_never_bounce_a_bounce(null):
    """E3: RFC 5321 §6.1 - no DSN about a message with a null reverse-path."""
    report = dsn.DeliveryReport(PM, (rcpt(),))
    with pytest.raises(dsn.NullReversePath):
        dsn.build_dsn(report, original=b"", envelope_sender=null, sender="pm@example.net")
    with pytest.raises(dsn.NullReversePath):  # checked before anything else
        dsn.ses_receipt_bounce(
            b"Subject: x\r\n\r\n",
            sender="pm@example.net",
            envelope_sender=null,
            recipients=[],
            smtp_reply_code="999",
            status_code=None,
            message="",
            region="us-east-1",
        )


def test_return_path_strips_brackets_and_source_route():
    """E2: the DSN goes to the reverse-path, a source route cut to its final hop."""
    assert dsn.return_path("<@relay.example,@b.example:alice@example.com>") == "alice@example.com"
    assert dsn.return_path("alice@example.com") == "alice@example.com"


def test_accepted_values_are_kept_and_normalised():
    r = rcpt(action="FAILED", remote_mta="mx.example.org", status="4.0.0")
    assert r.action is dsn.Action.FAILED  # any case (RFC 3464 §2.3.3); 4.x.x may fail
    assert r.remote_mta == "dns; mx.example.org"
    assert dsn.PerMessage("mx.example.net").reporting_mta == "dns; mx.example.net"


def test_over_long_reply_line_is_split_into_a_multiline_reply():
    """Spec §4.3 / RFC 5321 §4.5.3.1.5: reply lines are at most 512 octets."""
    r = rcpt(diagnostic_code="550 5.1.1 " + "x" * 2000)  # one unbreakable token
    lines = r.diagnostic_code.split("\n")
    assert all(len(line) <= 510 for line in lines)
    assert [line[:10] for line in lines] == ["550-5.1.1 "] * (len(lines) - 1) + ["550 5.1.1 "]
    assert "".join(line[10:] for line in lines) == "x" * 2000


@pytest.mark.parametrize(
    ("plain", "xtext"),
    [
        ("jürgen@bücher.example", "j\\x{FC}rgen@b\\x{FC}cher.example"),
        ("山田@例え.jp", "\\x{5C71}\\x{7530}@\\x{4F8B}\\x{3048}.jp"),
        ('"a b+c=d\\e"@x', '"a\\x{20}b\\x{2B}c\\x{3D}d\\x{5C}e"@x'),
        ("😀@x", "\\x{1F600}@x"),
    ],
)
def test_rfc6533_utf8_addr_xtext(plain, xtext):
    assert dsn.encode_utf8_addr_xtext(plain) == xtext
    assert xtext.isascii()
    assert dsn.decode_utf8_addr(xtext) == plain
    assert dsn.decode_utf8_addr(plain) == plain  # raw utf-8-address form reads as itself


def test_rfc3461_xtext():
    assert dsn.encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d"
    assert dsn.decode_xtext("a+2Bb+3Dc+20d") == "a+b=c d"
    with pytest.raises(ValueError):
        dsn.decode_xtext("a b")
