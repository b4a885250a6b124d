"""DKIM's reading of a message (RFC 6376 §3.4, §3.7, §5.4): the header fields, their
canonical forms, the tags and the body hash, computed as dkimpy computes them, with less work.

dkimpy's verifier parses the header block with a module-level `re.match` per line, formats a
debug line with the whole signature, canonicalizes every header field of the message, and finds
the signature's `b=` tag with a pattern that backtracks once per character of the signature:
about half of what verifying a signed 10 KB message cost (docs/authentication.md, "Cost and
caches"). The functions here give the same bytes, and fail alike (the property tests in
tests/receiving/authentication/test_canonical.py compare each with dkimpy's on any input),
with `bytes` operations and compiled patterns, only the fields the signature lists, and a body
rewritten only when its canonicalization could change it. The tag checks are dkimpy's
`validate_signature_fields` repeated with compiled patterns (a property test holds them to
it, message for message); dkimpy still reads the `c=` names and the key record.
"""

from __future__ import annotations

import binascii
import hashlib
import re
import string
import time
from collections.abc import Callable, Sequence

import dkim
from dkim.canonicalization import correct_empty_body, strip_trailing_lines

Field = tuple[bytes, bytes]  # (name, value as received: folding kept, the line's CRLF at its end)
HashNew = Callable[[bytes], "hashlib._Hash"]  # hashlib.sha256 and the like

_LINE_END = re.compile(rb"\r?\n")
# A field name's bytes: dkimpy's rfc822_parse matches `([\x21-\x7e]+?):`, i.e. a line whose
# text before its first colon is one or more of these.
_VISIBLE = bytes(range(0x21, 0x7F))
_WSP_RUN = re.compile(rb"[\t ]+")
_WSP_EOL = re.compile(rb"[\t ]+\r\n")
# dkimpy's RE_BTAG, `([;\s]b FWS =)(?: FWS [a-zA-Z0-9+/=])*(?:\r?\n\Z)?` with its FWS
# `(?:(?:\s*\r?\n)?\s+)?`: that FWS matches exactly the runs of white space (\s*), so this is
# the same language and, greedy as both are, the same match at each position; taking the
# value's characters a run at a time instead of one by one makes it ~10x faster.
_B_TAG = re.compile(rb"([;\s]b\s*=)(?:\s*[a-zA-Z0-9+/=]+)*(?:\r?\n\Z)?")
# dkimpy's validate_signature_fields
_MANDATORY = (b"v", b"a", b"b", b"bh", b"d", b"h", b"s")
_BASE64_TAG = re.compile(rb"[\s0-9A-Za-z+/]+[\s=]*$")
_WSP = b" \t\n\r\x0b\x0c"  # what `\s` is in a bytes pattern, and what bytes.strip() strips
_DOMAIN_SPECIAL = re.compile(rb"[\(\)<>\[\]:;@\\,]")
_LENGTH = re.compile(rb"\d{,76}$")
_DIGITS = re.compile(rb"\d+$")
CLOCK_SLOP = 36000  # seconds: dkimpy's leeway for t= and x= (signers' clocks)
_LETTERS = {letter.encode() for letter in string.ascii_letters}  # a tag name starts with one


def header_fields(head: bytes) -> list[Field]:
    """The header block's fields, as `dkim.rfc822_parse` gives them: continuation lines joined
    with CRLF, a leading `From ` line skipped; `dkim.MessageFormatError` for a line that is
    neither a field nor a continuation, and for a continuation before any field (where dkimpy
    fails with an IndexError)."""
    fields: list[Field] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):  # = _LINE_END.split(head)
        if not line:
            break
        if line[0] in (0x09, 0x20):
            if not fields:
                raise dkim.MessageFormatError("continuation line before any header field")
            name, value = fields[-1]
            fields[-1] = (name, value + line + b"\r\n")
            continue
        colon = line.find(b":", 1)  # the name is one byte at least, a colon too
        if colon > 0 and not line[:colon].translate(None, _VISIBLE):
            fields.append((line[:colon], line[colon + 1 :] + b"\r\n"))
        elif not line.startswith(b"From "):
            raise dkim.MessageFormatError(f"Unexpected characters in RFC822 header: {line!r}")
    return fields


