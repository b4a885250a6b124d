"""Amazon SES's bounces: the receipt-rule Bounce action templates, SendBounce's BounceType
defaults, and :func:`ses_receipt_bounce`, which builds a DSN laid out like SES's.

Evidence: spec dsn.md §2 and the real SES DSNs ``dsn-samples/sisimai-lhost-receivingses-*``.
Where SES departs from the RFCs (spec §2.4) each choice is noted where it is made:

1. ``Arrival-Date: Thu, 01 Oct 15 13:48:54 UTC`` - FIXED: we write RFC 5322 with a 4-digit
   year and ``+0000`` (RFC 3464 §2.2.5 MUST; ``dsn_check.py`` lint rejects "UTC").
2. ``Original-Recipient`` always equal to ``Final-Recipient`` - MIMICKED: RFC 3464 §3 wants
   it only with an ORCPT, but the value is never wrong and SES's clients (and flufl.bounce,
   which prefers it) see it on every SES bounce.
3. ``Action: failed`` with ``Status: 4.0.0`` - MIMICKED (allowed, RFC 3464 §2.3.3 note).
4. ``500`` with ``5.6.1`` - MIMICKED: it is the console template's value and class-consistent.
5. Field order ``Action`` first - MIMICKED for SES bounces (:data:`SES_RECIPIENT_ORDER`); every
   parser is order-agnostic.  :func:`~inbound.dsn.build_dsn` defaults to RFC 3464 order.
6. ``Reporting-MTA: dsn; …`` (outbound bounces only) - FIXED: we always write ``dns;``.
7. Extra blank line after the last group - FIXED: it gives the stdlib an empty block.

Not reproduced: ``X-SES-Outgoing`` / ``Feedback-ID`` / the amazonses.com DKIM signature, which
SES's outbound path adds when it sends the bounce, not when it builds it.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from enum import StrEnum
from types import MappingProxyType

from .build import Ret, build_dsn, return_path
from .errors import DsnError
from .fields import Action, DeliveryReport, PerMessage, RecipientStatus

SES_SUBJECT = "Delivery Status Notification (Failure)"  # receivingses-01..08
SES_EXPLANATION = "This message could not be delivered."  # receivingses-01..08, first part
# receivingses-01..08 write Action, Final-Recipient, Original-Recipient, Diagnostic-Code,
# Status; the fields SES never showed keep their RFC 3464 places around those.
SES_RECIPIENT_ORDER = (
    "Action",
    "Final-Recipient",
    "Original-Recipient",
    "Remote-MTA",
    "Diagnostic-Code",
    "Status",
    "Last-Attempt-Date",
    "Final-Log-ID",
    "Will-Retry-Until",
)
_REPLY_CODE = re.compile(r"[45][0-5][0-9]")  # RFC 5321 §4.2 ∩ Mail Manager's [45][0-9][0-9]
_STATUS_CODE = re.compile(r"[45]\.(?:0|[1-9]\d{0,2})\.(?:0|[1-9]\d{0,2})")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)+")


@dataclass(frozen=True)
class SesTemplate:
    """The three fields of a Bounce action (SmtpReplyCode, StatusCode, Message).

    SES writes them into ``Diagnostic-Code: smtp; <code> <status> <message>`` and ``Status``
    (receivingses-01..08).  Errors name the SES field.
    """

    smtp_reply_code: str
    status_code: str
    message: str

    def __post_init__(self) -> None:
        if not _REPLY_CODE.fullmatch(self.smtp_reply_code):
            raise DsnError("SmtpReplyCode", f"{self.smtp_reply_code!r} is not a 4xx/5xx code")
        if not _STATUS_CODE.fullmatch(self.status_code):
            raise DsnError("StatusCode", f"{self.status_code!r} is not a 4.x.x/5.x.x code")
        if self.status_code[0] != self.smtp_reply_code[0]:
            # RFC 2034 §4: the enhanced code agrees with the reply code's class.
            raise DsnError(
                "StatusCode", f"{self.status_code} disagrees with {self.smtp_reply_code}"
            )
        if not self.message or not all(" " <= c <= "~" for c in self.message):
            raise DsnError("Message", "1+ printable US-ASCII characters, no CR/LF")

    @property
    def diagnostic(self) -> str:
        """The Diagnostic-Code text, e.g. ``550 5.1.1 Mailbox does not exist``."""
        return f"{self.smtp_reply_code} {self.status_code} {self.message}"

    def recipient(self, address: str) -> RecipientStatus:
        """The per-recipient block SES writes for ``address`` (receivingses-01..08)."""
        return RecipientStatus(
            final_recipient=address,
            original_recipient=address,  # §2.4 item 2: mimicked
            action=Action.FAILED,  # also for 4.0.0 (§2.4 item 3, receivingses-03)
            status=self.status_code,
            diagnostic_code=self.diagnostic,
        )


# Console / AWS CDK ``BounceTemplate`` values (spec dsn.md §2.1), seen verbatim in the samples.
MAILBOX_DOES_NOT_EXIST = SesTemplate("550", "5.1.1", "Mailbox does not exist")  # -01
MESSAGE_TOO_LARGE = SesTemplate("552", "5.3.4", "Message too large")  # -05
MAILBOX_FULL = SesTemplate("552", "5.2.2", "Mailbox full")  # -04
MESSAGE_CONTENT_REJECTED = SesTemplate("500", "5.6.1", "Message content rejected")  # -06
TEMPORARY_FAILURE = SesTemplate("450", "4.0.0", "Temporary failure")  # -03
# Console "Unknown Failure" template: codes from the Developer Guide, text UNCONFIRMED.
UNKNOWN_FAILURE = SesTemplate("554", "5.0.0", "Unknown failure")


class BounceType(StrEnum):
    """SendBounce ``BouncedRecipientInfo.BounceType`` values."""

    DOES_NOT_EXIST = "DoesNotExist"
    MESSAGE_TOO_LARGE = "MessageTooLarge"
    EXCEEDED_QUOTA = "ExceededQuota"
    CONTENT_REJECTED = "ContentRejected"
    UNDEFINED = "Undefined"
    TEMPORARY_FAILURE = "TemporaryFailure"


# Spec dsn.md §2.3: assumed to reuse the receipt-rule templates (UNCONFIRMED for SendBounce).
BOUNCE_TYPE_TEMPLATES: Mapping[BounceType, SesTemplate] = MappingProxyType(
    {
        BounceType.DOES_NOT_EXIST: MAILBOX_DOES_NOT_EXIST,
        BounceType.MESSAGE_TOO_LARGE: MESSAGE_TOO_LARGE,
        BounceType.EXCEEDED_QUOTA: MAILBOX_FULL,
        BounceType.CONTENT_REJECTED: MESSAGE_CONTENT_REJECTED,
        BounceType.UNDEFINED: UNKNOWN_FAILURE,
        BounceType.TEMPORARY_FAILURE: TEMPORARY_FAILURE,
    }
)


def _region(region: str) -> str:
    if not _REGION.fullmatch(region):
        raise DsnError("region", f"{region!r} is not an AWS region name")
    return region


def ses_reporting_mta(region: str) -> str:
    """SendBounce's documented default ``dns; inbound-smtp.<region>.amazonaws.com``."""
    return f"dns; inbound-smtp.{_region(region)}.amazonaws.com"


