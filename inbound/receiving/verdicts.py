"""Verdict providers: spam, virus, SPF, DKIM, DMARC (spec receiving.md §5, §6).

Providers are small objects with one method, chosen in `app.py`, so a DNS-backed SPF/DKIM/DMARC
evaluator replaces one without touching the pipeline; spamd and clamd (receiving/scanning.py)
are asked after the built-in test signatures, and forced verdicts (receiving/forced.py) go over
all of them (docs/authentication.md). Built in:

* spam: GTUBE, the standard anti-spam test string ⇒ FAIL, else PASS;
* virus: EICAR, the standard anti-virus test file (also inside base64 / quoted-printable
  parts) ⇒ FAIL, else PASS;
* authentication without DNS (no `[dns]` source): nothing that needs DNS is claimed. SPF and
  DMARC are `temperror` ⇒ PROCESSING_FAILED (SES's word for "could not be checked", e.g. a
  DNS failure); DKIM is `UNVERIFIED_DKIM`: GRAY when the message carries no DKIM-Signature
  (true without DNS) and `temperror` ⇒ PROCESSING_FAILED for each signature it cannot verify.

With a DNS source, `receiving/authentication/` evaluates SPF, DKIM and DMARC for real.
"""

from __future__ import annotations

import binascii
import email
import enum
import quopri
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email import policy
from typing import Protocol

from inbound.headers import Header, unfolded
from inbound.receiving.receipt import printable


