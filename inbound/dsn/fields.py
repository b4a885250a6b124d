"""The DSN's data: per-message and per-recipient fields (RFC 3464 §2.2-2.4), validated.

Every rule that can be checked on a value alone is checked when the object is built, so an
invalid DSN cannot even be described: the error names the DSN field (``Status``,
``Will-Retry-Until``, …).  Values are stored exactly as they will be written; the only
normalisations are documented on the field.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .errors import DsnError

# RFC 3464 §2.3.4 / RFC 3463 §2: class "." subject "." detail, no leading zeros.
_STATUS = re.compile(r"[245]\.(?:0|[1-9]\d{0,2})\.(?:0|[1-9]\d{0,2})")
# RFC 3464 §2.1.2: address-type, diagnostic-type and mta-name-type are atoms.
_ATOM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_TYPED = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._+-]*)\s*;\s*(\S.*)", re.S)
# RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39; a reply line is "code SP/- text".
_REPLY_LINE = re.compile(r"([2-5][0-5][0-9])(?:([ -])(.*))?", re.S)
_ENHANCED = re.compile(r"([245])\.\d{1,3}\.\d{1,3}(?=\s|$)")
# Extension names: RFC 3464 §2.4 (unregistered names start "X-") within SES's ExtensionField
# limits (1-50 characters of [A-Za-z0-9-]; spec dsn.md §2.1).
_EXTENSION_NAME = re.compile(r"X-[A-Za-z0-9-]{1,48}", re.I)
_EXTENSION_VALUE_MAX = 2048  # SES ExtensionField.Value limit (spec dsn.md §2.1)
# RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
REPLY_LINE_MAX = 510
# RFC 3461 §4.4: ENVID is at most 100 characters of printable ASCII.
_ENVID_MAX = 100


class Action(StrEnum):
    """RFC 3464 §2.3.3 ``Action`` values."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


# Status classes each action may carry.  RFC 3464 §2.3.3 note: a 4.x.x status may go with
# "failed" (the MTA gave up on a transient problem - SES's TemporaryFailure does exactly this).
_ACTION_CLASSES = {
    Action.FAILED: "45",
    Action.DELAYED: "4",
    Action.DELIVERED: "2",
    Action.RELAYED: "2",
    Action.EXPANDED: "2",
}


def _text(field: str, value: str, *, multiline: bool = False) -> str:
    """Printable US-ASCII only: message/delivery-status is 7bit (RFC 3464 §2.1), and CR/LF
    inside a value would inject fields (spec dsn.md §4.7)."""
    if not isinstance(value, str):
        raise DsnError(field, f"expected str, got {type(value).__name__}")
    allowed = "\t\n" if multiline else "\t"
    bad = [c for c in value if not (" " <= c <= "~" or c in allowed)]
    if bad:
        raise DsnError(field, f"character {bad[0]!r} not allowed (printable US-ASCII only)")
    return value


def _typed(field: str, value: str, *, default_type: str | None = None) -> str:
    """A ``type; value`` field such as ``dns; mx.example.net`` (RFC 3464 §2.1.2)."""
    _text(field, value)
    if default_type and ";" not in value and value.strip() and " " not in value.strip():
        value = f"{default_type}; {value.strip()}"  # a bare host name
    if not _TYPED.fullmatch(value):
        raise DsnError(field, f"expected 'type; value', got {value!r}")
    return value


def check_address(field: str, value: str) -> str:
    """An envelope address, kept exactly as received (RFC 3464 §2.3.2, RFC 3461 §6.3(e)).

    Any Unicode is allowed (RFC 6533 addresses are written in xtext form), but no control
    characters, and no ``<>``: the ``rfc822`` type expects a bare addr-spec (spec dsn.md §4.7).
    """
    if not isinstance(value, str) or not value.strip():
        raise DsnError(field, "address is empty")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise DsnError(field, f"control character in address {value!r}")
    if value.startswith("<") or value.endswith(">") or value != value.strip():
        raise DsnError(field, f"give the bare address without <> or spaces: {value!r}")
    return value


def _date(field: str, value: datetime | None) -> None:
    # RFC 3464 §2.2.5, §2.3.7, §2.3.9: numeric zones MUST be used, so the zone must be known.
    if value is not None and (not isinstance(value, datetime) or value.utcoffset() is None):
        raise DsnError(field, "needs a timezone-aware datetime (numeric zone required)")


