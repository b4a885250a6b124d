"""AES-GCM from `cryptography`, imported on first use.

`cryptography` maps about 5 MB of native code into the process that loads it; the engine
needs it only when a rule encrypts (S3 `KmsKeyArn`) or a local KMS key is used, so servers
that never do stay that much smaller (benchmarks/ measure peak RSS).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class InvalidTagError(Exception):
    """The ciphertext or its associated data was tampered with, or the key is wrong."""


def encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes | None = None) -> bytes:
    """Ciphertext followed by the 16-byte tag."""
    return _cipher(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes | None = None) -> bytes:
    from cryptography.exceptions import InvalidTag

    try:
        return _cipher(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise InvalidTagError from None


def _cipher(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)
