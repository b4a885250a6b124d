"""Read a DSN back into a :class:`DeliveryReport`.

Lenient where real bounces are sloppy (SES's ``UTC`` zone and 2-digit year, ``<addr>`` in
``Final-Recipient``, comments, any field order, extra blank lines, CRLF or LF), strict where a
value would be meaningless: such a field raises :class:`DsnParseError` naming it.
"""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header, decode_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import parsedate_to_datetime

from .errors import DsnError, DsnParseError
from .fields import Action, DeliveryReport, PerMessage, RecipientStatus
from .xtext import decode_utf8_addr

_DS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_TYPED = re.compile(r"\s*([^\s;]+)\s*;\s*(.*)", re.S)
_COMMENT = re.compile(r"\s*\(.*\)\s*$", re.S)
_REPLY_START = re.compile(r"[2-5][0-5][0-9](?:[ -]|$)")


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def _text(value: str | Header) -> str:
    """A field's value as text. The stdlib (compat32) gives a `Header`, not a str, for a value
    with 8-bit bytes (UTF-8 in a `message/delivery-status` block, against RFC 3464, or raw
    garbage): its bytes are read as UTF-8, an invalid sequence as U+FFFD."""
    if isinstance(value, str):
        return value
    raw = b"".join(
        part if isinstance(part, bytes) else part.encode() for part, _ in decode_header(value)
    )
    return raw.decode("utf-8", "replace")


def _field(block: Message, name: str) -> str | None:
    value = block.get(name)
    return None if value is None else _text(value)


def _typed(name: str, value: str) -> tuple[str, str]:
    m = _TYPED.fullmatch(_unfold(value))
    if not m:
        raise DsnParseError(name, f"expected 'type; value', got {value!r}")
    return m.group(1), m.group(2).strip()


def _address(name: str, value: str) -> str:
    kind, address = _typed(name, value)
    if kind.lower() == "utf-8":
        return decode_utf8_addr(address)  # RFC 6533 §3: xtext, unitext or raw
    if address.startswith("<") and address.endswith(">"):  # seen in the wild (flufl dsn_11)
        address = address[1:-1]
    return address


def _date(name: str, value: str) -> datetime:
    try:
        parsed = parsedate_to_datetime(_unfold(value))
    except (TypeError, ValueError) as e:
        raise DsnParseError(name, f"not a date-time: {value!r}") from e
    # "-0000" (zone unknown) parses naive; read it as UTC rather than refuse the report.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _diagnostic(value: str) -> tuple[str, str]:
    """Diagnostic-Code: one reply line per physical line (RFC 3461 §9.2); a continuation that
    does not start with a reply code is ordinary folding and is unfolded."""
    first, *rest = re.split(r"\r?\n", value.strip())
    kind, text = _typed("Diagnostic-Code", first)
    if kind.lower() != "smtp":
        return kind, _unfold(value.split(";", 1)[1])
    lines = [text] if text else []
    for line in rest:
        line = line.strip()
        if _REPLY_START.match(line) or not lines:
            lines.append(line)
        else:
            lines[-1] += " " + line
    return kind, "\n".join(lines)


def _extensions(block: Message) -> tuple[tuple[str, str], ...]:
    # RFC 3464 §2.4: X- fields are extensions; other unknown (registered) fields are skipped.
    return tuple((k, _unfold(_text(v))) for k, v in block.items() if k[:2].upper() == "X-")


def _per_message(block: Message) -> PerMessage:
    def get(name: str) -> str | None:
        v = _field(block, name)
        return _unfold(v) if v is not None else None

    reporting = get("Reporting-MTA")
    if reporting is None:
        raise DsnParseError("Reporting-MTA", "missing (required, RFC 3464 §2.2.2)")
    arrival = _field(block, "Arrival-Date")
    return PerMessage(
        reporting_mta=reporting,
        original_envelope_id=get("Original-Envelope-Id"),
        dsn_gateway=get("DSN-Gateway"),
        received_from_mta=get("Received-From-MTA"),
        arrival_date=_date("Arrival-Date", arrival) if arrival is not None else None,
        extensions=_extensions(block),
    )


def _action(value: str | None) -> Action:
    try:
        return Action((value or "").lower())
    except ValueError:
        raise DsnParseError("Action", f"{value!r} is not one of {list(Action)}") from None


def _recipient(block: Message) -> RecipientStatus:
    def get(name: str) -> str | None:
        v = _field(block, name)
        return _COMMENT.sub("", _unfold(v)) if v is not None else None

    final = _field(block, "Final-Recipient")
    if final is None:
        raise DsnParseError("Final-Recipient", "missing (required, RFC 3464 §2.3.2)")
    original = _field(block, "Original-Recipient")
    diagnostic = _field(block, "Diagnostic-Code")
    kind, code = _diagnostic(diagnostic) if diagnostic is not None else ("smtp", None)
    dates = {
        attr: _date(name, value)
        for attr, name in (
            ("last_attempt_date", "Last-Attempt-Date"),
            ("will_retry_until", "Will-Retry-Until"),
        )
        if (value := _field(block, name)) is not None
    }
    return RecipientStatus(
        final_recipient=_address("Final-Recipient", final),
        original_recipient=_address("Original-Recipient", original) if original else None,
        action=_action(get("Action")),
        status=get("Status") or "",
        remote_mta=get("Remote-MTA"),
        diagnostic_type=kind,
        diagnostic_code=code,
        final_log_id=get("Final-Log-ID"),
        extensions=_extensions(block),
        **dates,
    )


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status" and isinstance(payload, list):
        blocks = [b for b in payload if isinstance(b, Message)]
    else:
        # message/global-delivery-status (RFC 6533 §4.1): the stdlib parses it like
        # message/rfc822, so split the UTF-8 text into blocks here (spec dsn.md §3).
        if isinstance(payload, list) and isinstance(payload[0], Message):
            raw = payload[0].as_bytes(policy=email_policy.compat32)
        else:
            decoded = part.get_payload(decode=True)  # bytes, or None for an empty part
            raw = decoded if isinstance(decoded, bytes) else b""
        text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
        parser = HeaderParser(policy=email_policy.compat32)
        blocks = [parser.parsestr(chunk + "\n") for chunk in re.split(r"\n[ \t]*\n", text)]
    return [b for b in blocks if len(b.keys())]


def parse_dsn(data: bytes | Message) -> DeliveryReport:
    """Parse the first ``multipart/report`` delivery-status report in ``data``.

    Addresses come back decoded (``utf-8`` xtext → Unicode) and without their type; field
    comments are dropped.  Raises :class:`DsnParseError` when there is no report or a field
    cannot be read, naming the field.
    """
    msg = data if isinstance(data, Message) else email.message_from_bytes(data)
    part = next((p for p in msg.walk() if p.get_content_type() in _DS_TYPES), None)
    if part is None:
        raise DsnParseError("Content-Type", "no message/delivery-status part")
    blocks = _blocks(part)
    if len(blocks) < 2:
        raise DsnParseError("message/delivery-status", "needs per-message + recipient blocks")
    try:
        return DeliveryReport(_per_message(blocks[0]), tuple(_recipient(b) for b in blocks[1:]))
    except DsnParseError:
        raise
    except DsnError as e:
        raise DsnParseError(e.field, e.problem) from e