class Status(enum.StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    GRAY = "GRAY"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    DISABLED = "DISABLED"


GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass(frozen=True)
class AuthResult:
    """SPF/DKIM/DMARC outcome with the RFC result words SES's headers carry."""

    spf: Status
    spf_result: str  # RFC 7208 word: pass, fail, softfail, neutral, none, temperror, permerror
    spf_explanation: str
    dkim: Status
    dkim_results: tuple[tuple[str, str], ...]  # (RFC 8601 result, signing domain) per signature
    dmarc: Status
    dmarc_result: str
    dmarc_policy: str | None = None  # only when DMARC fails (§4.3)


@dataclass(frozen=True)
class AuthInput:
    client_ip: str
    helo: str
    mail_from: str
    headers: Sequence[Header]
    message: bytes = b""  # the whole message as received: DKIM hashes its body


@dataclass(frozen=True)
class DkimOutcome:
    """SES's `dkimVerdict`, and (RFC 8601 result, signing domain) per signature in order."""

    status: Status
    results: tuple[tuple[str, str], ...]


class ContentScanner(Protocol):
    """Async: a daemon scanner waits on its socket (receiving/scanning.py)."""

    async def scan(self, raw: bytes) -> Status: ...


class Authenticator(Protocol):
    async def authenticate(self, message: AuthInput) -> AuthResult:
        """The message's SPF, DKIM and DMARC: on the event loop, in a thread or in another
        process, as each authenticator's costs make best."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Verdicts:
    """A message's verdicts, evaluated once per message (receiving/evaluation.py): `spam` and
    `virus` are DISABLED when no rule it matched scans; `forced` names the override behind
    each forced verdict, by its `receipt` field (`dmarcVerdict`: `api:no-dmarc`)."""

    auth: AuthResult
    spam: Status
    virus: Status
    forced: Mapping[str, str]


_ENCODINGS = (b"base64", b"quoted-printable")
_CHUNK = 1 << 20


def has_encoded_part(raw: bytes, chunk: int = _CHUNK) -> bool:
    """Whether `base64` or `quoted-printable` appears in `raw`, in any case: lowered `chunk`
    bytes at a time, overlapping by a marker's length. A case-insensitive regex took 150 µs
    per 10 KB (a tenth of what receiving a message costs, paid by every message sent), and
    one lowered copy of the whole would double a 40 MB message."""
    overlap = max(map(len, _ENCODINGS)) - 1
    for start in range(0, len(raw), chunk):
        lowered = raw[max(0, start - overlap) : start + chunk].lower()
        if any(marker in lowered for marker in _ENCODINGS):
            return True
    return False


def _decoded_parts(raw: bytes) -> list[bytes]:
    """The raw message and every base64 / quoted-printable leaf decoded, as a scanner sees it."""
    texts = [raw]
    if not has_encoded_part(raw):
        return texts
    for part in email.message_from_bytes(raw, policy=policy.compat32).walk():
        cte = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
        payload = part.get_payload()
        if part.is_multipart() or not isinstance(payload, str):
            continue
        data = payload.encode("ascii", "replace")
        try:
            if cte == "base64":
                texts.append(binascii.a2b_base64(data))
            elif cte == "quoted-printable":
                texts.append(quopri.decodestring(data))
        except (binascii.Error, ValueError):
            continue  # undecodable part: scanned as received only
    return texts


@dataclass(frozen=True)
class SignatureScanner:
    """FAIL when a test signature (GTUBE, EICAR) appears in the message or a decoded part."""

    signature: bytes

    async def scan(self, raw: bytes) -> Status:
        if any(self.signature in text for text in _decoded_parts(raw)):
            return Status.FAIL
        return Status.PASS


GTUBE_SCANNER = SignatureScanner(GTUBE)
EICAR_SCANNER = SignatureScanner(EICAR)


class UnverifiedDkim:
    """DKIM that verifies nothing (see the module docstring): no signature is claimed good."""

    def evaluate(self, message: AuthInput) -> DkimOutcome:
        domains = [
            _tag(unfolded(value), "d")
            for name, value in message.headers
            if name.lower() == "dkim-signature"
        ]
        return DkimOutcome(
            Status.PROCESSING_FAILED if domains else Status.GRAY,
            tuple(("temperror", d) for d in domains),
        )


UNVERIFIED_DKIM = UnverifiedDkim()


class NoDnsAuthenticator:
    """Reports what is true when no DNS evaluation is configured (see module docstring)."""

    EXPLANATION = "SPF evaluation requires DNS, which is not configured"

    async def authenticate(self, message: AuthInput) -> AuthResult:
        return self.evaluate(message)

    def evaluate(self, message: AuthInput) -> AuthResult:
        dkim = UNVERIFIED_DKIM.evaluate(message)
        return AuthResult(
            spf=Status.PROCESSING_FAILED,
            spf_result="temperror",
            spf_explanation=self.EXPLANATION,
            dkim=dkim.status,
            dkim_results=dkim.results,
            dmarc=Status.PROCESSING_FAILED,
            dmarc_result="temperror",
        )

    async def close(self) -> None:
        pass


def _tag(signature: str, tag: str) -> str:
    for item in signature.split(";"):
        key, _, value = item.strip().partition("=")
        if key.strip() == tag:
            return "".join(value.split())
    return ""


def header_from_domain(headers: Sequence[Header]) -> str:
    for name, value in headers:
        if name.lower() == "from":
            address = unfolded(value)
            if "<" in address:
                address = address[address.rindex("<") + 1 :].rstrip(">").strip()
            return address.rpartition("@")[2].strip().lower()
    return ""


def auth_headers(result: AuthResult, message: AuthInput) -> list[Header]:
    """Received-SPF and Authentication-Results in SES's form (§5 items 5, 6); their values are
    one line each, with the envelope's and the message's words made `printable`."""
    envelope = f"client-ip={message.client_ip}; envelope-from={message.mail_from}; " + (
        f"helo={message.helo};"
    )
    spf = f"{result.spf_result} (spfCheck: {result.spf_explanation}) {envelope}"
    clauses = [f"spf={spf}"]
    clauses += [f"dkim={r} header.i=@{d};" for r, d in result.dkim_results]
    clauses.append(
        f"dmarc={result.dmarc_result} header.from={header_from_domain(message.headers)};"
    )
    return [
        ("Received-SPF", printable(spf)),
        ("Authentication-Results", printable("amazonses.com; " + " ".join(clauses))),
    ]
