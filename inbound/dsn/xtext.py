"""The two 7-bit encodings DSNs use for values that may hold arbitrary characters.

* RFC 3461 §4 ``xtext`` (``+HH``): the form of the ENVID and ORCPT SMTP parameters.  The SMTP
  edge decodes them before the values reach :class:`~inbound.dsn.PerMessage` /
  :class:`~inbound.dsn.RecipientStatus`.
* RFC 6533 §3 ``utf-8-addr-xtext`` (``\\x{HEX}``): how a non-ASCII address is written in the
  7-bit ``message/delivery-status`` body (§3 item 3: the xtext form MUST be used there).
"""

from __future__ import annotations

import re

_XTEXT_HEX = re.compile(r"\+([0-9A-F]{2})")
_EMBEDDED = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def _xchar(c: str) -> bool:
    # RFC 3461 §4: xchar = "!" .. "~" except "+" and "="
    return "!" <= c <= "~" and c not in "+="


def encode_xtext(value: str) -> str:
    """Encode printable ASCII as RFC 3461 xtext (``+`` and ``=`` and SP become ``+HH``)."""
    if not value.isascii():
        raise ValueError(f"xtext carries US-ASCII only: {value!r}")
    return "".join(c if _xchar(c) else f"+{ord(c):02X}" for c in value)


def decode_xtext(value: str) -> str:
    """Decode RFC 3461 xtext; raises ``ValueError`` on a character xtext cannot contain."""
    bad = [c for c in _XTEXT_HEX.sub("", value) if not _xchar(c)]
    if bad:
        raise ValueError(f"not xtext (character {bad[0]!r}): {value!r}")
    return _XTEXT_HEX.sub(lambda m: chr(int(m.group(1), 16)), value)


def _qchar(c: str) -> bool:
    # RFC 6533 §3: QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
    # (printable ASCII except SP, "\", "+", "=")
    return "!" <= c <= "~" and c not in "\\+="


def encode_utf8_addr_xtext(address: str) -> str:
    """Write an address in RFC 6533 ``utf-8-addr-xtext`` form (7-bit safe).

    Every character outside QCHAR becomes ``\\x{HEX}`` with upper-case digits and no leading
    zeros (the HEXPOINT rule), e.g. ``jürgen@b.example`` → ``j\\x{FC}rgen@b.example``.
    """
    return "".join(c if _qchar(c) else f"\\x{{{ord(c):X}}}" for c in address)


def decode_utf8_addr(value: str) -> str:
    """Read any RFC 6533 ``utf-8`` address form (xtext, unitext or raw) back to Unicode."""
    return _EMBEDDED.sub(lambda m: chr(int(m.group(1), 16)), value)
