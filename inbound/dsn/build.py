"""Assemble a DSN: a ``multipart/report`` message (RFC 6522 §3, RFC 3464 §2).

The MIME text is written here byte by byte and then parsed into an ``EmailMessage`` whose
policy writes it back unchanged (``refold_source="none"``), so the ``email`` package's folding
never touches the delivery-status fields (spec dsn.md §5).
"""

from __future__ import annotations

import email
import quopri
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.header import Header
from email.message import EmailMessage, Message
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from typing import Any

from .errors import DsnError, NullReversePath
from .fields import Action, DeliveryReport, check_address
from .render import CRLF, LINE_MAX, RFC3464_RECIPIENT_ORDER, render

# Writes parsed header values back verbatim; utf8 only when an address needs SMTPUTF8.
_POLICY = email_policy.SMTP.clone(refold_source="none")
_POLICY_UTF8 = _POLICY.clone(utf8=True)
# Past this size a full return degrades to headers only (RFC 3461 §6.2 "implementation limit").
DEFAULT_MAX_RETURN_SIZE = 10 * 1024 * 1024


class Ret(StrEnum):
    """What to return of the original: the ``RET`` parameter of RFC 3461 §4.3."""

    FULL = "FULL"
    HDRS = "HDRS"


@dataclass(frozen=True)
class Original:
    """The original message split at its first empty line, line ends made CRLF.

    ``body`` is ``None`` when only the header was supplied.
    """

    header: bytes
    body: bytes | None

    @classmethod
    def of(cls, original: bytes | Message) -> Original:
        if isinstance(original, Message):
            pol = original.policy.clone(linesep="\r\n", mangle_from_=False)
            original = original.as_bytes(policy=pol)
        # CRLF, CR and LF each become CRLF: three passes in C, a fraction of a regex's time on
        # a message of megabytes (a bounce of a 40 MB message builds one of these)
        raw = original.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")
        header, sep, body = raw.partition(b"\r\n\r\n")
        if not sep:
            return cls(header.rstrip(b"\r\n") + b"\r\n", None)
        return cls(header + b"\r\n", body)


def _seven_bit(data: bytes) -> bool:
    return data.isascii() and all(len(line) <= LINE_MAX for line in data.split(b"\r\n"))


