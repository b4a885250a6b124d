"""One DKIM-Signature checked against its published key (receiving/authentication/dkim.py
says which result word each failure gets): dkimpy reads the key record and the `c=` names,
`canonical.py` computes the hashes, OpenSSL checks the signature.

dkimpy, PyNaCl and cryptography (~8 MB of a server's memory) are imported here at the top, and
this module only with the first signed message: unsigned mail, most of what a test sends, never
loads them. Imported once, not by an `import` in each function: those cost ~10 µs a message.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
from dataclasses import dataclass
from typing import cast

import dkim
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from inbound.receiving.authentication import canonical
from inbound.receiving.authentication.results import Result, TxtLookup

MIN_RSA_BITS = 1024  # RFC 8301 §3.2: smaller keys "MUST NOT" be considered valid
KEY_CACHE = 1024  # key records kept parsed
_HASHES = {b"rsa-sha1": hashlib.sha1, b"rsa-sha256": hashlib.sha256,
           b"ed25519-sha256": hashlib.sha256}  # fmt: skip
_PKCS1 = padding.PKCS1v15()
_SHA1, _SHA256 = Prehashed(hashes.SHA1()), Prehashed(hashes.SHA256())


def check(
    fields: list[canonical.Field],
    body: bytes,
    field: canonical.Field,
    lookup: TxtLookup,
    domain: str,
    selector: str,
) -> tuple[Result, str]:
    """The result of the signature `field` (its `d=` and `s=`: `domain`, `selector`) of a
    message whose header fields are `fields`, and why, in words."""

    def result(word: Result, reason: object) -> tuple[Result, str]:
        return word, str(reason)

    try:
        tags, include = canonical.signature_tags(field[1])
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
        return _verify(fields, body, tags, include, field, key)
    except dkim.InvalidCanonicalizationPolicyError as error:
        return result(Result.PERMERROR, f"invalid c= value: {error}")


@dataclass(frozen=True)
class _Key:
    public: rsa.RSAPublicKey | ed25519.Ed25519PublicKey
    bits: int
    ed25519: bool  # known once: an isinstance of these ABCs costs a µs a message


@functools.lru_cache(maxsize=KEY_CACHE)
def _public_key(record: str) -> _Key:
    """A key record read by dkimpy (tags, version, `k=`, `s=`, the key's ASN.1), as an
    OpenSSL key: dkimpy's own RSA is pure Python, ~300 µs per 2048-bit signature, a fifth of
    what receiving a 10 KB message costs; OpenSSL's check is ~20 µs. Records repeat (one per
    sender's selector), so they are read once."""
    pk, bits, ktag, _ = dkim.evaluate_pk("", record.encode("utf-8", "replace"))
    if ktag == b"ed25519":
        return _Key(ed25519.Ed25519PublicKey.from_public_bytes(bytes(pk)), bits, True)
    public = rsa.RSAPublicNumbers(pk["publicExponent"], pk["modulus"]).public_key()
    return _Key(public, bits, False)


@functools.lru_cache(maxsize=64)
def _policy(c_value: bytes) -> dkim.CanonicalizationPolicy:
    return dkim.CanonicalizationPolicy.from_c_value(c_value)


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
    policy = _policy(sig.get(b"c", b"simple/simple"))
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
        if key.ed25519:  # RFC 8463 §3: the SHA-256 digest is what is signed
            cast(ed25519.Ed25519PublicKey, key.public).verify(signature, hashed.digest())
        else:
            prehashed = _SHA1 if algorithm == b"rsa-sha1" else _SHA256
            cast(rsa.RSAPublicKey, key.public).verify(signature, hashed.digest(), _PKCS1, prehashed)
    except InvalidSignature:
        return Result.FAIL, "signature does not verify"
    if not key.ed25519 and key.bits < MIN_RSA_BITS:
        return Result.POLICY, f"public key too small: {key.bits} bits"
    if algorithm == b"rsa-sha1":
        return Result.POLICY, "rsa-sha1 is not accepted (RFC 8301)"
    return Result.PASS, "verified"