def tag_list(value: bytes) -> dict[bytes, bytes]:
    """RFC 6376 §3.2 as `dkim.util.parse_tag_value` reads it, and fails (`InvalidTagSpec` for
    a part without `=` or whose name does not start with a letter, `DuplicateTag`), without
    its module-level `re.match` per tag."""
    tags: dict[bytes, bytes] = {}
    specs = value.strip().split(b";")
    if not specs[-1]:  # a trailing ";"
        specs.pop()
    for spec in specs:
        name, equals, tag_value = spec.partition(b"=")
        name = name.strip()
        if not equals or name[:1] not in _LETTERS:
            raise dkim.util.InvalidTagSpec(spec)
        if name in tags:
            raise dkim.util.DuplicateTag(name)
        tags[name] = tag_value.strip()
    return tags


def signature_tags(value: bytes) -> tuple[dict[bytes, bytes], list[bytes]]:
    """A DKIM-Signature's tags and its `h=` list (lower case), checked as dkimpy's
    `verify_headerprep` checks them (without the debug line it formats for every signature):
    `dkim.MessageFormatError` for a tag list that does not parse, `dkim.ValidationError` for a
    missing or malformed tag or a signature past its `x=`."""
    try:
        tags = tag_list(value)
    except dkim.util.InvalidTagValueList as error:
        raise dkim.MessageFormatError(error) from None
    validate(tags)
    # = re.split(rb"\s*:\s*", h): the value is stripped, so only blanks beside a colon go
    return tags, [name.strip().lower() for name in tags[b"h"].split(b":")]


def validate(sig: dict[bytes, bytes]) -> None:
    """`dkim.validate_signature_fields` for a DKIM-Signature, its checks in its order with its
    messages, with compiled patterns (it runs ten module-level `re` calls), and two
    `dkim.ValidationError`s where dkimpy's verifier fails with a Python error: an `i=` that is
    `d=` itself (no `@`: dkimpy's IndexError) and an empty `l=` (its ValueError, later)."""
    for tag in _MANDATORY:
        if tag not in sig:
            raise dkim.ValidationError(f"missing {tag!r}=")
    if sig[b"a"] not in dkim.HASH_ALGORITHMS:
        raise dkim.ValidationError(f"unknown signature algorithm: {sig[b'a']!r}")
    b, bh, d = sig[b"b"], sig[b"bh"], sig[b"d"]
    # dkimpy checks the characters of b= (for bh= too, a slip kept here) and both lengths
    if _BASE64_TAG.match(b) is None or len(b.translate(None, _WSP)) % 4:
        raise dkim.ValidationError(f"b= value is not valid base64 ({b!r})")
    if len(bh.translate(None, _WSP)) % 4:
        raise dkim.ValidationError(f"bh= value is not valid base64 ({bh!r})")
    if b"cv" in sig and sig[b"cv"] not in (dkim.CV_Pass, dkim.CV_Fail, dkim.CV_None):
        raise dkim.ValidationError(f"cv= value is not valid ({sig[b'cv']!r})")
    if d.isascii() and _DOMAIN_SPECIAL.search(d):  # dkimpy leaves non-ASCII domains be
        raise dkim.ValidationError(f"d= value is not valid ({d!r})")
    i = sig.get(b"i")
    if i is not None and (
        not i.lower().endswith(d.lower()) or len(i) <= len(d) or i[-len(d) - 1] not in b"@."
    ):
        raise dkim.ValidationError(f"i= domain is not a subdomain of d= (i={i!r} d={d!r})")
    if b"l" in sig and _LENGTH.match(sig[b"l"]) is None:
        raise dkim.ValidationError(f"l= value is not a decimal integer ({sig[b'l']!r})")
    if b"q" in sig and sig[b"q"] != b"dns/txt":
        raise dkim.ValidationError(f"q= value is not dns/txt ({sig[b'q']!r})")
    now = int(time.time())
    t_sign = None
    if b"t" in sig:
        if _DIGITS.match(sig[b"t"]) is None:
            raise dkim.ValidationError(f"t= value is not a decimal integer ({sig[b't']!r})")
        t_sign = int(sig[b"t"])
        if t_sign > now + CLOCK_SLOP:
            raise dkim.ValidationError(f"t= value is in the future ({sig[b't']!r})")
    if b"v" in sig and sig[b"v"] != b"1":
        raise dkim.ValidationError(f"v= value is not 1 ({sig[b'v']!r})")
    if b"x" in sig:
        if _DIGITS.match(sig[b"x"]) is None:
            raise dkim.ValidationError(f"x= value is not a decimal integer ({sig[b'x']!r})")
        x_sign = int(sig[b"x"])
        if x_sign < now - CLOCK_SLOP:
            raise dkim.ValidationError(f"x= value is past ({sig[b'x']!r})")
        if t_sign and x_sign < t_sign:
            raise dkim.ValidationError(
                f"x= value is less than t= value (x={sig[b'x']!r} t={sig[b't']!r})"
            )
    if b"l" in sig and not sig[b"l"].strip():  # dkimpy's pattern takes it, int() does not
        raise dkim.ValidationError(f"l= value is not a decimal integer ({sig[b'l']!r})")


