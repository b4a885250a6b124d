"""The mailbox simulator's outcomes, read back by parsers that are not ours.

The DSNs go through the stdlib, flufl.bounce and (with Sisimai installed) the shared
``dsn_check.py --strict``; the abuse report through the stdlib and Sisimai's ARF reader; the
auto-reply through the stdlib, checking the RFC 3834 fields.
"""

from __future__ import annotations

import email
import json
import subprocess
import sys
from datetime import UTC, datetime
from email import policy
from email.message import Message

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound import dsn
from inbound.sending.events import BouncedRecipient
from inbound.sending.simulator import (
    SUPPRESSED,
    BounceFacts,
    ComplaintFacts,
    DeliveryFacts,
    RecipientFacts,
    Sent,
    SimulatorOutcome,
    build_auto_reply,
    build_bounce,
    build_complaint,
    feedback_of,
    outcome_of,
)
from tests.dsn.dsn_cases import DSN_CHECK, sisimai_missing

ARRIVED = datetime(2026, 12, 4, 14, 0, 0, tzinfo=UTC)
ORIGINAL = (
    b"From: Sender <sender@example.com>\r\n"
    b"To: someone@simulator.amazonses.com\r\n"
    b"Subject: Hello there\r\n"
    b"Message-ID: <010001a2-0000-4000-8000-000000000000-000000@email.amazonses.com>\r\n"
    b"References: <earlier@example.com>\r\n"
    b"Date: Fri, 04 Dec 2026 14:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"Hello.\r\n"
)
VERP = "010001a2-0000-4000-8000-000000000000-000000@amazonses.com"


def _sent(recipient: str, raw: bytes = ORIGINAL, region: str = "us-west-2") -> Sent:
    return Sent(
        raw=raw,
        message_id="010001a2-0000-4000-8000-000000000000-000000",
        mail_from=VERP,
        feedback_to="sender@example.com",
        recipient=recipient,
        arrived=ARRIVED,
        region=region,
    )


def _parse(msg: email.message.EmailMessage) -> Message:
    return email.message_from_bytes(dsn.as_bytes(msg), policy=policy.compat32)


# ── classification ──────────────────────────────────────────────────────────────────────────

