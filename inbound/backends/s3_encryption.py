"""SES's client-side S3 encryption, both ways: pure functions over bytes (spec receiving.md §3.3).

SES encrypts with the Amazon S3 Encryption Client in its V2 format with the *legacy* `kms`
key wrap: AES-256-GCM over the message (12-byte IV, 16-byte tag appended), the data key
wrapped by KMS `GenerateDataKey`, and in the object's user metadata:

    x-amz-key-v2  x-amz-iv  x-amz-cek-alg=AES/GCM/NoPadding  x-amz-wrap-alg=kms
    x-amz-tag-len=128  x-amz-unencrypted-content-length  x-amz-matdesc

For the `kms` wrap, readers (the official clients) call KMS `Decrypt` with the *matdesc* as
encryption context: SES's context `{aws:ses:message-id, aws:ses:rule-name,
aws:ses:source-account}` plus `kms_cmk_id`. So the data key is generated under that same full
context, or no client can unwrap it. KMS calls go through a `KeyService` (backends/__init__.py).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping

from inbound.backends import KeyService, aead

CEK_ALG = "AES/GCM/NoPadding"
WRAP_ALG = "kms"
TAG_BITS = 128


class DecryptionError(Exception):
    """The object is not in SES's format, or its key or tag does not check out."""


def ses_context(message_id: str, rule_name: str, account_id: str) -> dict[str, str]:
    """SES's KMS encryption context (spec §3.3), in the order SES writes it in the matdesc."""
    return {
        "aws:ses:message-id": message_id,
        "aws:ses:rule-name": rule_name,
        "aws:ses:source-account": account_id,
    }


def material_description(context: Mapping[str, str], key_arn: str) -> dict[str, str]:
    """The matdesc: the context plus `kms_cmk_id`, the KmsKeyArn as configured (alias ARNs too)."""
    return {**context, "kms_cmk_id": key_arn}


def encrypt(
    plaintext: bytes,
    data_key: bytes,
    wrapped_key: bytes,
    matdesc: Mapping[str, str],
    iv: bytes | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, user metadata) of an SES-format object."""
    if len(data_key) != 32:
        raise ValueError("the data key must be 256 bits")
    iv = iv if iv is not None else os.urandom(12)
    body = aead.encrypt(data_key, iv, plaintext)  # ciphertext + 16-byte tag
    metadata = {
        "x-amz-key-v2": base64.b64encode(wrapped_key).decode("ascii"),
        "x-amz-iv": base64.b64encode(iv).decode("ascii"),
        "x-amz-cek-alg": CEK_ALG,
        "x-amz-wrap-alg": WRAP_ALG,
        "x-amz-tag-len": str(TAG_BITS),
        "x-amz-unencrypted-content-length": str(len(plaintext)),
        "x-amz-matdesc": json.dumps(dict(matdesc), separators=(",", ":")),
    }
    return body, metadata


async def encrypt_with_kms(
    kms: KeyService, key_arn: str, context: Mapping[str, str], plaintext: bytes
) -> tuple[bytes, dict[str, str]]:
    """What SES does for an S3 action with `KmsKeyArn`: a fresh data key per object."""
    matdesc = material_description(context, key_arn)
    data_key, wrapped = await kms.generate_data_key(key_arn, matdesc)
    return encrypt(plaintext, data_key, wrapped, matdesc)


def is_encrypted(metadata: Mapping[str, str]) -> bool:
    return "x-amz-key-v2" in _lower(metadata)


def wrapped_key(metadata: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """(ciphertext blob, KMS encryption context) to unwrap the data key with."""
    meta = _lower(metadata)
    if meta.get("x-amz-wrap-alg") != WRAP_ALG:
        raise DecryptionError(f"unsupported key wrap: {meta.get('x-amz-wrap-alg')!r}")
    try:
        context = json.loads(meta["x-amz-matdesc"])
        return base64.b64decode(meta["x-amz-key-v2"], validate=True), context
    except (KeyError, ValueError) as exc:
        raise DecryptionError(f"bad encryption metadata: {exc}") from None


def decrypt(body: bytes, metadata: Mapping[str, str], data_key: bytes) -> bytes:
    meta = _lower(metadata)
    if meta.get("x-amz-cek-alg") != CEK_ALG or meta.get("x-amz-tag-len", "128") != "128":
        raise DecryptionError(f"unsupported content algorithm: {meta.get('x-amz-cek-alg')!r}")
    try:
        iv = base64.b64decode(meta["x-amz-iv"], validate=True)
        plaintext = aead.decrypt(data_key, iv, body)
    except Exception as exc:
        raise DecryptionError(f"cannot decrypt: {type(exc).__name__} {exc}") from None
    expected = meta.get("x-amz-unencrypted-content-length")
    if expected is not None and expected != str(len(plaintext)):
        raise DecryptionError("x-amz-unencrypted-content-length does not match")
    return plaintext


async def decrypt_with_kms(kms: KeyService, body: bytes, metadata: Mapping[str, str]) -> bytes:
    blob, context = wrapped_key(metadata)
    return decrypt(body, metadata, await kms.decrypt(blob, context))


def _lower(metadata: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in metadata.items()}
