"""The mailbox simulator: what SES does with mail sent to ``*@simulator.amazonses.com``.

SES Developer Guide, "Using the mailbox simulator" (docs.aws.amazon.com/ses/latest/
DeveloperGuide/mailbox-simulator.html): five addresses, each with a defined response, usable
in the sandbox, ``+label`` forms behaving like the bare address. Pure: no I/O, no clock unless
a date is left out. The delivery step calls, per recipient of a sent message::

    outcome = outcome_of(recipient)             # None: not a simulator address
    facts = feedback_of(outcome, recipient, region)   # RecipientFacts: delivery/bounce/complaint
    sent = Sent(raw, message_id, mail_from, feedback_to, recipient, arrived, region)
    if outcome in BOUNCES:                     # bounce@, suppressionlist@
        msg = build_bounce(sent)               # RFC 3464 DSN
    elif outcome is SimulatorOutcome.OOTO:
        msg = build_auto_reply(sent)           # RFC 3834; None when §2 forbids a reply
    elif outcome is SimulatorOutcome.COMPLAINT:
        msg = build_complaint(sent)            # RFC 5965 ARF
    # success@: nothing to build, only facts.delivery
    wire = dsn.as_bytes(msg); mail_from, rcpts = dsn.dsn_envelope(msg)   # MAIL FROM:<>

``facts`` carries SES's notification values; ``outcomes(facts, ...)`` turns them into the
events.py outcomes that the ``bounce`` / ``complaint`` / ``delivery`` JSON objects are built
from (inbound/sending/answers.py publishes them); the messages are what SES forwards by
email when feedback forwarding is on, addressed to ``feedback_to`` (the ``ReturnPath`` given to
the Send call, else the ``Source``). Real SES gets them at its VERP ``MAIL FROM`` first and
forwards them; that hop is collapsed here. Evidence for each value is cited where it is used;
docs/behaviour.md "Mailbox simulator" lists the decisions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_string
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum

from inbound import dsn
from inbound.dsn.build import Original, mime_part, multipart_report, returned_part
from inbound.dsn.ses import ses_boundary
from inbound.receiving.matching import base_local, split_address
from inbound.sending import events
from inbound.sending.events import BouncedRecipient

SIMULATOR_DOMAIN = "simulator.amazonses.com"
CRLF = "\r\n"


class SimulatorOutcome(StrEnum):
    """The five simulator mailboxes; the value is the address's local part."""

    SUCCESS = "success"
    BOUNCE = "bounce"
    OOTO = "ooto"
    COMPLAINT = "complaint"
    SUPPRESSION_LIST = "suppressionlist"


BOUNCES = frozenset({SimulatorOutcome.BOUNCE, SimulatorOutcome.SUPPRESSION_LIST})


def outcome_of(recipient: str) -> SimulatorOutcome | None:
    """The simulator outcome for an envelope recipient, or ``None`` for any other address.

    ``bounce+label1@simulator.amazonses.com`` is ``BOUNCE`` (the guide's labeling example).
    Domain and local part compare case-insensitively, as recipient matching does; the guide
    says nothing of case (DECIDED). A trailing dot on the domain is ignored.
    """
    local, domain = split_address(recipient)
    if domain != SIMULATOR_DOMAIN or not local:
        return None
    try:
        return SimulatorOutcome(base_local(local))
    except ValueError:
        return None


# ── the facts SES's notifications carry ─────────────────────────────────────────────────────


@dataclass(frozen=True)
class BounceFacts:
    """The ``bounce`` object's values (``bounceType``, ``bounceSubType``, ``reportingMTA``,
    ``remoteMtaIp``); ``None`` fields are absent from SES's JSON."""

    bounce_type: str
    bounce_sub_type: str
    recipient: BouncedRecipient
    reporting_mta: str | None = None
    remote_mta_ip: str | None = None


@dataclass(frozen=True)
class ComplaintFacts:
    """The ``complaint`` object's values: ``complaintFeedbackType`` and ``userAgent`` from a
    feedback report (``None``: there is none), ``complaintSubType``."""

    complained_recipient: str
    feedback_type: str | None
    user_agent: str | None
    sub_type: str | None = None


