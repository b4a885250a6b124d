"""What SES adds to a received message: its id, trace headers and the `mail` JSON object.

Spec receiving.md §4 (notification JSON) and §5 (headers SES adds). The original message is
never parsed as a MIME tree here: the header block is split as bytes and only the fields
`commonHeaders` needs go through `email`'s header parser (spec benchmarking.md: the engine's
CPU budget per message is a fraction of a millisecond).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import format_datetime, getaddresses
from functools import lru_cache

from inbound.ids import random_bytes

Header = tuple[str, str]  # (name, value); a value may contain folding ("\r\n" + WSP)

MAX_NOTIFICATION_HEADERS = 10 * 1024  # `headersTruncated` beyond this (spec §4.2)
_BODY_SPLIT = re.compile(rb"\r?\n\r?\n")
_LINE_SPLIT = re.compile(rb"\r?\n")


@dataclass(frozen=True)
class SplitMessage:
    """The original message as SES received it, with its header fields unfolded."""

    raw: bytes
    headers: tuple[Header, ...]
    body_offset: int  # where the body starts (len(raw) when there is no body)

    @classmethod
    def parse(cls, raw: bytes) -> SplitMessage:
        if raw[:1] in (b"\r", b"\n"):  # an empty header block
            return cls(raw, (), 2 if raw.startswith(b"\r\n") else 1)
        match = _BODY_SPLIT.search(raw)
        if match is None:
            return cls(raw, tuple(_unfold(raw)), len(raw))
        return cls(raw, tuple(_unfold(raw[: match.start()])), match.end())

    @property
    def body(self) -> bytes:
        return self.raw[self.body_offset :]

    def with_headers(self, prepended: Sequence[Header]) -> bytes:
        """The full message with `prepended` header fields above the original ones."""
        return b"".join(f"{name}: {value}\r\n".encode() for name, value in prepended) + self.raw


def _unfold(head: bytes) -> Iterable[Header]:
    """Header fields with folding removed; bytes that are not UTF-8 are replaced."""
    name: str | None = None
    parts: list[str] = []
    for line in _LINE_SPLIT.split(head):
        text = line.decode("utf-8", "replace")
        if text[:1] in (" ", "\t") and name is not None:
            parts.append(text)
            continue
        if name is not None:
            yield name, "".join(parts).strip()
        field_name, colon, value = text.partition(":")
        if colon and field_name and " " not in field_name.strip():
            name, parts = field_name.strip(), [value]
        else:
            name, parts = None, []  # not a header field (a defect): SES drops it from `headers`
    if name is not None:
        yield name, "".join(parts).strip()


def unfolded(value: str) -> str:
    return value.replace("\r\n", "")


# ── SES trace headers (§5) ───────────────────────────────────────────────────────────────────
# Controls but TAB (C0, DEL, C1) and the Unicode line and paragraph separators: every character
# any header or line parser could take as the end of a line.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """`text` with what could end a header line replaced by `?`, as Postfix writes a HELO name.

    The SMTP edge already refuses such arguments; this covers every other way a value reaches
    a trace header (`inbound replay`'s options, a store written by an older version).
    """
    return _UNPRINTABLE.sub("?", text)


def smtp_date(moment: datetime) -> str:
    """`Fri, 11 Sep 2015 20:32:33 +0000`, as in SES's Received header."""
    return format_datetime(moment)


def received_header(
    *, helo: str, client_ip: str, hostname: str, message_id: str, rcpt: str, moment: datetime
) -> Header:
    """SES's Received field, folded as in raw SES content (§5 item 2).

    Reverse DNS is not looked up (no resolver is configured by default), so the host is
    `unknown`, as Postfix writes it; SES always says "with SMTP", TLS or not (UNCONFIRMED).
    """
    return (
        "Received",
        f"from {printable(helo) or 'unknown'} (unknown [{printable(client_ip)}])\r\n"
        f" by {hostname} with SMTP id {message_id}\r\n"
        f" for {printable(rcpt)};\r\n {smtp_date(moment)} (UTC)",
    )


def return_path_header(mail_from: str) -> Header:
    return ("Return-Path", f"<{printable(mail_from)}>")


def ses_receipt_blob() -> str:
    """X-SES-RECEIPT is opaque (§5 item 7); real ones are base64 of a NUL and base64 text."""
    return base64.b64encode(b"\x00" + base64.b64encode(random_bytes(96))).decode("ascii")


def ses_dkim_signature(body: bytes, moment: datetime, secret: bytes) -> str:
    """An X-SES-DKIM-SIGNATURE in SES's 2019+ tag order (§5 item 8).

    `bh` is the real simple-canonicalized body hash. `b` is an HMAC with a local secret, not an
    RSA signature: only AWS holds amazonses.com's key, so no simulator value could verify.
    """
    canonical = body.rstrip(b"\r\n") + b"\r\n" if body.strip(b"\r\n") else b"\r\n"
    bh = base64.b64encode(hashlib.sha256(canonical).digest()).decode("ascii")
    b = base64.b64encode(hashlib.sha256(secret + bh.encode()).digest() * 8).decode("ascii")
    return (
        f"a=rsa-sha256; q=dns/txt; b={b}; c=relaxed/simple; s=inboundsimulatorselector; "
        f"d=amazonses.com; t={int(moment.timestamp())}; v=1; bh={bh}; "
        "h=From:To:Cc:Bcc:Subject:Date:Message-ID:MIME-Version:Content-Type:X-SES-RECEIPT;"
    )


# ── the `mail` object (§4.2) ────────────────────────────────────────────────────────────────
_COMMON = {
    "return-path": "returnPath",
    "from": "from",
    "date": "date",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "sender": "sender",
    "reply-to": "replyTo",
    "message-id": "messageId",
    "subject": "subject",
}
_LISTS = {"from", "to", "cc", "bcc", "replyTo"}


_SPECIALS = set('()<>@,;:\\".[]')


@lru_cache(maxsize=64)
def _address_list(value: str) -> tuple[tuple[str, str], ...]:
    """(display name, address) pairs, RFC 2047 words decoded. `email.utils` rather than the
    header registry, which builds a class per call and cost more than the rest of `mail`."""
    return tuple((_decoded(name), address) for name, address in getaddresses([value]) if address)


def _decoded(text: str) -> str:
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        return text  # a broken encoded word is reported as received


def _addresses(value: str) -> list[str]:
    """As SES lists them: `"Doe, John" <john@example.com>`, quoting names with specials."""
    found = []
    for name, address in _address_list(value):
        if not name:
            found.append(address)
        elif _SPECIALS.intersection(name):
            escaped = name.replace("\\", "\\\\").replace('"', '\\"')
            found.append(f'"{escaped}" <{address}>')
        else:
            found.append(f"{name} <{address}>")
    return found or [value]


def common_headers(headers: Sequence[Header]) -> dict[str, object]:
    """Only the fields present; the first occurrence of each wins (§4.2)."""
    common: dict[str, object] = {}
    for name, value in headers:
        key = _COMMON.get(name.lower())
        if key is None or key in common:
            continue
        value = unfolded(value)
        if key in _LISTS:
            common[key] = _addresses(value)
        elif key in ("returnPath", "sender"):
            common[key] = _strip_brackets(value)
        elif key == "subject":
            common[key] = _decoded(value)
        else:
            common[key] = value
    return common


def _strip_brackets(value: str) -> str:
    value = value.strip()
    if "<" in value and value.endswith(">"):
        return value[value.index("<") + 1 : -1]
    return value


def destination(headers: Sequence[Header]) -> list[str]:
    """Bare addresses of the To then the CC fields (§4.2)."""
    found: list[str] = []
    for wanted in ("to", "cc"):
        for name, value in headers:
            if name.lower() == wanted:
                found.extend(address for _, address in _address_list(unfolded(value)))
    return found


def mail_object(
    *,
    timestamp: str,
    source: str,
    message_id: str,
    headers: Sequence[Header],
) -> dict[str, object]:
    """`mail`: `headers` are every field of the message as it stands, SES's first."""
    listed: list[dict[str, str]] = []
    budget = MAX_NOTIFICATION_HEADERS
    truncated = False
    for name, value in headers:
        value = unfolded(value)
        budget -= len(name) + len(value) + 4
        if budget < 0:
            truncated = True
            break
        listed.append({"name": name, "value": value})
    return {
        "timestamp": timestamp,
        "source": source,
        "messageId": message_id,
        "destination": destination(headers),
        "headersTruncated": truncated,
        "headers": listed,
        "commonHeaders": common_headers(headers),
    }
