"""DKIM verification of received mail: every `DKIM-Signature`, each with its own result.

SES evaluates DKIM "over all DKIM-Signature headers" of every message it receives (spec
receiving.md §6) and writes one `dkim=<result> header.i=@<d>` clause per signature in its
`Authentication-Results` (§5 item 6). dkimpy does the cryptography and the canonicalization
(rsa-sha256, rsa-sha1, ed25519-sha256 per RFC 8463 through PyNaCl; simple and relaxed; `l=`);
this module asks DNS itself, through the lookup it is given, so that each way a signature can
go wrong gets its own RFC 8601 §2.7.1 word, where `dkim.DKIM.verify` turns a missing key, a
broken key and a DNS timeout alike into False:

* pass: the signature verifies with the published key;
* fail: it does not (a changed header or body: RFC 6376 §6.1.3);
* policy: it verifies, or could, but is not acceptable: an RSA key under 1024 bits (RFC 8301
  §3.2), rsa-sha1 (RFC 8301 §3.1), an `x=` expiry in the past (RFC 6376 §3.5);
* temperror: the key could not be fetched now (timeout, SERVFAIL: RFC 6376 §6.1.2);
* permerror: the signature cannot be checked at all: its tag list is malformed or lacks a
  required tag, its algorithm or canonicalization is unknown, no key is published at
  `<s>._domainkey.<d>`, or the key record is malformed or revoked (RFC 6376 §6.1.1, §6.1.2).

`neutral` is not written: RFC 8601 gives it to "syntax errors", which permerror already names,
and SES was observed writing `dkim=permerror header.i=@<d>` for such signatures (docs/
authentication.md, "DKIM").
"""

from __future__ import annotations

import binascii
import enum
import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inbound.dns import DnsSource
from inbound.headers import Header, SplitMessage, body_start, unfolded
from inbound.receiving.verdicts import AuthInput, DkimOutcome, Status

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    from inbound.receiving.authentication import canonical

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: smaller keys "MUST NOT" be considered valid
KEY_CACHE = 1024  # key records kept parsed
_HASHES = {b"rsa-sha1": hashlib.sha1, b"rsa-sha256": hashlib.sha256,
           b"ed25519-sha256": hashlib.sha256}  # fmt: skip


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


class DkimVerifier:
    """The DKIM of `DnsAuthenticator`: every signature verified against `source`'s keys."""

    def __init__(self, source: DnsSource) -> None:
        self._source = source

    def _txt(self, name: str) -> list[str] | None:
        return self._source.lookup(name, "TXT")

    def evaluate(self, message: AuthInput) -> DkimOutcome:
        results = verify(message.message, self._txt)
        return DkimOutcome(verdict(results), tuple(r.pair for r in results))


def verdict(results: Sequence[SignatureResult]) -> Status:
    """SES's `dkimVerdict` over every signature: GRAY when the message is not signed (spec
    §6); PASS when any signature passes, since one good signature is what DKIM vouches with
    and bad ones weigh nothing beside it (RFC 6376 §6.1); FAIL when one failed or was refused;
    PROCESSING_FAILED when none could be checked (DNS failure, malformed signature or key:
    spec §6, and SES's `dkim=permerror` with PROCESSING_FAILED in [OBS])."""
    words = {r.result for r in results}
    if not words:
        return Status.GRAY
    if Result.PASS in words:
        return Status.PASS
    if words & {Result.FAIL, Result.POLICY}:
        return Status.FAIL
    return Status.PROCESSING_FAILED


def signed(raw: bytes) -> bool:
    """Whether the message's header block names a DKIM-Signature at all."""
    return b"dkim-signature" in raw[: body_start(raw)].lower()


def verify(raw: bytes, lookup: TxtLookup) -> tuple[SignatureResult, ...]:
    """Every DKIM-Signature of `raw` (the message as received, before SES's headers) checked
    against the keys `lookup` finds; () when the message carries none."""
    if not signed(raw):
        return ()  # unsigned: no parse, no cost (most mail a test sends)
    start = body_start(raw)
    head, body = raw[:start], raw[start:]
    # dkimpy, PyNaCl and cryptography (~8 MB of a server's memory) load with the first signed
    # message, here and in the functions below.
    import dkim

    from inbound.receiving.authentication import canonical

    try:
        fields = canonical.header_fields(head)
    except dkim.DKIMException as error:  # a header line DKIM cannot read: none can be checked
        return tuple(
            SignatureResult(Result.PERMERROR, *_signer(value), f"unreadable message: {error}")
            for value in _signatures(SplitMessage.parse(raw).headers)
        )
    return tuple(
        _check(fields, body, field, lookup)
        for field in fields
        if field[0].lower() == b"dkim-signature"
    )


def _signatures(headers: Iterable[Header]) -> list[str]:
    return [value for name, value in headers if name.lower() == "dkim-signature"]


