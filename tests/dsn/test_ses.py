"""SES's receipt-rule bounces, regenerated from the real samples and compared field by field."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from dsn_cases import SHARED

from inbound import dsn

SAMPLES = SHARED / "dsn-samples"
# (sample, template or None for a custom action) - dsn-samples/SOURCES.md
RECEIVING = [
    ("sisimai-lhost-receivingses-01.eml", dsn.MAILBOX_DOES_NOT_EXIST),
    ("sisimai-lhost-receivingses-03.eml", dsn.TEMPORARY_FAILURE),
    ("sisimai-lhost-receivingses-04.eml", dsn.MAILBOX_FULL),
    ("sisimai-lhost-receivingses-05.eml", dsn.MESSAGE_TOO_LARGE),
    ("sisimai-lhost-receivingses-06.eml", dsn.MESSAGE_CONTENT_REJECTED),
    ("sisimai-lhost-receivingses-07.eml", dsn.SesTemplate("550", "5.2.0", "Message Filtered")),
    (
        "sisimai-lhost-receivingses-08.eml",
        dsn.SesTemplate("552", "5.2.3", "Message length exceeds limit set by recipient"),
    ),
]
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"shared DSN samples not found at {SAMPLES}"
)


def _load(path: Path):
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def _shape(msg):
    """Everything SES fixes in a receipt-rule bounce, minus dates, ids and boundaries."""
    text, status, returned = msg.get_payload()
    blocks = status.get_payload()
    return {
        "subject": msg["Subject"],
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "type": (msg.get_content_type(), msg.get_param("report-type")),
        "message-id-domain": msg["Message-ID"].split("-000000@")[1],
        "parts": [
            (
                p.get_content_type(),
                p.get_param("charset"),
                p["Content-Transfer-Encoding"],
                p["Content-Description"],
            )
            for p in (text, status, returned)
        ],
        "text": text.get_content(),
        "per-message keys": list(blocks[0]),
        "reporting-mta": blocks[0]["Reporting-MTA"],
        "recipients": [list(b.items()) for b in blocks[1:] if b.keys()],
        "returned": returned.get_payload(decode=True).replace(b"\r\n", b"\n").rstrip(b"\n"),
    }


@needs_samples
@pytest.mark.parametrize(("sample", "template"), RECEIVING, ids=[s[14:30] for s, _ in RECEIVING])
def test_regenerated_bounce_matches_sample(sample, template):
    real = _load(SAMPLES / sample)
    report = dsn.parse_dsn(real)
    [recipient] = report.recipients
    returned = real.get_payload()[2].get_payload(decode=True)
    ours = dsn.ses_receipt_bounce(
        returned,  # SES returns headers only, so the sample's third part is the original header
        sender=str(real["From"]),
        envelope_sender=str(real["To"]),
        recipients=[recipient.final_recipient],
        smtp_reply_code=template.smtp_reply_code,
        status_code=template.status_code,
        message=template.message,
        region="us-west-2",
        arrival_date=report.per_message.arrival_date,
        date=real["Date"].datetime,
    )
    assert _shape(ours) == _shape(real)
    assert dsn.parse_dsn(dsn.as_bytes(ours)) == report  # same data classes, field by field
    assert ours["Message-ID"].startswith("<0101")


def test_template_catalogue():
    """Spec dsn.md §2.1/§2.3: the console templates and the SendBounce defaults."""
    assert dsn.MAILBOX_DOES_NOT_EXIST.diagnostic == "550 5.1.1 Mailbox does not exist"
    assert dsn.MESSAGE_TOO_LARGE.diagnostic == "552 5.3.4 Message too large"
    assert dsn.MAILBOX_FULL.diagnostic == "552 5.2.2 Mailbox full"
    assert dsn.MESSAGE_CONTENT_REJECTED.diagnostic == "500 5.6.1 Message content rejected"
    assert dsn.TEMPORARY_FAILURE.diagnostic == "450 4.0.0 Temporary failure"
    assert dsn.UNKNOWN_FAILURE.diagnostic[:9] == "554 5.0.0"
    types = dsn.BOUNCE_TYPE_TEMPLATES
    assert set(types) == set(dsn.BounceType)
    assert types[dsn.BounceType.EXCEEDED_QUOTA] is dsn.MAILBOX_FULL
    r = dsn.bounce_type_recipient("bob@example.net", "TemporaryFailure")
    assert (r.action, r.status, r.diagnostic_code) == (
        "failed",
        "4.0.0",
        "450 4.0.0 Temporary failure",
    )


def _bounce(**kw):
    args = {
        "sender": "pm@example.net",
        "envelope_sender": "alice@example.com",
        "recipients": ["bob@example.net", "carol@example.net"],
        "smtp_reply_code": "550",
        "status_code": "5.1.1",
        "message": "Mailbox does not exist",
        "region": "ap-southeast-2",
    }
    return dsn.ses_receipt_bounce(b"Subject: x\r\n\r\nbody\r\n", **{**args, **kw})


def test_status_code_none_derives_class_0_0():
    report = dsn.parse_dsn(dsn.as_bytes(_bounce(smtp_reply_code="451", status_code=None)))
    assert {r.status for r in report.recipients} == {"4.0.0"}
    assert report.recipients[0].diagnostic_code == "451 4.0.0 Mailbox does not exist"


def test_reporting_mta_default_and_override():
    report = dsn.parse_dsn(dsn.as_bytes(_bounce()))
    assert report.per_message.reporting_mta == "dns; inbound-smtp.ap-southeast-2.amazonaws.com"
    assert len(report.recipients) == 2  # one DSN, one block per recipient
    other = dsn.parse_dsn(dsn.as_bytes(_bounce(reporting_mta="mx.local.test")))
    assert other.per_message.reporting_mta == "dns; mx.local.test"
    assert _bounce()["Message-ID"].endswith("-000000@ap-southeast-2.amazonses.com>")


@needs_samples
@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.eml")))
def test_parser_reads_real_bounces(sample):
    """Our parser accepts every real DSN in the corpus (SES's quirks included) except the
    deliberately broken boundary of rfc3464-35."""
    raw = (SAMPLES / sample).read_bytes()
    if sample == "sisimai-rfc3464-35.eml":
        with pytest.raises(dsn.DsnParseError):
            dsn.parse_dsn(raw)
        return
    report = dsn.parse_dsn(raw)
    assert report.recipients and all(r.action is dsn.Action.FAILED for r in report.recipients)
