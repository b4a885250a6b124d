"""The message SES builds and sends (spec sending.md §2), with the stdlib `email` package.

* MessageId `<16 hex>-<uuid>-000000` (the 16 hex digits are `0100` and the milliseconds since
  the epoch, as in SES's ids), and `Message-ID: <MessageId@email.amazonses.com>`.
* SendEmail: text only → text/plain, HTML only → text/html, both → multipart/alternative
  (text first), each part in its Charset, 7bit when ASCII with lines of at most 998 octets,
  else quoted-printable; non-ASCII header text as RFC 2047 encoded words (UTF-8).
* SendRawEmail: the bytes are kept as given, but for the header fields SES acts on: Bcc and the
  `X-SES-*` headers are removed, Message-ID and Date are SES's own ("If you provide a Message-ID
  header, Amazon SES overrides the header with its own value"; "If you specify a Date header,
  Amazon SES overrides it with a timestamp that corresponds to the date and time in the UTC time
  zone when Amazon SES accepted the message": DG, "Amazon SES header fields").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser, BytesParser

from inbound.errors import InvalidParameterValue
from inbound.ids import new_uuid, random_bytes
from inbound.receiving.receipt import smtp_date

MESSAGE_ID_HOST = "email.amazonses.com"
MAX_LINE = 998  # RFC 5322 2.1.1, without the CRLF
_NEWLINES = re.compile(r"\r\n|\r|\n")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")  # str.splitlines()'s
_ASCII_SAMPLE = "Aa0 =\r\n"
# Headers that select what SES does with a raw message, removed before it is sent (DG, "Step 3:
# Specify your configuration set when you send email"; SendRawEmail's X-SES-*-ARN headers; the
# list and the tenant of the SMTP interface: docs/behaviour.md, "Sending").
SES_HEADERS = (
    "x-ses-configuration-set",
    "x-ses-message-tags",
    "x-ses-source-arn",
    "x-ses-from-arn",
    "x-ses-return-path-arn",
    "x-ses-list-management-options",
    "x-ses-tenant",
)
_DROPPED = frozenset(("bcc", *SES_HEADERS))
_REPLACED = ("message-id", "date")
# Fields of a text part that say what it is rather than how it is encoded: kept as they were.
_KEPT_FIELDS = ("content-id", "content-disposition", "content-description", "content-location")


def new_message_id(when: datetime) -> str:
    milliseconds = int(when.timestamp() * 1000)
    return f"0100{milliseconds:012x}-{new_uuid()}-000000"


def message_id_header(message_id: str) -> str:
    return f"<{message_id}@{MESSAGE_ID_HOST}>"


def envelope_sender(message_id: str, region: str, mail_from_domain: str | None) -> str:
    """The Return-Path SES sends with: the MessageId at the custom MAIL FROM domain, else at
    amazonses.com (`<region>.amazonses.com` outside us-east-1)."""
    if mail_from_domain:
        return f"{message_id}@{mail_from_domain}"
    host = "amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"{message_id}@{host}"


# ── SendEmail ───────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Text:
    """SES's `Content`: Data and its Charset (default UTF-8)."""

    data: str
    charset: str = "UTF-8"


def boundary() -> str:
    """A multipart boundary of JavaMail's form, as SES writes them."""
    return f"----=_Part_{int.from_bytes(random_bytes(5), 'big')}"


def _encoding(text: str) -> str:
    if text.isascii() and all(len(line) <= MAX_LINE for line in _NEWLINES.split(text)):
        return "7bit"
    return "quoted-printable"


def _check_charset(text: Text, part: str) -> None:
    try:
        text.data.encode(text.charset)
    except LookupError:
        raise InvalidParameterValue(f"Unknown charset {text.charset} of the {part}.") from None
    except UnicodeEncodeError:
        raise InvalidParameterValue(
            f"The {part} cannot be encoded in its charset {text.charset}."
        ) from None


def _crlf(text: str) -> str:
    """A text body as it travels: every line ending CRLF, a final one included."""
    lines = _NEWLINES.split(text)
    if lines[-1] == "":
        lines.pop()
    return "".join(line + "\r\n" for line in lines) or "\r\n"


