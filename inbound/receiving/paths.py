"""MAIL, RCPT and VRFY paths (RFC 5321 §4.1.2) to addresses, for both SMTP listeners.

A plain `<local@domain>` (dot-atoms on both sides, nearly every path a client sends) is taken
as is; every other form (quoted local parts, address literals, comments, the null path) goes to
the email package's RFC 5322 grammar, as aiosmtpd's `SMTP._getaddr` reads it, which costs about
a third of a MAIL or RCPT. A property test checks that both give aiosmtpd's answer.
"""

from __future__ import annotations

import re
from email._header_value_parser import get_addr_spec, get_angle_addr

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# `<local@domain>` with dot-atoms on both sides: the path nearly every client sends.
_PLAIN_PATH = re.compile(rf"<((?P<local>(?:{_ATOM}\.)*{_ATOM})@(?:[A-Za-z0-9-]+\.)*[A-Za-z0-9-]+)>")


class UnparsablePath(Exception):
    """A path the grammar cannot read: MAIL and RCPT answer their 501 syntax reply (Postfix,
    whose texts SES's endpoint uses, answers bad address syntax with 501), not aiosmtpd's
    `553 ... malformed address`."""


def parse_path(arg: str, local_part_limit: int = 0) -> tuple[str, str]:
    """(address, the parameters after it) of a path argument (`""`: none given); `local_part_limit`
    (0: none) bounds the local part. UnparsablePath where aiosmtpd finds no address."""
    if not arg:
        return "", ""
    found = _PLAIN_PATH.match(arg)
    if found is not None:
        rest = arg[found.end() :]
        params = rest.lstrip()
        if (
            (not rest or rest[0] in " \t")
            and not params.startswith("(")
            and (not local_part_limit or len(found["local"]) <= local_part_limit)
        ):
            return found[1], params
    try:
        if arg.lstrip().startswith("<"):
            angle, rest = get_angle_addr(arg)
            address = angle.addr_spec
        else:
            spec, rest = get_addr_spec(arg)
            address = spec.addr_spec
    except Exception:  # HeaderParseError, and on some paths IndexError (`0@`) or
        raise UnparsablePath(arg) from None  # AttributeError (`<a@[1.2.3.4>`)
    if address is None:
        raise UnparsablePath(arg)
    local = address.rpartition("@")[0]
    if local_part_limit and len(local) > local_part_limit:
        raise UnparsablePath(arg)
    return address, rest