# RFC 5322 atext minus "+" (which starts the label) and "@".
_ATEXT = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*/=?^_`{|}~-."),
    max_size=20,
)


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def _simulator_address(draw: st.DrawFn) -> tuple[str, SimulatorOutcome]:
    outcome = draw(st.sampled_from(SimulatorOutcome))
    label = draw(st.none() | _ATEXT)
    local = outcome.value + ("" if label is None else f"+{label}")
    domain = "simulator.amazonses.com" + draw(st.sampled_from(["", "."]))
    return _random_case(draw, f"{local}@{domain}"), outcome


@pytest.mark.parametrize("outcome", list(SimulatorOutcome))
@pytest.mark.parametrize("form", ["{}", "{}+label1", "{}+label2", "{}+", "{}+a+b"])
def test_every_address_and_label_form_is_classified(outcome, form):
    assert outcome_of(form.format(outcome.value) + "@simulator.amazonses.com") is outcome


@given(_simulator_address())
def test_labels_and_case_never_change_the_outcome(case):
    address, outcome = case
    assert outcome_of(address) is outcome


@pytest.mark.parametrize(
    "address",
    [
        "bounce@example.com",
        "bounce@sub.simulator.amazonses.com",
        "bounce@amazonses.com",
        "bounces@simulator.amazonses.com",
        "xbounce@simulator.amazonses.com",
        "bounce-1@simulator.amazonses.com",
        "label+bounce@simulator.amazonses.com",
        "@simulator.amazonses.com",
        "+bounce@simulator.amazonses.com",
        "simulator.amazonses.com",
        "",
    ],
)
def test_other_addresses_are_not_the_simulator(address):
    assert outcome_of(address) is None


@given(st.emails())
def test_random_addresses_elsewhere_are_not_the_simulator(address):
    if not address.lower().endswith("@simulator.amazonses.com"):
        assert outcome_of(address) is None


# ── the notification facts ──────────────────────────────────────────────────────────────────


def test_bounce_facts_are_ses_simulator_values():
    """lhost-amazonses-09/10 (us-west-2 simulator bounces, 2016), notification examples."""
    assert feedback_of(
        SimulatorOutcome.BOUNCE, "bounce+x@simulator.amazonses.com", "us-west-2"
    ) == (
        RecipientFacts(
            bounce=BounceFacts(
                "Permanent",
                "General",
                BouncedRecipient(
                    "bounce+x@simulator.amazonses.com",
                    "failed",
                    "5.1.1",
                    "smtp; 550 5.1.1 user unknown",
                ),
                "dsn; a8-96.smtp-out.us-west-2.amazonses.com",
                "72.21.215.231",
            )
        )
    )
    us_east = feedback_of(SimulatorOutcome.BOUNCE, "bounce@simulator.amazonses.com", "us-east-1")
    assert us_east.bounce is not None
    assert us_east.bounce.reporting_mta == "dsn; a8-96.smtp-out.amazonses.com"


def test_suppression_list_facts():
    facts = feedback_of(
        SimulatorOutcome.SUPPRESSION_LIST, "suppressionlist@simulator.amazonses.com", "us-east-1"
    )
    assert facts.delivery is None and facts.complaint is None
    assert facts.bounce == BounceFacts(
        "Permanent",
        "Suppressed",
        BouncedRecipient("suppressionlist@simulator.amazonses.com", "failed", "5.1.1", SUPPRESSED),
        "dns; amazonses.com",
    )
    assert SUPPRESSED.startswith("Amazon SES has suppressed sending to this address")


def test_success_is_a_delivery_only():
    """lhost-amazonses-12: smtpResponse "250 2.6.0 Message received", bare host reportingMTA."""
    assert feedback_of(
        SimulatorOutcome.SUCCESS, "success@simulator.amazonses.com", "eu-west-1"
    ) == RecipientFacts(
        delivery=DeliveryFacts(
            "success@simulator.amazonses.com",
            "250 2.6.0 Message received",
            "a8-96.smtp-out.eu-west-1.amazonses.com",
            "72.21.215.231",
        )
    )


def test_complaint_is_delivered_then_an_abuse_complaint():
    """lhost-amazonses-11/13: a Delivery, then userAgent "Amazon SES Mailbox Simulator"."""
    facts = feedback_of(
        SimulatorOutcome.COMPLAINT, "complaint@simulator.amazonses.com", "us-west-2"
    )
    assert facts.delivery is not None and facts.bounce is None
    assert facts.complaint == ComplaintFacts(
        "complaint@simulator.amazonses.com", "abuse", "Amazon SES Mailbox Simulator"
    )


def test_ooto_is_delivered_then_a_transient_bounce_naming_only_the_address():
    facts = feedback_of(SimulatorOutcome.OOTO, "ooto@simulator.amazonses.com", "us-west-2")
    assert facts.delivery is not None and facts.complaint is None
    assert facts.bounce == BounceFacts(
        "Transient", "General", BouncedRecipient("ooto@simulator.amazonses.com")
    )


# ── the bounce DSNs ─────────────────────────────────────────────────────────────────────────

BOUNCING = ["bounce@simulator.amazonses.com", "Bounce+Tag-1@Simulator.AmazonSES.com"]
BOUNCING += ["suppressionlist@simulator.amazonses.com", "suppressionlist+x@simulator.amazonses.com"]


@pytest.mark.parametrize("recipient", BOUNCING)
def test_bounce_is_ses_shaped_and_read_by_the_stdlib(recipient):
    msg = _parse(build_bounce(_sent(recipient)))
    assert msg["From"] == "MAILER-DAEMON@us-west-2.amazonses.com"
    assert msg["To"] == "sender@example.com"
    assert msg["Subject"] == "Delivery Status Notification (Failure)"
    assert msg["Auto-Submitted"] is None  # no SES sample has one
    assert msg["Message-ID"].endswith("-000000@us-west-2.amazonses.com>")
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    notice, status, returned = msg.get_payload()
    assert notice.get_payload().endswith(f"following recipients:\r\n{recipient}")
    per_message, block = status.get_payload()
    assert per_message["Arrival-Date"] is None
    assert block["Final-Recipient"] == f"rfc822; {recipient}"
    assert block["Original-Recipient"] is None
    assert (block["Action"], block["Status"]) == ("failed", "5.1.1")
    if outcome_of(recipient) is SimulatorOutcome.BOUNCE:
        assert per_message["Reporting-MTA"] == "dns; a8-96.smtp-out.us-west-2.amazonses.com"
        assert block["Diagnostic-Code"] == "smtp; 550 5.1.1 user unknown"
    else:
        assert per_message["Reporting-MTA"] == "dns; amazonses.com"
        assert block["Diagnostic-Code"] == f"smtp; 550 5.1.1 {SUPPRESSED}"
    # the whole message comes back (amazonses-05)
    assert returned.get_content_type() == "message/rfc822"
    assert returned.get_payload(0)["Subject"] == "Hello there"
    assert returned.get_payload(0).get_payload() == "Hello.\r\n"


def test_us_east_1_bounce_comes_from_the_unlabelled_hosts():
    msg = _parse(build_bounce(_sent("bounce@simulator.amazonses.com", region="us-east-1")))
    assert msg["From"] == "MAILER-DAEMON@amazonses.com"
    assert msg["Message-ID"].endswith("-000000@email.amazonses.com>")


@pytest.mark.parametrize("recipient", BOUNCING)
def test_flufl_bounce_finds_the_permanent_failure(recipient):
    flufl = pytest.importorskip("flufl.bounce")
    temporary, permanent = flufl.all_failures(
        email.message_from_bytes(dsn.as_bytes(build_bounce(_sent(recipient))))
    )
    assert set(permanent) == {recipient.encode()}
    assert not temporary


@pytest.mark.parametrize("recipient", BOUNCING)
def test_our_dsn_parser_reads_it_back(recipient):
    report = dsn.parse_dsn(dsn.as_bytes(build_bounce(_sent(recipient))))
    [status] = report.recipients
    assert (status.final_recipient, status.action, status.status) == (
        recipient,
        dsn.Action.FAILED,
        "5.1.1",
    )


@pytest.mark.parametrize("recipient", BOUNCING)
def test_dsn_check_strict(recipient, tmp_path):
    missing = sisimai_missing()
    if missing:
        pytest.skip(missing)
    path = tmp_path / "bounce.eml"
    path.write_bytes(dsn.as_bytes(build_bounce(_sent(recipient))))
    run = subprocess.run(
        [sys.executable, str(DSN_CHECK), "--strict", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 error(s)" in run.stdout
    assert recipient in run.stdout


@pytest.mark.parametrize(
    "recipient", ["success@simulator.amazonses.com", "ooto@simulator.amazonses.com", "a@b.c"]
)
def test_only_bouncing_addresses_bounce(recipient):
    with pytest.raises(ValueError):
        build_bounce(_sent(recipient))


def test_a_null_feedback_address_gets_no_bounce():
    sent = _sent("bounce@simulator.amazonses.com")
    with pytest.raises(dsn.NullReversePath):
        build_bounce(Sent(**{**sent.__dict__, "feedback_to": "<>"}))


# ── the abuse report ────────────────────────────────────────────────────────────────────────

COMPLAINING = ["complaint@simulator.amazonses.com", "COMPLAINT+list-7@simulator.amazonses.com"]


@pytest.mark.parametrize("recipient", COMPLAINING)
def test_complaint_is_an_rfc5965_report(recipient):
    msg = _parse(build_complaint(_sent(recipient)))
    assert msg["From"] == "complaints@email-abuse.amazonses.com"
    assert msg["To"] == "sender@example.com"
    assert msg["Subject"] == "Fw: Hello there"
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "feedback-report"
    human, report, original = msg.get_payload()
    assert human.get_content_type() == "text/plain"
    assert "abuse report" in human.get_payload()
    assert report.get_content_type() == "message/feedback-report"
    fields = email.message_from_string(report.get_payload(0).as_string())
    assert fields["Feedback-Type"] == "abuse"
    assert fields["User-Agent"] == "Amazon SES Mailbox Simulator"
    assert fields["Version"] == "1"
    assert fields["Original-Mail-From"] == f"<{VERP}>"
    assert fields["Original-Rcpt-To"] == recipient
    assert fields["Arrival-Date"] == "Fri, 04 Dec 2026 14:00:00 +0000"
    assert fields["Reported-Domain"] == "amazonses.com"
    assert original.get_content_type() == "message/rfc822"
    assert original.get_payload(0)["Message-ID"] == (
        "<010001a2-0000-4000-8000-000000000000-000000@email.amazonses.com>"
    )


def test_complaint_about_an_8bit_message_returns_its_header():
    raw = ORIGINAL.replace(b"Hello.", "Grüße.".encode())
    msg = _parse(build_complaint(_sent("complaint@simulator.amazonses.com", raw)))
    original = msg.get_payload()[2]
    assert original.get_content_type() == "text/rfc822-headers"
    assert "Subject: Hello there" in original.get_payload()


def test_complaint_needs_the_complaint_address():
    with pytest.raises(ValueError):
        build_complaint(_sent("bounce@simulator.amazonses.com"))


@pytest.mark.parametrize("recipient", COMPLAINING)
def test_sisimai_reads_the_complaint_as_abuse_feedback(recipient, tmp_path):
    missing = sisimai_missing()
    if missing:
        pytest.skip(missing)
    path = tmp_path / "complaint.eml"
    path.write_bytes(dsn.as_bytes(build_complaint(_sent(recipient))))
    run = subprocess.run(
        ["perl", "-MSisimai", "-e", "print Sisimai->dump($ARGV[0], delivered => 1)", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    [fact] = json.loads(run.stdout)
    assert fact["reason"] == "feedback"
    assert fact["feedbacktype"] == "abuse"
    assert fact["recipient"] == recipient


# ── the auto-reply ──────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "recipient", ["ooto@simulator.amazonses.com", "Ooto+x@simulator.amazonses.com"]
)
def test_auto_reply_has_the_rfc3834_fields(recipient):
    reply = build_auto_reply(_sent(recipient))
    assert reply is not None
    msg = email.message_from_bytes(dsn.as_bytes(reply), policy=policy.default)
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["From"] == recipient
    assert msg["To"] == "sender@example.com"
    assert msg["Subject"] == "Auto: Hello there"
    original_id = "<010001a2-0000-4000-8000-000000000000-000000@email.amazonses.com>"
    assert msg["In-Reply-To"] == original_id
    assert msg["References"] == f"<earlier@example.com> {original_id}"
    assert msg.get_content_type() == "text/plain"
    assert "out of the office" in msg.get_content()
    assert dsn.dsn_envelope(reply) == ("", ["sender@example.com"])


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "Auto-Notified; x=1"])
def test_no_auto_reply_to_an_automatic_message(value):
    raw = f"Auto-Submitted: {value}\r\n".encode() + ORIGINAL
    assert build_auto_reply(_sent("ooto@simulator.amazonses.com", raw)) is None


def test_auto_reply_to_a_message_marked_no():
    raw = b"Auto-Submitted: no\r\n" + ORIGINAL
    assert build_auto_reply(_sent("ooto@simulator.amazonses.com", raw)) is not None


def test_auto_reply_without_an_original_message_id_has_no_threading():
    raw = b"".join(
        line + b"\r\n"
        for line in ORIGINAL.split(b"\r\n")
        if not line.startswith((b"Message-ID", b"References"))
    )
    reply = build_auto_reply(_sent("ooto@simulator.amazonses.com", raw))
    assert reply is not None
    assert reply["In-Reply-To"] is None and reply["References"] is None


def test_auto_reply_needs_the_ooto_address():
    with pytest.raises(ValueError):
        build_auto_reply(_sent("complaint@simulator.amazonses.com"))