def set_text(part: MIMEPart, text: Text, subtype: str) -> None:
    """A charset that keeps ASCII as ASCII: 7bit or quoted-printable; another (UTF-16, UTF-7)
    can only travel as base64 of its bytes."""
    if _ASCII_SAMPLE.encode(text.charset) == _ASCII_SAMPLE.encode():
        cte = _encoding(text.data)
        part.set_content(text.data, subtype=subtype, charset=text.charset, cte=cte)
    else:
        data = _crlf(text.data).encode(text.charset)
        params = {"charset": text.charset}
        part.set_content(data, "text", subtype, cte="base64", params=params)


def headers(fields: Sequence[tuple[str, str]]) -> EmailMessage:
    """A message with these header fields (addresses, subject), in this order. A header is one
    line: every character that breaks lines (CR, LF, and the Unicode line separators the
    `email` package splits on) becomes a space."""
    message = EmailMessage(policy=policy.SMTP)
    for name, value in fields:
        value = _LINE_BREAKS.sub(" ", value)
        if name.lower() == "subject" and not value.isascii() and "=?" not in value:
            # leading blanks go, as a parser drops them from a value that is not encoded
            message.set_raw(name, _encoded_words(name, value.lstrip(" \t")))
        else:
            message[name] = value
    return message


def _encoded_words(name: str, text: str) -> str:
    """`text` as RFC 2047 encoded words of UTF-8, folded, each word carrying the blanks it
    contains: the SMTP policy's folder leaves blanks between encoded words, where decoders
    drop them ("a  é" came back as "aé"; found by tests/sending/test_mime.py)."""
    return Header(text, "utf-8", header_name=name).encode(linesep="\r\n")


def simple(
    fields: Sequence[tuple[str, str]],
    text: Text | None,
    html: Text | None,
    message_id: str,
    when: datetime,
) -> bytes:
    """SendEmail's message: `fields` (From, To, Cc, Reply-To, Subject) and the body parts."""
    parts = [(p, subtype) for p, subtype in ((text, "plain"), (html, "html")) if p is not None]
    for part, subtype in parts:
        _check_charset(part, f"{subtype} body")
    message = headers(fields)
    if not parts:  # a Body with neither part: an empty text (UNCONFIRMED)
        parts = [(Text(""), "plain")]
    first, subtype = parts[0]
    set_text(message, first, subtype)
    if len(parts) > 1:
        message.make_alternative(boundary=boundary())  # as TestRenderTemplate here too
        for part, subtype in parts[1:]:
            alternative = EmailMessage(policy=policy.SMTP)
            set_text(alternative, part, subtype)
            del alternative["MIME-Version"]  # the message has one; its parts do not
            message.attach(alternative)
    message["Message-ID"] = message_id_header(message_id)
    message["Date"] = smtp_date(when)
    return message.as_bytes()


def templated(
    fields: Sequence[tuple[str, str]], rendered: str, message_id: str, when: datetime
) -> bytes:
    """A templated send: the address fields and Message-ID above the rendered template
    (`templates.render_mime`: Date, Subject, MIME-Version and the parts)."""
    head = headers(fields)
    head["Message-ID"] = message_id_header(message_id)
    folded = b"".join(policy.SMTP.fold_binary(name, value) for name, value in head.items())
    return folded + rendered.encode()


# ── SendRawEmail ────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Raw:
    """What SES reads from a raw message's header section."""

    names: list[str]  # every header field name, in order (the duplicate-header check)
    senders: list[str]  # From
    recipients: list[str]  # To, Cc, Bcc
    return_path: str | None
    configuration_set: str | None
    tags: str | None  # X-SES-MESSAGE-TAGS as written
    list_management: str | None  # X-SES-LIST-MANAGEMENT-OPTIONS as written
    tenant: str | None  # X-SES-TENANT


def _split(raw: bytes) -> tuple[list[bytes], bytes, memoryview]:
    """Header lines (continuations joined to their field), the line end, and the rest: a view
    of `raw`, not a copy (a 30 MB message would be copied once more for each use)."""
    first = raw.find(b"\n")  # the first line's end says which line end the header uses
    eol = b"\r\n" if raw.endswith(b"\r", 0, len(raw) if first < 0 else first) else b"\n"
    end = raw.find(eol + eol)
    if end < 0:
        head, start = (b"", len(eol)) if raw.startswith(eol) else (raw, len(raw))
    else:
        head, start = raw[:end], end + 2 * len(eol)
    body = memoryview(raw)[start:]
    fields: list[bytes] = []
    for line in head.split(eol) if head else []:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += eol + line
        else:
            fields.append(line)
    return fields, eol, body


