"""What a DKIM check says (dkim.py, signature.py): the result words, one signature's result,
and the lookup it asks for keys. Apart from both, so that the check of one signature (which
loads dkimpy and cryptography) and the verifier that loads it lazily share them."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# The TXT records at a name, each one's strings joined (RFC 6376 §3.6.2.2); empty when the
# name or its TXT records do not exist; None when DNS could not answer now (a timeout,
# SERVFAIL): the DNS source's `lookup(name, "TXT")` (inbound/dns).
TxtLookup = Callable[[str], Sequence[str] | None]


class Result(enum.StrEnum):
    """The RFC 8601 §2.7.1 result words this verifier writes."""

    PASS = "pass"
    FAIL = "fail"
    POLICY = "policy"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


@dataclass(frozen=True)
class SignatureResult:
    """One DKIM-Signature's outcome, in the order the signatures appear in the message."""

    result: Result
    domain: str  # the signature's d= ("" when it has none)
    selector: str  # s=
    reason: str  # why, in words; SES's header carries only the result and the domain

    @property
    def pair(self) -> tuple[str, str]:
        """(RFC 8601 result, signing domain): what `Authentication-Results` writes."""
        return (self.result.value, self.domain)