def ses_message_id(region: str, when: datetime, *, host: str | None = None) -> str:
    """``<0101 + 12 hex ms - uuid -000000@<region>.amazonses.com>`` (receivingses-08; the
    2015 samples start ``0000`` instead).  ``host`` replaces ``<region>.amazonses.com``
    (SES's outbound bounces from us-east-1 use ``email.amazonses.com``, amazonses-20)."""
    millis = int(when.timestamp() * 1000)
    host = host or f"{_region(region)}.amazonses.com"
    return f"<0101{millis:012x}-{uuid.uuid4()}-000000@{host}>"


def ses_boundary(when: datetime) -> str:
    """JavaMail-style, as in every SES sample (DSNs and forwarded complaints alike):
    ``----=_Part_<n>_<hash>.<epoch ms>``."""
    millis = int(when.timestamp() * 1000)
    return f"----=_Part_{secrets.randbelow(10)}_{secrets.randbelow(2**31)}.{millis}"


def ses_receipt_bounce(
    original: bytes,
    *,
    sender: str,
    envelope_sender: str,
    recipients: Sequence[str],
    smtp_reply_code: str,
    status_code: str | None,
    message: str,
    region: str,
    reporting_mta: str | None = None,
    arrival_date: datetime | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
) -> EmailMessage:
    """The DSN a receipt-rule Bounce action sends: one DSN, one block per recipient.

    ``sender`` is the action's Sender (``From:``), ``envelope_sender`` the original
    ``MAIL FROM`` (``To:``; ``""``/``"<>"`` raise :class:`~inbound.dsn.NullReversePath`).
    ``status_code=None`` becomes ``<class>.0.0`` of the reply code (RFC 3463 §3.1 "other
    undefined status", the code RFC 3461 §6.3(g) prescribes when nothing more specific fits).
    ``reporting_mta=None`` is SES's ``dns; inbound-smtp.<region>.amazonaws.com``; a bare host
    name means ``dns; <host>``.  Only the original's header is returned (SES always does,
    receivingses-01..08).  ``arrival_date``/``date`` default to now; ``message_id`` and
    ``boundary`` default to SES-style random values (fixed ones make output reproducible).
    """
    return_path(envelope_sender)  # never bounce a bounce, whatever else is wrong (RFC 5321 §6.1)
    status = status_code if status_code is not None else f"{smtp_reply_code[:1]}.0.0"
    template = SesTemplate(smtp_reply_code, status, message)
    now = datetime.now(UTC).replace(microsecond=0)  # DSN dates carry whole seconds
    date = date or now
    report = DeliveryReport(
        PerMessage(
            reporting_mta=reporting_mta or ses_reporting_mta(region),
            arrival_date=arrival_date or now,
        ),
        tuple(template.recipient(address) for address in recipients),
    )
    return ses_bounce(
        report,
        original,
        sender=sender,
        envelope_sender=envelope_sender,
        region=region,
        date=date,
        message_id=message_id,
        boundary=boundary,
    )