def relaxed_field(name: bytes, value: bytes) -> Field:
    """RFC 6376 §3.4.2, as dkimpy's `Relaxed.canonicalize_headers` does it: unfolded (every LF
    goes, with the CR before it), runs of blanks made one space, stripped."""
    value = value.replace(b"\r\n", b"").replace(b"\n", b"")
    if b"\t" in value or b"  " in value:
        value = _WSP_RUN.sub(b" ", value)
    return name.lower().rstrip(), value.strip() + b"\r\n"


def canonical_fields(fields: Sequence[Field], relaxed: bool) -> list[Field]:
    return [relaxed_field(n, v) for n, v in fields] if relaxed else list(fields)


def without_b(value: bytes) -> bytes:
    """The signature field's value with its `b=` value removed (RFC 6376 §3.7), as dkimpy's
    `hash_headers` removes it."""
    return _B_TAG.sub(rb"\1", value)


def headers_hashed(
    fields: Sequence[Field], include: Sequence[bytes], signature: Field, relaxed: bool
) -> bytes:
    """What the signature signs (RFC 6376 §3.7, dkimpy's `hash_headers`): for each name of
    `include` in turn, the last field of that name not taken yet (RFC 6376 §5.4.2, as
    `dkim.select_headers` picks them), then the signature's own field without `b=` and
    without its final CRLF; each canonicalized (only those: dkimpy does every field)."""
    wanted: dict[bytes, list[Field]] = {name: [] for name in include}
    for field in fields:
        same = wanted.get(field[0].lower())
        if same is not None:
            same.append(field)
    picked = [wanted[name].pop() for name in include if wanted[name]]
    [(name, value)] = canonical_fields([(signature[0], without_b(signature[1]))], relaxed)
    return b"".join(
        n + b":" + v for n, v in (*canonical_fields(picked, relaxed), (name, value.rstrip()))
    )


def body_hash(body: bytes, relaxed: bool, length: int | None, algorithm: HashNew) -> bytes:
    """The `bh=` of a body (RFC 6376 §3.7), as dkimpy's `verify_sig_process` computes it: the
    body with bare LFs made CRLF, canonicalized (§3.4.3, §3.4.4), cut to `l=` (`length`),
    hashed. Relaxed only rewrites white space when there is a tab, two blanks in a row or a
    blank before a line end: without any, its two substitutions would leave the body as it
    is, so they are not run."""
    if body.count(b"\n") != body.count(b"\r\n"):
        body = _LINE_END.sub(b"\r\n", body)
    if relaxed:
        if b"\t" in body or b"  " in body or b" \r\n" in body:
            body = _WSP_RUN.sub(b" ", _WSP_EOL.sub(b"\r\n", body))
        body = correct_empty_body(strip_trailing_lines(body))
    else:
        body = strip_trailing_lines(body)
    return algorithm(body if length is None else body[:length]).digest()


def tag_base64(value: bytes) -> bytes:
    """A `b=` or `bh=` value decoded as dkimpy decodes it (`base64.b64decode` once its white
    space is removed): binascii's decoder, not strict, skips every byte outside the alphabet,
    white space among them, as if it were not there; `binascii.Error` alike."""
    return binascii.a2b_base64(value)
