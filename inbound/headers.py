"""A message's header fields, and the JSON views of them SES writes in a `mail` object
(`headers`, `headersTruncated`, `commonHeaders`), shared by receipt notifications and sending
events ("Contents of event data that Amazon SES publishes to Amazon SNS", mail object).

The original message is never parsed as a MIME tree here: the header block is split as bytes and
only the fields `commonHeaders` needs go through `email`'s header parser (spec benchmarking.md:
the engine's CPU budget per message is a fraction of a millisecond).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import getaddresses
from functools import lru_cache

Header = tuple[str, str]  # (name, value); a value may contain folding ("\r\n" + WSP)

MAX_NOTIFICATION_HEADERS = 10 * 1024  # `headersTruncated` beyond this (spec receiving.md §4.2)


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
        end = body_start(raw)  # the blank line that ends the block unfolds to no field
        return cls(raw, tuple(fields_of(_lines(raw[:end]))), end)

    @property
    def body(self) -> bytes:
        return self.raw[self.body_offset :]

    def with_headers(self, prepended: Sequence[Header]) -> bytes:
        """The full message with `prepended` header fields above the original ones."""
        return header_lines(prepended) + self.raw

    def head_with(self, prepended: Sequence[Header]) -> bytes:
        """`with_headers` up to where the body starts: all a bounce returns of a message."""
        return header_lines(prepended) + self.raw[: self.body_offset]


def body_start(raw: bytes) -> int:
    """Where the body starts: after the first empty line, the end of what `\r?\n\r?\n`
    (`_BODY_SPLIT`) first finds, or the end of `raw`. Two `bytes.find`s over the header
    block (a regex search tries a match at every byte): the first `\n\r\n` or `\n\n`,
    whichever comes first, is where that match ends."""
    crlf = raw.find(b"\n\r\n")
    lf = raw.find(b"\n\n", 0, len(raw) if crlf < 0 else crlf + 1)
    if lf >= 0:
        return lf + 2
    return len(raw) if crlf < 0 else crlf + 3


def header_lines(fields: Sequence[Header]) -> bytes:
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in fields)


def _lines(head: bytes) -> list[str]:
    """A header block's lines, bytes that are not UTF-8 replaced: decoded at once and split at
    LF, a CR before it dropped. Split by a regex and decoded a line at a time, it cost twice
    as much, once per received message on the event loop; a property test checks both give
    the same fields."""
    lines = head.decode("utf-8", "replace").split("\n")
    for at in range(len(lines) - 1):
        if lines[at].endswith("\r"):
            lines[at] = lines[at][:-1]
    return lines


def fields_of(lines: Iterable[str]) -> Iterable[Header]:
    """The header fields of a block's lines, with folding removed."""
    name: str | None = None
    parts: list[str] = []
    for text in lines:
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


# ── the `mail` object's header views (spec receiving.md §4.2) ──────────────────────────────
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
def address_list(value: str) -> tuple[tuple[str, str], ...]:
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
    for name, address in address_list(value):
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


def listed_headers(headers: Sequence[Header]) -> tuple[list[dict[str, str]], bool]:
    """`headers` as `{"name", "value"}` objects, and `headersTruncated`: fields stop being
    listed once they pass 10 KB ("which occurs if the headers are larger than 10 KB")."""
    listed: list[dict[str, str]] = []
    budget = MAX_NOTIFICATION_HEADERS
    for name, value in headers:
        value = unfolded(value)
        budget -= len(name) + len(value) + 4
        if budget < 0:
            return listed, True
        listed.append({"name": name, "value": value})
    return listed, False