@dataclass(frozen=True)
class DeliveryFacts:
    """The ``delivery`` object's values: ``smtpResponse``, ``reportingMTA``, ``remoteMtaIp``."""

    recipient: str
    smtp_response: str
    reporting_mta: str
    remote_mta_ip: str | None = None


@dataclass(frozen=True)
class RecipientFacts:
    """Everything SES reports for one simulator recipient (each part may be absent)."""

    delivery: DeliveryFacts | None = None
    bounce: BounceFacts | None = None
    complaint: ComplaintFacts | None = None


# Observed in SES's simulator notifications (sisimai set-of-emails, lhost-amazonses-09..13 and
# obsoleted/json-amazonses-01..06; SES Developer Guide "Amazon SNS notification examples").
USER_UNKNOWN = "smtp; 550 5.1.1 user unknown"
DELIVERED = "250 2.6.0 Message received"
SIMULATOR_USER_AGENT = "Amazon SES Mailbox Simulator"
SIMULATOR_MTA_IP = "72.21.215.231"  # remoteMtaIp of a 2017 eu-west-1 simulator bounce
# A suppression-list bounce's diagnosticCode, seen verbatim (no "smtp;" type) with
# bounceSubType Suppressed and reportingMTA "dns; amazonses.com" for a simulator address.
SUPPRESSED = (
    "Amazon SES has suppressed sending to this address because it has a recent history of"
    " bouncing as an invalid address. For more information about how to remove an address"
    " from the suppression list, see the Amazon SES Developer Guide:"
    " http://docs.aws.amazon.com/ses/latest/DeveloperGuide/remove-from-suppressionlist.html"
)
SUPPRESSION_MTA = "dns; amazonses.com"
# What a recipient on the account-level suppression list gets (bounceSubType
# OnAccountSuppressionList, status 5.1.1, reportingMTA "dns; amazonses.com"), seen verbatim in
# SES notifications of 2020-2025 quoted in public repositories.
ACCOUNT_SUPPRESSED = (
    "Amazon SES did not send the message to this address because it is on the suppression list"
    " for your account. For more information about removing addresses from the suppression"
    " list, see the Amazon SES Developer Guide at"
    " https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)
ON_ACCOUNT_SUPPRESSION_LIST = "OnAccountSuppressionList"
_REGION = "us-east-1"  # the region whose hosts carry no region label


def outbound_host(region: str) -> str:
    """SES's sending MTA: ``a8-96.smtp-out.amazonses.com`` in us-east-1 (observed 2013),
    ``<host>.smtp-out.<region>.amazonses.com`` elsewhere (observed us-west-2, eu-west-1).
    One fixed host name stands for SES's many (DECIDED)."""
    return "a8-96.smtp-out." + ("" if region == _REGION else f"{region}.") + "amazonses.com"


def feedback_of(outcome: SimulatorOutcome, recipient: str, region: str) -> RecipientFacts:
    """SES's notification values for ``recipient``, whose outcome is ``outcome``."""
    delivery = DeliveryFacts(recipient, DELIVERED, outbound_host(region), SIMULATOR_MTA_IP)
    match outcome:
        case SimulatorOutcome.SUCCESS:
            return RecipientFacts(delivery=delivery)
        case SimulatorOutcome.BOUNCE:
            bounced = BouncedRecipient(recipient, "failed", "5.1.1", USER_UNKNOWN)
            mta = f"dsn; {outbound_host(region)}"  # SES writes "dsn;" here (amazonses-09/10)
            bounce = BounceFacts("Permanent", "General", bounced, mta, SIMULATOR_MTA_IP)
            return RecipientFacts(bounce=bounce)
        case SimulatorOutcome.SUPPRESSION_LIST:
            return _suppressed("Suppressed", recipient, SUPPRESSED)
        case SimulatorOutcome.OOTO:
            # Delivered, then the auto-reply comes back as a Transient/General "bounce" naming
            # only the address (observed 2013; the notification-contents page's note on
            # Transient/General says automatic responses arrive this way).
            bounce = BounceFacts("Transient", "General", BouncedRecipient(recipient))
            return RecipientFacts(delivery=delivery, bounce=bounce)
        case SimulatorOutcome.COMPLAINT:
            complaint = ComplaintFacts(recipient, "abuse", SIMULATOR_USER_AGENT)
            return RecipientFacts(delivery=delivery, complaint=complaint)


def _suppressed(sub_type: str, recipient: str, diagnostic: str) -> RecipientFacts:
    """A suppression list's bounce: SES's own, reported by amazonses.com, nothing delivered."""
    bounced = BouncedRecipient(recipient, "failed", "5.1.1", diagnostic)
    return RecipientFacts(bounce=BounceFacts("Permanent", sub_type, bounced, SUPPRESSION_MTA))


def held_back_feedback(recipient: str, complaint: bool) -> RecipientFacts:
    """What SES reports for a recipient on the account-level suppression list, as it does for
    ``suppressionlist@`` (the global list): a Permanent bounce with subtype
    OnAccountSuppressionList; or, for an address listed because of a complaint (``complaint``),
    a complaint with ``complaintSubType`` OnAccountSuppressionList and no feedback report ("If
    the value is OnAccountSuppressionList, Amazon SES accepted the message, but didn't attempt
    to send it because it was on the account-level suppression list", "Contents of event
    data")."""
    if complaint:
        facts = ComplaintFacts(recipient, None, None, ON_ACCOUNT_SUPPRESSION_LIST)
        return RecipientFacts(complaint=facts)
    return _suppressed(ON_ACCOUNT_SUPPRESSION_LIST, recipient, ACCOUNT_SUPPRESSED)


SimulatedOutcome = events.Delivery | events.Bounce | events.Complaint


def outcomes(
    facts: RecipientFacts,
    *,
    accepted: datetime,
    now: datetime,
    feedback_id: str,
    outgoing_ip: str | None = None,
) -> tuple[SimulatedOutcome, ...]:
    """The event outcomes of one recipient's ``facts``, in the order SES reports them (the
    delivery before the auto-reply's bounce or the complaint). ``accepted`` is when SES
    accepted the send (``processingTimeMillis`` counts from it; the complaint's
    ``arrivalDate``), ``now`` when the outcome happened; ``feedback_id`` names the bounce or
    the complaint (one recipient never has both)."""
    found: list[SimulatedOutcome] = []
    if facts.delivery is not None:
        d = facts.delivery
        millis = max(0, int((now - accepted).total_seconds() * 1000))
        found.append(
            events.Delivery(
                now,
                millis,
                (d.recipient,),
                d.smtp_response,
                d.reporting_mta,
                d.remote_mta_ip,
                outgoing_ip,
            )
        )
    if facts.bounce is not None:
        b = facts.bounce
        found.append(
            events.Bounce(
                b.bounce_type,
                b.bounce_sub_type,
                (b.recipient,),
                now,
                feedback_id,
                b.reporting_mta,
                b.remote_mta_ip,
            )
        )
    if facts.complaint is not None:
        c = facts.complaint
        report = None
        if c.user_agent is not None and c.feedback_type is not None:
            report = events.FeedbackReport(c.user_agent, c.feedback_type, accepted)
        complaint = events.Complaint(
            (c.complained_recipient,), now, feedback_id, report, c.sub_type
        )
        found.append(complaint)
    return tuple(found)


# ── the messages SES forwards ───────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Sent:
    """One sent message as one simulator recipient got it.

    ``message_id`` is SES's MessageId; ``mail_from`` the envelope sender SES used (its VERP
    address or the custom MAIL FROM), bare; ``feedback_to`` where SES forwards feedback by
    email (the Send call's ``ReturnPath``, else its ``Source``), bare; ``arrived`` when SES
    accepted the message.
    """

    raw: bytes
    message_id: str
    mail_from: str
    feedback_to: str
    recipient: str
    arrived: datetime
    region: str


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def mailer_daemon(region: str) -> str:
    """``MAILER-DAEMON@us-west-2.amazonses.com`` (amazonses-05, a us-west-2 simulator bounce);
    us-east-1 bounces come from ``MAILER-DAEMON@amazonses.com`` (amazonses-14..21)."""
    return "MAILER-DAEMON@" + ("" if region == _REGION else f"{region}.") + "amazonses.com"


def _mail_host(region: str) -> str:
    # Message-ID host of SES's own messages: email.amazonses.com in us-east-1 (amazonses-20,
    # the suppression-list blog post), <region>.amazonses.com elsewhere (amazonses-05).
    return "email.amazonses.com" if region == _REGION else f"{region}.amazonses.com"


def build_bounce(
    sent: Sent,
    *,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """The DSN for ``bounce@`` / ``suppressionlist@`` (their ``+label`` forms too).

    Laid out as amazonses-05 (a real ``bounce@simulator`` DSN): From MAILER-DAEMON, SES's
    notification text naming the recipient, ``Reporting-MTA`` of an smtp-out host, one
    recipient block without ``Original-Recipient`` and the whole message returned.
    Differences from that sample are the DSN library's FIXED items (``dns;`` instead of
    ``dsn;``, no extra blank line). Raises ``ValueError`` for any other recipient.
    """
    outcome = outcome_of(sent.recipient)
    if outcome not in BOUNCES:
        raise ValueError(f"{sent.recipient!r} is not a bouncing simulator address")
    if outcome is SimulatorOutcome.BOUNCE:
        diagnostic = "550 5.1.1 user unknown"
        return failure_dsn(
            sent,
            "5.1.1",
            diagnostic,
            outbound_host(sent.region),
            date=date,
            message_id=message_id,
            boundary=boundary,
        )
    return suppression_dsn(sent, SUPPRESSED, date=date, message_id=message_id, boundary=boundary)


def suppression_dsn(
    sent: Sent,
    text: str,
    *,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """The DSN of a suppression list's bounce (``suppressionlist@``: the global list, ``text``
    ``SUPPRESSED``; a recipient on the account-level list: ``ACCOUNT_SUPPRESSED``), reported by
    amazonses.com. The notification's diagnostic has no type; a DSN field needs one, so the
    DSN says smtp 550 5.1.1 before SES's text (DECIDED: no sample of this DSN is public)."""
    return failure_dsn(
        sent,
        "5.1.1",
        f"550 5.1.1 {text}",
        "amazonses.com",
        date=date,
        message_id=message_id,
        boundary=boundary,
    )


def failure_dsn(
    sent: Sent,
    status: str,
    diagnostic: str,
    mta: str,
    *,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """SES's DSN failing ``sent.recipient`` with ``status`` and the SMTP reply ``diagnostic``,
    reported by ``mta``: the simulator's bounces and the relay's (sending/relayed.py)."""
    report = dsn.DeliveryReport(
        dsn.PerMessage(reporting_mta=f"dns; {mta}"),  # no Arrival-Date (amazonses-05..21)
        (
            dsn.RecipientStatus(
                sent.recipient, dsn.Action.FAILED, status, diagnostic_code=diagnostic
            ),
        ),
    )
    date = date or _now()
    return dsn.ses_bounce(
        report,
        sent.raw,
        sender=mailer_daemon(sent.region),
        envelope_sender=sent.feedback_to,
        region=sent.region,
        explanation="An error occurred while trying to deliver the mail to the following"
        f" recipients:{CRLF}{sent.recipient}",
        date=date,
        message_id=message_id
        or dsn.ses_message_id(sent.region, date, host=_mail_host(sent.region)),
        boundary=boundary,
        ret=dsn.Ret.FULL,
    )


def _original_header(raw: bytes) -> EmailMessage:
    parsed = message_from_string(
        raw.decode("utf-8", "surrogateescape"), policy=email_policy.default
    )
    assert isinstance(parsed, EmailMessage)
    return parsed


def _header_line(name: str, value: str) -> str:
    pol = email_policy.SMTP
    folded: str = pol.header_factory(name, value).fold(policy=pol)
    return folded


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


COMPLAINTS_FROM = "complaints@email-abuse.amazonses.com"  # arf-14: a complaint SES forwarded


def build_complaint(
    sent: Sent,
    *,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """The RFC 5965 abuse report for ``complaint@`` (and its ``+label`` forms).

    Layout of a complaint SES forwarded (sisimai arf-14): From
    ``complaints@email-abuse.amazonses.com``, ``Subject: Fw: <original subject>``, three
    inline parts with SES's boundary form. The report's ``User-Agent`` is the value SES puts
    in the notification's ``userAgent``; ``Version: 1`` as RFC 5965 §3.1 requires (Yahoo's
    report in arf-14 says 0.1). The original goes back whole when it is 7-bit, else its
    header as ``text/rfc822-headers`` (RFC 5965 §2 item 4 allows either).
    """
    if outcome_of(sent.recipient) is not SimulatorOutcome.COMPLAINT:
        raise ValueError(f"{sent.recipient!r} is not the simulator's complaint address")
    to = dsn.return_path(sent.feedback_to)
    date = date or _now()
    original = _original_header(sent.raw)
    arrival = format_datetime(sent.arrived)
    reported = _domain(sent.mail_from)
    explanation = f"This is an email abuse report for an email message from {reported} on {arrival}"
    fields = [
        ("Feedback-Type", "abuse"),
        ("User-Agent", SIMULATOR_USER_AGENT),
        ("Version", "1"),
        ("Original-Mail-From", f"<{sent.mail_from}>"),
        ("Original-Rcpt-To", sent.recipient),
        ("Arrival-Date", arrival),
        ("Reported-Domain", reported),
    ]
    inline = ("Content-Disposition", "inline")
    parts = [
        mime_part(
            [
                ("Content-Type", "text/plain; charset=us-ascii"),
                ("Content-Transfer-Encoding", "7bit"),
                inline,
            ],
            explanation + CRLF,
        ),
        mime_part(
            [
                ("Content-Type", "message/feedback-report"),
                ("Content-Transfer-Encoding", "7bit"),
                inline,
            ],
            "".join(f"{name}: {value}{CRLF}" for name, value in fields),
        ),
        returned_part(Original.of(sent.raw), True, description="Complained Message"),
    ]
    head = [
        _header_line("Date", format_datetime(date)),
        _header_line("From", COMPLAINTS_FROM),
        _header_line("To", to),
        _header_line(
            "Message-ID",
            message_id or dsn.ses_message_id(sent.region, date, host=_mail_host(sent.region)),
        ),
        _header_line("Subject", f"Fw: {original.get('Subject', '')}".rstrip()),
    ]
    return multipart_report(
        head, parts, report_type="feedback-report", boundary=boundary or ses_boundary(date)
    )


AUTO_REPLY_TEXT = (
    "I am out of the office and will reply to your message when I return."
    "\n\nThis is an automatic response from the Amazon SES mailbox simulator.\n"
)
_MSGID = re.compile(r"<[^<>\s]+>")


def build_auto_reply(
    sent: Sent, *, date: datetime | None = None, message_id: str | None = None
) -> EmailMessage | None:
    """The RFC 3834 "out of the office" reply for ``ooto@`` (and its ``+label`` forms).

    From the simulator address as it was written, to ``feedback_to``; ``Auto-Submitted:
    auto-replied`` (§5), ``In-Reply-To`` / ``References`` to the original's Message-ID and
    ``Subject: Auto: <subject>`` (§3.1, whose prefix "Auto:" is a MAY). ``None`` when RFC 3834
    §2 says not to answer: the original is itself auto-submitted (anything but ``no``).
    Send it with ``MAIL FROM:<>`` like the other two, so that nothing answers it back.
    """
    if outcome_of(sent.recipient) is not SimulatorOutcome.OOTO:
        raise ValueError(f"{sent.recipient!r} is not the simulator's ooto address")
    original = _original_header(sent.raw)
    if str(original.get("Auto-Submitted", "no")).strip().lower().split(";")[0] != "no":
        return None
    reply = EmailMessage(policy=email_policy.SMTP)
    reply["Date"] = format_datetime(date or _now())
    reply["From"] = sent.recipient
    reply["To"] = dsn.return_path(sent.feedback_to)
    reply["Message-ID"] = message_id or make_msgid(domain=SIMULATOR_DOMAIN)
    reply["Subject"] = f"Auto: {original.get('Subject', '')}".rstrip()
    original_id = _MSGID.search(str(original.get("Message-ID", "")))
    if original_id:
        reply["In-Reply-To"] = original_id.group(0)
        earlier = _MSGID.findall(str(original.get("References", "")))
        reply["References"] = " ".join([*earlier, original_id.group(0)])
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content(AUTO_REPLY_TEXT, cte="7bit")
    return reply