def _name(field: bytes) -> str:
    return field.partition(b":")[0].decode("ascii", "replace").strip()


@dataclass(frozen=True)
class HeaderFields:
    """A message's header fields (name, unparsed value), each read only when asked for: what
    a default-policy parse reads, at a fraction of its cost (it parses every field and the
    Content-Type: profiled, most of SendRawEmail's CPU)."""

    fields: list[tuple[str, str]]

    def single(self, name: str) -> str | None:
        """The first `name` field as text, as `str(EmailMessage.get(name)).strip()`."""
        wanted = name.lower()
        for key, value in self.fields:
            if key.lower() == wanted:
                return str(policy.default.header_fetch_parse(key, value)).strip()
        return None

    def addresses(self, *names: str) -> list[str]:
        """The addr-specs of the address fields `names`, in the order of `names`."""
        wanted: dict[str, list[str]] = {name.lower(): [] for name in names}
        for name, value in self.fields:
            found = wanted.get(name.lower())
            if found is not None:
                plain = _plain_addresses(value)
                found += _parsed_addresses(value) if plain is None else plain
        return [address for found in wanted.values() for address in found]


# A field value that is only plain addresses (`a@example.com`, `Name <a@example.com>`, comma
# separated: dot-atom local parts, letters and digits in names), read without the RFC 5322
# parser, which costs a quarter of a millisecond per field; it reads these the same way
# (tests/sending/test_mime.py checks that it does).
_PLAIN_ADDRESS = (
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)
_PLAIN_MAILBOX = re.compile(rf" *(?:[A-Za-z0-9 ]*<({_PLAIN_ADDRESS})>|({_PLAIN_ADDRESS})) *")


def _plain_addresses(value: str) -> list[str] | None:
    if "=?" in value:  # an encoded word: the parser decodes even those in a local part
        return None
    found = []
    for part in value.split(","):
        match = _PLAIN_MAILBOX.fullmatch(part)
        if match is None:
            return None
        found.append(match[1] or match[2])
    return found


def _parsed_addresses(value: str) -> list[str]:
    """The addr-specs the default policy's parser reads in `value` as an address list (as a
    `To` field: the stdlib's registry has Return-Path as unstructured text, SES reads an
    address there). A value it fails on is SES's "Illegal address" (`checks.address`): it
    fails with internal errors of several kinds (IndexError on `<`, AttributeError on `.:`)."""
    try:
        parsed = policy.default.header_fetch_parse("To", value)
        return [address.addr_spec for address in getattr(parsed, "addresses", ())]
    except Exception:  # see above: no narrower class covers them
        raise InvalidParameterValue("Illegal address") from None


def parse_header(raw: bytes) -> HeaderFields:
    fields, eol, _ = _split(raw)
    return _header(fields, eol)


def _header(fields: list[bytes], eol: bytes) -> HeaderFields:
    """The fields as compat32's parser splits them (name, value without the leading blanks
    and the last line end). Read here when every field is one the parser reads as a field and
    the lines end alike; anything else (a line that ends the header section for the parser, a
    stray CR or LF, a "From " line) goes to the parser itself (profiled: it cost a tenth of a
    SendRawEmail's CPU). tests/sending/test_mime.py checks that both read alike."""
    if all(map(_FIELD.match, fields)) and _line_ends_alike(fields, eol):
        return HeaderFields([_raw_item(field) for field in fields])
    return _parsed_header(fields, eol)


# What the parser takes for the start of a field: a name of printable characters but ':', then
# ':' (email.feedparser's headerRE; an empty name it drops).
_FIELD = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")


def _line_ends_alike(fields: list[bytes], eol: bytes) -> bool:
    """Whether every CR and LF in `fields` is part of an `eol`: the parser ends lines at CR,
    LF and CRLF alike."""
    return all(
        field.count(b"\r") + field.count(b"\n") == field.count(eol) * len(eol) for field in fields
    )


def _raw_item(field: bytes) -> tuple[str, str]:
    name, _, value = field.decode("ascii", "surrogateescape").partition(":")
    return name, value.lstrip(" \t")