def ses_bounce(
    report: DeliveryReport,
    original: bytes | None,
    *,
    sender: str,
    envelope_sender: str,
    region: str,
    explanation: str = SES_EXPLANATION,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
    ret: Ret = Ret.HDRS,
) -> EmailMessage:
    """Any DSN in SES's layout: the receipt-rule Bounce action's and `SendBounce`'s (for which
    no sample exists; spec dsn.md §2.3 recommends the same format), and the outbound bounces
    SES relays from a recipient's server (``ret=Ret.FULL``: amazonses-05..21 return the whole
    message). SES's subject, Message-ID and boundary forms, no Auto-Submitted."""
    date = date or datetime.now(UTC).replace(microsecond=0)
    return build_dsn(
        report,
        original=original,
        envelope_sender=envelope_sender,
        sender=sender,
        subject=SES_SUBJECT,
        explanation=explanation,
        ret=ret,
        date=date,
        message_id=message_id or ses_message_id(region, date),
        boundary=boundary or ses_boundary(date),
        recipient_order=SES_RECIPIENT_ORDER,
        auto_submitted=False,  # no Auto-Submitted in any SES sample
    )


def bounce_type_recipient(address: str, bounce_type: BounceType | str) -> RecipientStatus:
    """SendBounce's per-recipient fields for a recipient given only a ``BounceType``."""
    try:
        template = BOUNCE_TYPE_TEMPLATES[BounceType(bounce_type)]
    except ValueError:
        raise DsnError("BounceType", f"{bounce_type!r} is not one of {list(BounceType)}") from None
    return template.recipient(address)