def _extensions(field: str, items: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in items:
        if not _EXTENSION_NAME.fullmatch(name):
            raise DsnError(
                name or field, "extension names are X-[A-Za-z0-9-], at most 50 characters"
            )
        _text(name, value)
        if len(value) > _EXTENSION_VALUE_MAX:
            raise DsnError(name, f"longer than {_EXTENSION_VALUE_MAX} characters")
        out.append((name, value))
    return tuple(out)


def split_reply(reply: str) -> list[str]:
    """Re-split one SMTP reply into lines of at most :data:`REPLY_LINE_MAX` characters.

    A longer line becomes a multi-line reply (RFC 5321 §4.2.1: ``550-5.1.1 …`` then
    ``550 5.1.1 …``) broken at spaces; a single word longer than a line is truncated
    (spec dsn.md §4.3).  Lines that already fit are kept exactly.
    """
    lines = reply.split("\n")
    out: list[str] = []
    for n, line in enumerate(lines):
        m = _REPLY_LINE.fullmatch(line)
        if len(line) <= REPLY_LINE_MAX or not m:  # not a reply line: left for validation
            out.append(line)
            continue
        code, _sep, text = m.groups()
        enhanced = _ENHANCED.match(text)
        prefix = f"{enhanced.group(0)} " if enhanced else ""
        body = text[len(prefix) :] if enhanced else text
        room = REPLY_LINE_MAX - len(code) - 1 - len(prefix)
        chunks = textwrap.wrap(body, room, break_on_hyphens=False, break_long_words=True)
        last = n == len(lines) - 1
        for i, chunk in enumerate(chunks):
            sep = " " if last and i == len(chunks) - 1 else "-"
            out.append(f"{code}{sep}{prefix}{chunk}")
    return out


def _smtp_diagnostic(reply: str, status: str) -> str:
    lines = split_reply(_text("Diagnostic-Code", reply, multiline=True))
    codes = set()
    for i, line in enumerate(lines):
        m = _REPLY_LINE.fullmatch(line)
        if not m:
            raise DsnError("Diagnostic-Code", f"SMTP reply line must start with a code: {line!r}")
        code, sep, text = m.groups()
        if (sep == "-" and i == len(lines) - 1) or (sep == " " and i < len(lines) - 1):
            raise DsnError("Diagnostic-Code", "only the last reply line has 'code SP' (RFC 5321)")
        enhanced = _ENHANCED.match(text or "")
        # RFC 2034 §4: the enhanced code agrees with the reply code's class.
        if enhanced and enhanced.group(1) != code[0]:
            raise DsnError("Diagnostic-Code", f"{code} with {enhanced.group(0)}: classes differ")
        codes.add(code)
    if len(codes) > 1:
        raise DsnError("Diagnostic-Code", f"one reply has one code, got {sorted(codes)}")
    code = codes.pop()
    # Spec dsn.md §1.8: Status and the reply it explains are the same class.
    if code[0] != status[0]:
        raise DsnError("Diagnostic-Code", f"reply {code} disagrees with Status {status}")
    return "\n".join(lines)


@dataclass(frozen=True)
class PerMessage:
    """Per-message fields (RFC 3464 §2.2).

    ``reporting_mta`` (required) and the other MTA fields are ``"type; name"``; a bare host
    name is taken as ``dns; <name>`` (RFC 3461 §6.3(b): ``dns`` whenever the FQDN is known).
    ``original_envelope_id`` is the xtext-decoded ENVID and MUST only be set when the message
    came with one (RFC 3461 §6.3(a)).  ``received_from_mta`` should be
    ``dns; <HELO name> (<client IP>)`` (RFC 3464 §2.2.4).
    """

    reporting_mta: str
    original_envelope_id: str | None = None
    dsn_gateway: str | None = None
    received_from_mta: str | None = None
    arrival_date: datetime | None = None
    extensions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "reporting_mta", _typed("Reporting-MTA", self.reporting_mta, default_type="dns"))
        for name, attr in (
            ("DSN-Gateway", "dsn_gateway"),
            ("Received-From-MTA", "received_from_mta"),
        ):
            if getattr(self, attr) is not None:
                set_(self, attr, _typed(name, getattr(self, attr), default_type="dns"))
        envid = self.original_envelope_id
        if envid is not None and not (
            0 < len(envid) <= _ENVID_MAX and all("!" <= c <= "~" for c in envid)
        ):
            raise DsnError("Original-Envelope-Id", "1-100 printable ASCII characters (RFC 3461)")
        _date("Arrival-Date", self.arrival_date)
        set_(self, "extensions", _extensions("per-message extension", self.extensions))