def _signer(signature: str) -> tuple[str, str]:
    """The signature's d= and s=, as far as its tags parse: a broken signature is reported
    with its domain too."""
    tags: dict[str, str] = {}
    for item in unfolded(signature).split(";"):
        key, equals, value = item.partition("=")
        key = key.strip()
        if equals and key in ("d", "s") and key not in tags:  # the first of each counts
            tags[key] = "".join(value.split()).lower()
            if len(tags) == 2:
                break  # b=, usually after them, is the longest value: not read
    return tags.get("d", ""), tags.get("s", "")


def _check(
    fields: list[canonical.Field], body: bytes, field: canonical.Field, lookup: TxtLookup
) -> SignatureResult:
    import dkim

    from inbound.receiving.authentication import canonical

    domain, selector = _signer(field[1].decode("utf-8", "replace"))

    def result(word: Result, reason: object) -> SignatureResult:
        return SignatureResult(word, domain, selector, str(reason))

    try:
        signature, include = canonical.signature_tags(field[1])
    except dkim.ValidationError as error:
        expired = str(error).startswith("x= value is past")
        return result(Result.POLICY if expired else Result.PERMERROR, error)
    except dkim.DKIMException as error:
        return result(Result.PERMERROR, error)
    name = f"{selector}._domainkey.{domain}"
    records = lookup(name)
    if records is None:
        return result(Result.TEMPERROR, f"the key at {name} could not be looked up")
    if not records:
        return result(Result.PERMERROR, f"no key for signature at {name}")
    try:
        key = _public_key(records[0])
    except (dkim.DKIMException, binascii.Error, ValueError, TypeError) as error:
        return result(Result.PERMERROR, f"bad key record at {name}: {error}")
    try:
        word, why = _verify(fields, body, signature, include, field, key)
    except dkim.InvalidCanonicalizationPolicyError as error:
        return result(Result.PERMERROR, f"invalid c= value: {error}")
    return result(word, why)


@dataclass(frozen=True)
class _Key:
    public: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    bits: int


@functools.lru_cache(maxsize=KEY_CACHE)
def _public_key(record: str) -> _Key:
    """A key record read by dkimpy (tags, version, `k=`, `s=`, the key's ASN.1), as an
    OpenSSL key: dkimpy's own RSA is pure Python, ~300 µs per 2048-bit signature, a fifth of
    what receiving a 10 KB message costs; OpenSSL's check is ~20 µs. Records repeat (one per
    sender's selector), so they are read once."""
    import dkim
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    pk, bits, ktag, _ = dkim.evaluate_pk("", record.encode("utf-8", "replace"))
    if ktag == b"ed25519":
        return _Key(ed25519.Ed25519PublicKey.from_public_bytes(bytes(pk)), bits)
    return _Key(rsa.RSAPublicNumbers(pk["publicExponent"], pk["modulus"]).public_key(), bits)


def _verify(
    fields: list[canonical.Field],
    body: bytes,
    sig: dict[bytes, bytes],
    include: list[bytes],
    field: canonical.Field,
    key: _Key,
) -> tuple[Result, str]:
    """dkimpy's `verify_sig_process` (canonicalization, `l=`, body hash, the signed header
    fields with the signature's own, b= removed), with the signature checked by OpenSSL."""
    import dkim
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    from inbound.receiving.authentication import canonical

    policy = dkim.CanonicalizationPolicy.from_c_value(sig.get(b"c", b"simple/simple"))
    algorithm = sig[b"a"]
    relaxed = policy.body_algorithm.name == b"relaxed"
    length = int(sig[b"l"]) if b"l" in sig else None
    if canonical.body_hash(body, relaxed, length, _HASHES[algorithm]) != canonical.tag_base64(
        sig[b"bh"]
    ):
        return Result.FAIL, "body hash mismatch"
    if b"from" in include:  # as dkimpy: a From added above the signed one breaks it
        include.append(b"from")
    relaxed = policy.header_algorithm.name == b"relaxed"
    hashed = _HASHES[algorithm](canonical.headers_hashed(fields, include, field, relaxed))
    signature = canonical.tag_base64(sig[b"b"])
    try:
        if isinstance(key.public, ed25519.Ed25519PublicKey):
            key.public.verify(signature, hashed.digest())  # RFC 8463 §3: the SHA-256 digest
        else:
            prehashed = Prehashed(hashes.SHA1() if algorithm == b"rsa-sha1" else hashes.SHA256())
            key.public.verify(signature, hashed.digest(), padding.PKCS1v15(), prehashed)
    except InvalidSignature:
        return Result.FAIL, "signature does not verify"
    if isinstance(key.public, rsa.RSAPublicKey) and key.bits < MIN_RSA_BITS:
        return Result.POLICY, f"public key too small: {key.bits} bits"
    if algorithm == b"rsa-sha1":
        return Result.POLICY, "rsa-sha1 is not accepted (RFC 8301)"
    return Result.PASS, "verified"
