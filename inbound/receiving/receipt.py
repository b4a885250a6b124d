"""What SES adds to a received message: its id, trace headers and the `mail` JSON object.

Spec receiving.md §4 (notification JSON) and §5 (headers SES adds). The header views of the
`mail` object (`headers`, `commonHeaders`) are `inbound/headers.py`'s, shared with sending.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import format_datetime

from inbound.headers import Header, address_list, common_headers, listed_headers, unfolded
from inbound.ids import random_bytes

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


_UTC_OFFSET = timedelta(0)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def smtp_date(moment: datetime) -> str:
    """`Fri, 11 Sep 2015 20:32:33 +0000`, as in SES's Received header: `email.utils`'s
    `format_datetime`, a UTC moment's (every received message's) formatted here in a third of
    its time, once per message on the event loop. A property test checks they agree."""
    if moment.utcoffset() != _UTC_OFFSET:  # naive, or another offset
        return format_datetime(moment)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000"
    )


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


SIGNATURE_BYTES = 128  # an RSA-1024 signature, as amazonses.com's (spec §4.4)


def ses_dkim_signature(message: bytes, body_offset: int, moment: datetime, secret: bytes) -> str:
    """An X-SES-DKIM-SIGNATURE in SES's 2019+ tag order (§5 item 8), for the body of `message`
    that starts at `body_offset`.

    `bh` is the real simple-canonicalized body hash. `b` is 128 bytes (the size of the 1024-bit
    amazonses.com signatures in spec §4.4's sample) of SHAKE-256 output keyed with a local
    secret, not an RSA signature: only AWS holds amazonses.com's key, so no simulator value
    could verify; it looks like one, without the repeating pattern a short hash repeated has.
    """
    bh = base64.b64encode(_simple_body_hash(message, body_offset)).decode("ascii")
    signature = hashlib.shake_256(secret + bh.encode()).digest(SIGNATURE_BYTES)
    b = base64.b64encode(signature).decode("ascii")
    return (
        f"a=rsa-sha256; q=dns/txt; b={b}; c=relaxed/simple; s=inboundsimulatorselector; "
        f"d=amazonses.com; t={int(moment.timestamp())}; v=1; bh={bh}; "
        "h=From:To:Cc:Bcc:Subject:Date:Message-ID:MIME-Version:Content-Type:X-SES-RECEIPT;"
    )


# hashlib lets go of the GIL to hash 2,048 bytes or more. On the event loop that costs more than
# it saves for a body of a few KB: the hash takes microseconds, then the loop waits for the
# store's writer thread to give the GIL back (measured: 38 µs instead of 6 for 9 KB beside a
# busy thread). Such bodies are hashed in pieces under that size; larger ones whole, GIL let go.
HELD_PIECE = 2047
HELD_HASH_MAX = 64 * 1024


def _simple_body_hash(message: bytes, start: int) -> bytes:
    """SHA-256 of the body with its trailing line ends made one CRLF (RFC 6376 §3.4.3), hashed
    in place: a copy of a 40 MB body, or three as slicing and stripping made, is not needed."""
    end = len(message)
    while end > start:  # the trailing CRs and LFs, a piece at a time from the end
        piece = message[max(start, end - 4096) : end]
        kept = piece.rstrip(b"\r\n")
        end -= len(piece) - len(kept)
        if kept:
            break
    body = memoryview(message)[start:end]
    digest = hashlib.sha256()
    if len(body) > HELD_HASH_MAX:
        digest.update(body)
    else:  # the event loop's own: in pieces hashlib hashes holding the GIL (see HELD_PIECE)
        for offset in range(0, len(body), HELD_PIECE):
            digest.update(body[offset : offset + HELD_PIECE])
    digest.update(b"\r\n")
    return digest.digest()


# ── the `mail` object (§4.2) ────────────────────────────────────────────────────────────────
def destination(headers: Sequence[Header]) -> list[str]:
    """Bare addresses of the To then the CC fields (§4.2)."""
    found: list[str] = []
    for wanted in ("to", "cc"):
        for name, value in headers:
            if name.lower() == wanted:
                found.extend(address for _, address in address_list(unfolded(value)))
    return found


def mail_object(
    *,
    timestamp: str,
    source: str,
    message_id: str,
    headers: Sequence[Header],
    received: datetime,
    hostname: str,
) -> dict[str, object]:
    """`mail`: `headers` are every field of the message as it stands, SES's first."""
    listed, truncated = listed_headers(headers)
    return {
        "timestamp": timestamp,
        "source": source,
        "messageId": message_id,
        "destination": destination(headers),
        "headersTruncated": truncated,
        "headers": listed,
        "commonHeaders": receipt_common_headers(
            headers, received=received, hostname=hostname, message_id=message_id
        ),
    }


def receipt_common_headers(
    headers: Sequence[Header], *, received: datetime, hostname: str, message_id: str
) -> dict[str, object]:
    """`commonHeaders`, with `date` and `messageId` always present (docs/behaviour.md, "Mail
    without Date or Message-ID"): a message lacking the field gets the time SES received it
    (the field's documented meaning) and `<messageId@hostname>`, the id an MTA gives such mail.
    Typed consumers (Powertools' `SesModel`, `SESEvent`) require both. The message itself is
    left as received: a receiving MTA must not add them (RFC 5321 §6.4), and adding a field a
    DKIM signature lists as absent would break that signature.
    """
    common = common_headers(headers)
    if "date" not in common:  # formatting the time is 3 us, once per notification
        common["date"] = smtp_date(received)
    common.setdefault("messageId", f"<{message_id}@{hostname}>")
    return common