@dataclass(frozen=True)
class RecipientStatus:
    """Per-recipient fields (RFC 3464 §2.3): what happened to one recipient.

    ``final_recipient`` is the envelope recipient exactly as accepted; ``original_recipient``
    is the (xtext-decoded) ORCPT and MUST only be set when one was given (RFC 3461 §6.3(d)).
    Both may be Unicode: non-ASCII addresses are written as RFC 6533 ``utf-8`` xtext.

    ``diagnostic_code`` is the text after ``<diagnostic_type>;``.  For ``smtp`` it is the
    remote reply, one reply line per ``\\n``-separated line (RFC 3461 §9.2); lines longer than
    an SMTP reply line are re-split when the object is built (:func:`split_reply`).
    """

    final_recipient: str
    action: Action
    status: str
    original_recipient: str | None = None
    remote_mta: str | None = None
    diagnostic_code: str | None = None
    diagnostic_type: str = "smtp"
    last_attempt_date: datetime | None = None
    final_log_id: str | None = None
    will_retry_until: datetime | None = None
    extensions: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        check_address("Final-Recipient", self.final_recipient)
        if self.original_recipient is not None:
            check_address("Original-Recipient", self.original_recipient)
        try:
            set_(self, "action", Action(str(self.action).lower()))
        except ValueError:
            raise DsnError("Action", f"{self.action!r} is not one of {list(Action)}") from None
        if not isinstance(self.status, str) or not _STATUS.fullmatch(self.status):
            raise DsnError("Status", f"{self.status!r} is not class.subject.detail (RFC 3463)")
        if self.status[0] not in _ACTION_CLASSES[self.action]:
            raise DsnError("Status", f"{self.status} cannot go with Action {self.action}")
        if self.remote_mta is not None:
            set_(self, "remote_mta", _typed("Remote-MTA", self.remote_mta, default_type="dns"))
        if not _ATOM.fullmatch(self.diagnostic_type):
            raise DsnError("Diagnostic-Code", f"type {self.diagnostic_type!r} is not an atom")
        if self.diagnostic_code is not None:
            if self.diagnostic_type.lower() == "smtp":
                code = _smtp_diagnostic(self.diagnostic_code, self.status)
            else:
                code = _text("Diagnostic-Code", self.diagnostic_code)
            set_(self, "diagnostic_code", code)
        _date("Last-Attempt-Date", self.last_attempt_date)
        _date("Will-Retry-Until", self.will_retry_until)
        # RFC 3464 §2.3.9: Will-Retry-Until MUST NOT appear with any action but "delayed".
        if self.will_retry_until is not None and self.action is not Action.DELAYED:
            raise DsnError(
                "Will-Retry-Until", f"only allowed with Action delayed, not {self.action}"
            )
        if self.final_log_id is not None:
            _text("Final-Log-ID", self.final_log_id)
        set_(self, "extensions", _extensions("per-recipient extension", self.extensions))


@dataclass(frozen=True)
class DeliveryReport:
    """The content of one ``message/delivery-status`` part: one message, 1+ recipients."""

    per_message: PerMessage
    recipients: tuple[RecipientStatus, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipients", tuple(self.recipients))
        if not self.recipients:
            raise DsnError("recipients", "a DSN reports on at least one recipient (RFC 3464 §2.1)")
        finals = [r.final_recipient for r in self.recipients]
        dupes = sorted({a for a in finals if finals.count(a) > 1})
        # RFC 3464 §3: at most one report per recipient; parsers collapse duplicates anyway.
        if dupes:
            raise DsnError("Final-Recipient", f"reported more than once: {dupes}")

    @property
    def has_failure(self) -> bool:
        return any(r.action is Action.FAILED for r in self.recipients)
