"""Write a :class:`DeliveryReport` as the body of a ``message/delivery-status`` part.

The text is assembled here rather than by the ``email`` package's header machinery: both of
its policies break DSN fields (RFC 2047-encoding ``smtp; …`` values, or re-folding inside a
reply line), see spec dsn.md §4.2-4.3 and §5.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from .errors import DsnError
from .fields import DeliveryReport, PerMessage, RecipientStatus
from .xtext import encode_utf8_addr_xtext

CRLF = "\r\n"
LINE_MAX = 998  # RFC 5322 §2.1.1 MUST (octets, excluding CRLF)
_FOLD_AT = 78  # RFC 5322 §2.1.1 SHOULD, for free text we may fold

# RFC 3464 §2.2 / §2.3 ABNF order.
PER_MESSAGE_ORDER = (
    "Original-Envelope-Id",
    "Reporting-MTA",
    "DSN-Gateway",
    "Received-From-MTA",
    "Arrival-Date",
)
RFC3464_RECIPIENT_ORDER = (
    "Original-Recipient",
    "Final-Recipient",
    "Action",
    "Status",
    "Remote-MTA",
    "Diagnostic-Code",
    "Last-Attempt-Date",
    "Final-Log-ID",
    "Will-Retry-Until",
)


def address_field(address: str) -> str:
    """``rfc822; addr`` for ASCII, else RFC 6533 §3 ``utf-8; <utf-8-addr-xtext>``.

    The xtext form is the only one allowed in a 7-bit delivery-status part (RFC 6533 §3 item 3).
    """
    if address.isascii():
        return f"rfc822; {address}"
    return f"utf-8; {encode_utf8_addr_xtext(address)}"


def _fold_text(name: str, value: str) -> str:
    """Fold free text to ~78 columns by putting CRLF before some of its spaces, so that
    unfolding (removing the CRLFs, RFC 5322 §2.2.3) gives the value back exactly."""
    words = value.split(" ")
    lines = [words[0]]
    width = len(name) + 2 + len(words[0])
    for word in words[1:]:
        # never fold before an empty word: a line may not be all white space (RFC 5322 §3.2.2)
        if width + 1 + len(word) > _FOLD_AT and word and lines[-1].strip():
            lines.append(" " + word)
            width = 1 + len(word)
        else:
            lines[-1] += " " + word
            width += 1 + len(word)
    return CRLF.join(lines)


def _diagnostic(r: RecipientStatus) -> str:
    code = r.diagnostic_code or ""
    if r.diagnostic_type.lower() == "smtp":
        # RFC 3461 §9.2: one reply line per physical line, continuation lines start with SP.
        return f"{r.diagnostic_type}; " + (CRLF + " ").join(code.split("\n"))
    return _fold_text("Diagnostic-Code", f"{r.diagnostic_type}; {code}")


def _date(value: datetime | None) -> str | None:
    # RFC 3464 §2.2.5, §2.3.7, §2.3.9: RFC 5322 date-time, 4-digit year, numeric zone
    # ("+0000"; formatdate() would give "-0000" = unknown zone, spec dsn.md §4.9).
    return format_datetime(value) if value is not None else None


def _recipient_values(r: RecipientStatus) -> dict[str, str | None]:
    return {
        "Original-Recipient": address_field(r.original_recipient)
        if r.original_recipient is not None
        else None,
        "Final-Recipient": address_field(r.final_recipient),
        "Action": str(r.action),
        "Status": r.status,
        "Remote-MTA": r.remote_mta,
        "Diagnostic-Code": _diagnostic(r) if r.diagnostic_code is not None else None,
        "Last-Attempt-Date": _date(r.last_attempt_date),
        "Final-Log-ID": _fold_text("Final-Log-ID", r.final_log_id)
        if r.final_log_id is not None
        else None,
        "Will-Retry-Until": _date(r.will_retry_until),
    }


def _per_message_values(m: PerMessage) -> dict[str, str | None]:
    return {
        "Original-Envelope-Id": m.original_envelope_id,
        "Reporting-MTA": m.reporting_mta,
        "DSN-Gateway": m.dsn_gateway,
        "Received-From-MTA": m.received_from_mta,
        "Arrival-Date": _date(m.arrival_date),
    }


def _block(
    values: dict[str, str | None],
    order: Sequence[str],
    extensions: tuple[tuple[str, str], ...],
) -> str:
    fields = [(name, values[name]) for name in order if values[name] is not None]
    fields += [(name, _fold_text(name, value)) for name, value in extensions]
    lines = [f"{name}: {value}" for name, value in fields]
    for (name, _), line in zip(fields, lines, strict=True):
        if any(len(physical) > LINE_MAX for physical in line.split(CRLF)):
            raise DsnError(name, f"cannot be written in lines of at most {LINE_MAX} octets")
    return CRLF.join(lines) + CRLF


def render(
    report: DeliveryReport,
    recipient_order: Sequence[str] = RFC3464_RECIPIENT_ORDER,
) -> str:
    """The delivery-status body: per-message block, then one block per recipient, each
    preceded by exactly one blank line (RFC 3464 §2.1), no trailing blank line."""
    if sorted(recipient_order) != sorted(RFC3464_RECIPIENT_ORDER):
        raise ValueError(f"recipient_order must permute {RFC3464_RECIPIENT_ORDER}")
    pm = report.per_message
    blocks = [_block(_per_message_values(pm), PER_MESSAGE_ORDER, pm.extensions)]
    blocks += [
        _block(_recipient_values(r), recipient_order, r.extensions) for r in report.recipients
    ]
    return CRLF.join(blocks)
