"""The embedded KMS: symmetric key material per key ARN in `DATA/kms/`, nothing else.

Enough KMS for SES's client-side S3 encryption (spec receiving.md §3.3): `GenerateDataKey`
(AES_256) and `Decrypt`, with the encryption context bound to the ciphertext blob as AWS
binds it. Any key id is accepted, `alias/aws/ses` and alias ARNs included; its material is
generated on first use. The blob is an AES-256-GCM wrap of the data key under that material:

    b"inbound-kms1" | u16 length | key id (UTF-8) | 12-byte nonce | wrapped key + 16-byte tag

with the canonical JSON of the encryption context as associated data, so a blob decrypts
only with the context it was made with (KMS's InvalidCiphertextException otherwise).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from inbound.backends import aead
from inbound.backends.errors import BackendError
from inbound.datadir import under

MAGIC = b"inbound-kms1"


class KeyNotFound(BackendError):
    """No key material for the key id (KMS's NotFoundException)."""


class InvalidCiphertext(BackendError):
    """Not a blob of this KMS, or not for this context (KMS's InvalidCiphertextException)."""


class LocalKms:
    def __init__(self, root: Path | None) -> None:
        self.root = root  # None: keys live in memory only
        self._keys: dict[str, bytes] = {}
        self._lock = threading.Lock()

    async def generate_data_key(
        self, key_id: str, context: Mapping[str, str], size: int = 32
    ) -> tuple[bytes, bytes]:
        data_key = os.urandom(size)
        return data_key, self.wrap(key_id, data_key, context)

    async def decrypt(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        return self.unwrap(blob, context)

    # ── synchronous core (also used by `inbound s3 get`) ────────────────────────────────────
    def wrap(self, key_id: str, data_key: bytes, context: Mapping[str, str]) -> bytes:
        if not key_id:
            raise BackendError("KMS: a key id is required")
        name = key_id.encode()
        nonce = os.urandom(12)
        wrapped = aead.encrypt(self._material(key_id, create=True), nonce, data_key, _aad(context))
        return MAGIC + struct.pack(">H", len(name)) + name + nonce + wrapped

    def unwrap(self, blob: bytes, context: Mapping[str, str]) -> bytes:
        key_id = self.key_of(blob)
        at = len(MAGIC) + 2 + len(key_id.encode())
        nonce, wrapped = blob[at : at + 12], blob[at + 12 :]
        try:
            return aead.decrypt(self._material(key_id, create=False), nonce, wrapped, _aad(context))
        except aead.InvalidTagError:
            raise InvalidCiphertext(
                "KMS InvalidCiphertextException: wrong key or encryption context"
            ) from None

    def key_of(self, blob: bytes) -> str:
        """The key id a blob was made under."""
        if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 2:
            raise InvalidCiphertext("KMS InvalidCiphertextException: not a local KMS blob")
        at = len(MAGIC)
        (size,) = struct.unpack(">H", blob[at : at + 2])
        try:
            return blob[at + 2 : at + 2 + size].decode()
        except UnicodeDecodeError:
            raise InvalidCiphertext(
                "KMS InvalidCiphertextException: not a local KMS blob"
            ) from None

    def created(self, key_id: str) -> float | None:
        """When the key's material was made (a POSIX time), or None when there is none."""
        try:
            self._material(key_id, create=False)
        except KeyNotFound:
            return None
        if self.root is None:
            return time.time()
        return os.stat(self._path(key_id)).st_mtime

    def _material(self, key_id: str, *, create: bool) -> bytes:
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                key = self._load(key_id, create)
                self._keys[key_id] = key
            return key

    def _path(self, key_id: str) -> Path:
        assert self.root is not None
        return under(self.root, f"{hashlib.sha256(key_id.encode()).hexdigest()[:32]}.key")

    def _load(self, key_id: str, create: bool) -> bytes:
        if self.root is None:
            if not create:
                raise KeyNotFound(f"KMS NotFoundException: no key material for {key_id}")
            return os.urandom(32)
        path = self._path(key_id)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise KeyNotFound(f"KMS NotFoundException: no key material for {key_id}") from None
        self.root.mkdir(parents=True, exist_ok=True)
        # Written beside, then hard-linked into place: link() fails if another process won
        # the race, and a reader never sees a partial key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        with under(self.root, "keys.jsonl").open("a", encoding="utf-8") as index:
            index.write(json.dumps({"file": path.name, "keyId": key_id}) + "\n")
        return path.read_bytes()


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()