def _parsed_header(fields: list[bytes], eol: bytes) -> HeaderFields:
    """Only the header section goes to the parser (a header parser still reads the body line
    by line), and compat32 only splits it into fields."""
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(eol.join(fields) + eol + eol)
    return HeaderFields(list(parsed.raw_items()))


def read_raw(raw: bytes) -> Raw:
    fields, eol, _ = _split(raw)
    header = _header(fields, eol)
    return_path = header.addresses("Return-Path")
    return Raw(
        names=[_name(f) for f in fields],
        senders=header.addresses("From"),
        recipients=header.addresses("To", "Cc", "Bcc"),
        return_path=return_path[0] if return_path else None,
        configuration_set=header.single("X-SES-CONFIGURATION-SET"),
        tags=header.single("X-SES-MESSAGE-TAGS"),
        list_management=header.single("X-SES-LIST-MANAGEMENT-OPTIONS"),
        tenant=header.single("X-SES-TENANT"),
    )


def prepare_raw(raw: bytes, message_id: str, when: datetime) -> bytes:
    """The raw message as SES sends it: Bcc and X-SES-* fields removed, Message-ID and Date
    SES's own (in place of the given ones, else after the last field); the rest byte for byte."""
    fields, eol, body = _split(raw)
    ours = {
        "message-id": f"Message-ID: {message_id_header(message_id)}".encode(),
        "date": f"Date: {smtp_date(when)}".encode(),
    }
    kept: list[bytes] = []
    for field in fields:
        name = _name(field).lower()
        if name in _DROPPED:
            continue
        if name in _REPLACED:
            if name in ours:
                kept.append(ours.pop(name))
            continue
        kept.append(field)
    kept += [ours[name] for name in _REPLACED if name in ours]
    return b"".join((eol.join(kept), eol, eol, body))


def replace_fields(raw: bytes, fields: Sequence[tuple[str, str]]) -> bytes:
    """The message with the header fields called as `fields` are removed, and `fields` added
    after the last field; the rest byte for byte."""
    head, eol, body = _split(raw)
    names = {name.lower() for name, _ in fields}
    kept = [field for field in head if _name(field).lower() not in names]
    kept += [f"{name}: {value}".encode() for name, value in fields]
    return b"".join((eol.join(kept), eol, eol, body))


# ── editing what the text parts say (open and click tracking, unsubscribe links) ──────────────
def _part_text(part: EmailMessage) -> tuple[str, str] | None:
    """The part's text and its charset: the declared one (default US-ASCII), else UTF-8 when
    its 8-bit bytes are UTF-8 (what a client declaring nothing most likely wrote); None when
    neither reads it (the part is then left alone)."""
    data = part.get_payload(decode=True)
    declared = part.get_param("charset")  # as written ("UTF-8"), not lower-cased
    assert isinstance(data, bytes)
    for charset in (declared if isinstance(declared, str) else "us-ascii", "utf-8"):
        try:
            return data.decode(charset), charset
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def _replace_text(part: EmailMessage, text: str, charset: str) -> None:
    """Put `text` in `part`, in `charset`, keeping what the part is (Content-ID, ...)."""
    kept = [(n, v) for n, v in part.items() if n.lower() in _KEPT_FIELDS]
    had_version = "MIME-Version" in part
    set_text(part, Text(text, charset), part.get_content_subtype())
    if not had_version:
        del part["MIME-Version"]
    for name, value in kept:
        part[name] = value


def edit_text_parts(raw: bytes, subtypes: Sequence[str], edit: Callable[[str, str], str]) -> bytes:
    """The message with each inline text part of `subtypes` ("plain", "html") replaced by
    `edit(subtype, text)`, in its charset; `raw` itself when no part changed."""
    crlf = b"\r\n" in raw.partition(b"\n")[0] + b"\n"
    used = policy.SMTP if crlf else policy.default
    message = BytesParser(policy=used).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    changed = False
    for part in message.walk():
        subtype = part.get_content_subtype()
        if part.get_content_maintype() != "text" or subtype not in subtypes:
            continue
        if part.is_attachment():
            continue
        assert isinstance(part, EmailMessage)
        found = _part_text(part)
        if found is None:
            continue
        text, charset = found
        new = edit(subtype, text)
        if new != text:
            _replace_text(part, new, charset)
            changed = True
    return message.as_bytes(policy=used) if changed else raw