def _encode_text(data: bytes) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body): 7bit when legal, else quoted-printable (RFC 2045)."""
    if _seven_bit(data):
        return "7bit", data.decode("ascii")
    encoded = quopri.encodestring(data.replace(b"\r\n", b"\n"))
    return "quoted-printable", encoded.decode("ascii").replace("\n", CRLF)


def _charset(data: bytes) -> str:
    if data.isascii():
        return "us-ascii"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown-8bit"  # RFC 1428
    return "utf-8"


def mime_part(headers: Sequence[tuple[str, str]], body: str) -> str:
    return "".join(f"{name}: {value}{CRLF}" for name, value in headers) + CRLF + body


def returned_part(
    original: Original,
    want_full: bool,
    max_size: int = DEFAULT_MAX_RETURN_SIZE,
    description: str = "Undelivered Message",
) -> str:
    """Third part of a ``multipart/report`` (RFC 6522 §3-4: a DSN's, RFC 3464 §2, or a
    feedback report's, RFC 5965 §2 item 4).

    The full message goes back as ``message/rfc822`` only when it is legal 7-bit MIME: that
    type cannot be base64/QP-encoded (RFC 2046 §5.2.1), and the return path is not known to be
    8BITMIME.  Otherwise only the header goes back, as ``text/rfc822-headers`` - all of it
    (RFC 6522 §4), quoted-printable when 8-bit (RFC 6522 §4 allows; RFC 6522 §3 / spec R5).
    """
    full = original.header + b"\r\n" + (original.body or b"")
    if want_full and original.body is not None and len(full) <= max_size and _seven_bit(full):
        headers = [("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "7bit")]
        body = full.decode("ascii")
    else:
        # SES's layout: the header, then the empty line that ended it (receivingses-01..08).
        cte, body = _encode_text(original.header + b"\r\n")
        charset = _charset(original.header)
        ctype = "text/rfc822-headers" + ("" if charset == "us-ascii" else f"; charset={charset}")
        headers = [("Content-Type", ctype), ("Content-Transfer-Encoding", cte)]
    return mime_part([*headers, ("Content-Description", description)], body)


def return_path(envelope_sender: str) -> str:
    """The address a DSN goes to: the original ``MAIL FROM``, without ``<>`` and with any
    source route cut to its final hop (RFC 3464 §2, RFC 5321 §6.1 / appendix C).

    Raises :class:`NullReversePath` for ``""`` / ``"<>"`` (never bounce a bounce).
    """
    address = envelope_sender.strip()
    if address.startswith("<") and address.endswith(">"):
        address = address[1:-1].strip()
    if address.startswith("@") and ":" in address:
        address = address.split(":", 1)[1]
    if not address:
        raise NullReversePath
    return check_address("envelope_sender", address)


# Default wording keyed by the most important outcome; failure text is SES's (spec §2.2).
_OUTCOMES = (
    (Action.FAILED, "Failure", "This message could not be delivered."),
    (Action.DELAYED, "Delay", "Delivery of this message has been delayed."),
    (Action.DELIVERED, "Success", "This message was delivered."),
    (Action.RELAYED, "Relay", "This message was relayed."),
    (Action.EXPANDED, "Expanded", "This message was delivered to a list."),
)


def _outcome(report: DeliveryReport) -> tuple[str, str]:
    actions = {r.action for r in report.recipients}
    return next((word, text) for action, word, text in _OUTCOMES if action in actions)


def _header(pol: email_policy.EmailPolicy[EmailMessage], name: str, value: str) -> str:
    # RFC 2047-encodes non-ASCII text (H6); an SMTPUTF8 address stays raw under _POLICY_UTF8.
    folded: str = pol.header_factory(name, value).fold(policy=pol)
    return folded


def _subject(pol: email_policy.EmailPolicy[EmailMessage], subject: str) -> str:
    if subject.isascii():
        return _header(pol, "Subject", subject)
    # compat32's Header keeps the spaces inside the encoded-words; EmailPolicy's folder can put
    # one between two encoded-words, where RFC 2047 §6.2 says readers drop it.
    encoded = Header(subject, "utf-8", header_name="Subject").encode(linesep=CRLF)
    return f"Subject: {encoded}{CRLF}"


def build_dsn(
    report: DeliveryReport,
    *,
    original: bytes | Message | None,
    envelope_sender: str,
    sender: str,
    subject: str | None = None,
    explanation: str | None = None,
    ret: Ret | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    boundary: str | None = None,
    recipient_order: Sequence[str] = RFC3464_RECIPIENT_ORDER,
    auto_submitted: bool = True,
    max_return_size: int = DEFAULT_MAX_RETURN_SIZE,
) -> EmailMessage:
    """Build the DSN for ``report`` about ``original`` (bytes, a parsed message, its header
    alone, or ``None`` to omit the third part as RFC 3464 §2 allows).

    ``envelope_sender`` is the original ``MAIL FROM``; the DSN is addressed to it (H1, E2) and
    must be sent with ``MAIL FROM:<>`` (E1), see :func:`dsn_envelope`.  ``sender`` becomes
    ``From:`` (H2).  ``ret`` is the original's RFC 3461 ``RET``: ``None`` (not given) returns
    the full message when a recipient failed and headers otherwise (RFC 6522 §3, RFC 3461
    §6.2).  ``Auto-Submitted: auto-replied`` is added unless ``auto_submitted`` is false
    (RFC 3834 §5: MAY, and never ``auto-generated``).
    """
    to = return_path(envelope_sender)
    pol = _POLICY if to.isascii() and sender.isascii() else _POLICY_UTF8
    word, default_text = _outcome(report)
    explanation = default_text if explanation is None else explanation
    date = date or datetime.now(UTC)
    if date.utcoffset() is None:
        raise DsnError("Date", "needs a timezone-aware datetime")
    reporting_host = report.per_message.reporting_mta.split(";", 1)[1].strip()
    charset = _charset(explanation.encode())
    cte, text = _encode_text(re.sub(r"\r\n|\r|\n", CRLF, explanation).encode())
    parts = [
        mime_part(
            [
                ("Content-Type", f"text/plain; charset={charset}"),
                ("Content-Transfer-Encoding", cte),
                ("Content-Description", "Notification"),
            ],
            text,  # SES ends it without a line break before the boundary (receivingses-01)
        ),
        mime_part(
            [
                ("Content-Type", "message/delivery-status"),
                ("Content-Transfer-Encoding", "7bit"),  # RFC 3464 §2.1: 7bit MUST
                ("Content-Description", "Delivery Status Notification"),
            ],
            render(report, recipient_order),
        ),
    ]
    if original is not None:
        want_full = ret is Ret.FULL or (ret is None and report.has_failure)
        parts.append(returned_part(Original.of(original), want_full, max_return_size))
    head = [
        _header(pol, "Date", format_datetime(date)),
        _header(pol, "From", sender),
        _header(pol, "To", to),
        _header(pol, "Message-ID", message_id or make_msgid(domain=reporting_host)),
        _subject(pol, subject or f"Delivery Status Notification ({word})"),
    ]
    return multipart_report(
        head,
        parts,
        report_type="delivery-status",
        boundary=boundary or f"=_dsn_{secrets.token_hex(12)}",
        after=["Auto-Submitted: auto-replied" + CRLF] if auto_submitted else [],
        pol=pol,
    )


def multipart_report(
    head: Sequence[str],
    parts: Sequence[str],
    *,
    report_type: str,
    boundary: str,
    after: Sequence[str] = (),
    pol: email_policy.EmailPolicy[EmailMessage] = _POLICY,
) -> EmailMessage:
    """A ``multipart/report`` (RFC 6522 §3) from folded header lines and part texts (a DSN's,
    or a feedback report's, RFC 5965 §2): ``head``, then MIME-Version and Content-Type, then
    ``after``.  The message is parsed back with a policy that writes it out unchanged."""
    if any(f"--{boundary}" in part for part in parts) or not re.fullmatch(
        r"[0-9A-Za-z'()+_,./:=?-]{1,70}",
        boundary,  # RFC 2046 §5.1.1 bchars, no trailing SP
    ):
        raise DsnError("boundary", f"unusable MIME boundary {boundary!r}")
    lines = [
        *head,
        "MIME-Version: 1.0" + CRLF,
        # RFC 6522 §3: report-type names the second part's subtype.
        f"Content-Type: multipart/report; report-type={report_type};{CRLF}"
        f' boundary="{boundary}"{CRLF}',
        *after,
    ]
    delimiter = f"{CRLF}--{boundary}{CRLF}"
    wire = (
        "".join(lines)
        + CRLF
        + f"--{boundary}{CRLF}"
        + delimiter.join(parts)
        + f"{CRLF}--{boundary}--{CRLF}"
    )
    if wire.isascii() and all(_WRITTEN_AS_BUILT.match(part) for part in parts):
        return _Built(wire, pol)
    # From a str, so that an SMTPUTF8 address is text, not surrogate escapes.
    return email.message_from_string(wire, policy=pol)


# Parts that the parsed message writes back exactly as built: text, and a DSN's status blocks.
# Another message/* part is parsed as a message and written back with a blank line added (a
# feedback report's fields), a message/rfc822 one as the generator makes it.
_WRITTEN_AS_BUILT = re.compile(r"Content-Type: (text/|message/delivery-status\r\n)")


class _Built(EmailMessage):
    """A report whose parsed message would write its text back unchanged (`multipart_report`):
    the text is parsed into this message on its first use, and `as_bytes` of one never used
    is that text. A receipt rule's bounce goes out so: the parse and the writing back were
    four fifths of building one, and the SNS action bounces every message over 150 KB
    (docs/workers.md, "Benchmark")."""

    def __init__(self, wire: str, pol: email_policy.EmailPolicy[EmailMessage]) -> None:
        # no EmailMessage.__init__: the parse makes every attribute of the message
        self.__dict__.update(_wire=wire, _pol=pol)

    def __getattr__(self, name: str) -> Any:
        """An attribute of the message: the text parsed into this one, once."""
        state = self.__dict__
        if name.startswith("__") or "_wire" not in state:
            raise AttributeError(name)
        parsed = email.message_from_string(state.pop("_wire"), policy=state.pop("_pol"))
        state.update(vars(parsed))
        return getattr(self, name)


def as_bytes(msg: EmailMessage) -> bytes:
    """The DSN's wire form: CRLF line ends, header fields exactly as built."""
    if isinstance(msg, _Built) and "_wire" in vars(msg):  # not parsed: its text (ASCII)
        return str(vars(msg)["_wire"]).encode("ascii")
    if not isinstance(msg.policy, email_policy.EmailPolicy):  # compat32 has no refold_source
        raise TypeError(f"a DSN is built under an EmailPolicy, not {msg.policy!r}")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n", refold_source="none"))


def dsn_envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """SMTP envelope for sending ``msg``: ``("", [To])`` - a DSN always travels with the null
    reverse-path (RFC 3464 §2, RFC 5321 §6.1) to the original's return path (E1, E2).  When
    relaying it, use no ``RET`` and at most ``NOTIFY=NEVER`` (RFC 3461 §6.1)."""
    return "", [address.addr_spec for address in msg["To"].addresses]
