"""Easy DKIM: the engine's signing key per domain, the record that publishes it, and the
DKIM-Signature SES puts on mail sent from a DKIM-enabled identity.

SES signs "messages that you send from [a verified identity] using Easy DKIM" with a 2048-bit
RSA key it keeps, publishing the public key behind the three CNAMEs `<token>._domainkey.<domain>`
→ `<token>.dkim.amazonses.com` (DG, "Easy DKIM in Amazon SES"; "Amazon SES now uses 2048-bit
keys"). This engine keeps one such key per domain under `<data dir>/dkim/`, signs with the
first token as the selector and `d=` the domain, and publishes the key as the TXT record a
verifier looks up (`GET /api/identities/{identity}/dkim`, docs/behaviour.md "DKIM").

The signature has SES's form as far as dkimpy writes it: `a=rsa-sha256`, `c=relaxed/simple`,
`q=dns/txt`, `t=` and no `x=`, and `h=` the header fields SES signs that the message has, in
the message's order (real SES-sent messages sign
`From:To:Subject:MIME-Version:Content-Type:Content-Transfer-Encoding:Message-ID:Date`; the
address, threading and list fields are added here by decision). dkimpy also writes `i=@<d>`.

Bring Your Own DKIM (BYODKIM, PutEmailIdentityDkimSigningAttributes with `EXTERNAL`) signs
with the user's key instead, under the user's selector: "The private key that you generate has
to be in either PKCS #1 or PKCS #8 format, must use at least 1024-bit RSA encryption and up to
2048-bit, and be encoded using base64 (PEM) encoding" (DG, "Provide your own DKIM
authentication token (BYODKIM)"). That key is kept beside the Easy DKIM one
(`<domain>.byodkim.pem`), with the `p=` record its public key needs.

Keys are made and read with `cryptography` in a short-lived child process, as tls.py makes
certificates: the server itself never loads it; dkimpy (which loads dnspython) is imported on
the first signature, so a server that signs nothing never loads either.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inbound.datadir import under
from inbound.identities import rules as ident
from inbound.identities.rules import SUCCESS, Identity
from inbound.sending import checks, mime

KEY_BITS = 2048
MODULE = "inbound.sending.easy_dkim"  # run as a child: `python -m` this module
EXTERNAL_BITS = range(1024, 2049)  # BYODKIM: "at least 1024-bit RSA encryption and up to 2048-bit"
# The fields SES's signatures cover, in SES's spelling; only those present are signed.
SIGNED_FIELDS = {
    name.lower(): name
    for name in (
        "From", "Sender", "Reply-To", "To", "Cc", "Subject", "In-Reply-To", "References",
        "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type",
        "Content-Transfer-Encoding", "Message-ID", "Date",
    )
}  # fmt: skip


@dataclass(frozen=True)
class Signer:
    """Who signs a message: `d=` and `s=`."""

    domain: str
    selector: str
    external: bool = False  # BYODKIM: the user's key


def signer(address: str, identities: Mapping[str, Identity]) -> Signer | None:
    """The Easy DKIM setup that signs mail from `address`, or None: the verified identity it
    sends as (the address, else its domain or a parent domain), that identity's DKIM domain
    with its tokens (or BYODKIM selector) verified (`DkimVerificationStatus` Success), and DKIM
    enabled for the identity (SetIdentityDkimEnabled; on by default once set up). A BYODKIM
    domain still Pending signs nothing: "your emails may be sent by SES without a DKIM
    signature" until SES can confirm the DNS record (DG, BYODKIM, "Warning")."""
    identity = checks.sending_identity(address, identities)
    if identity is None:
        return None
    domain = ident.dkim_domain(identities, identity)
    if domain is None or domain.dkim_status != SUCCESS or not domain.dkim_tokens:
        return None
    if not ident.dkim_enabled(identity, domain):
        return None
    return Signer(domain.name, domain.dkim_tokens[0], domain.dkim_origin == ident.EXTERNAL)


def from_address(raw: bytes) -> str | None:
    """The first From address of a built message: the identity Easy DKIM signs for."""
    addresses = mime.parse_header(raw).addresses("From")
    return addresses[0] if addresses else None


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def sign(raw: bytes, signer: Signer, private_key: bytes) -> bytes:
    """`raw` with a DKIM-Signature field on top (RFC 6376), its line ends kept."""
    import dkim  # dkimpy, and dnspython with it: loaded only when something is signed

    eol = b"\r\n" if b"\r\n" in raw.partition(b"\n")[0] + b"\n" else b"\n"
    present = [_name(f) for f in _fields(raw, eol)]
    names = [SIGNED_FIELDS[n] for n in dict.fromkeys(present) if n in SIGNED_FIELDS]
    field = dkim.sign(
        raw,
        signer.selector.encode(),
        signer.domain.encode(),
        private_key,
        canonicalize=(b"relaxed", b"simple"),
        include_headers=[n.encode() for n in names],
        linesep=eol,
    )
    assert isinstance(field, bytes)
    return field + raw


def _name(field: bytes) -> str:
    return field.partition(b":")[0].strip().lower().decode("ascii", "replace")


def _fields(raw: bytes, eol: bytes) -> list[bytes]:
    head = raw.partition(eol + eol)[0]
    return [line for line in head.split(eol) if line and line[:1] not in (b" ", b"\t")]


# ── the keys ────────────────────────────────────────────────────────────────────────────────
class InvalidKey(ValueError):
    """A BYODKIM private key SES would refuse; the message says why."""


class DkimKeys:
    """Per domain, one Easy DKIM RSA key (`<data dir>/dkim/<domain>.pem`) and the user's
    BYODKIM key when one was given (`<domain>.byodkim.pem`), each with its published record
    beside it (`.txt`)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    def _paths(self, domain: str, external: bool = False) -> tuple[Path, Path]:
        stem = f"{domain}.byodkim" if external else domain
        return (
            under(self._data_dir, "dkim", f"{stem}.pem"),
            under(self._data_dir, "dkim", f"{stem}.txt"),
        )

    def _missing(self, domain: str, bits: int) -> list[str]:
        """The command that makes `domain`'s key, or [] when it has one."""
        private, public = self._paths(domain)
        if private.exists() and public.exists():
            return []
        return [sys.executable, "-m", MODULE, "generate", str(private), str(public), str(bits)]

    async def ensure(self, domain: str, bits: int = KEY_BITS, fresh: bool = False) -> None:
        """Make `domain`'s key unless it has one (VerifyDomainDkim, the record's route);
        `fresh` replaces it (Easy DKIM set up again after BYODKIM: new tokens, a new key)."""
        if fresh:
            for path in self._paths(domain):
                path.unlink(missing_ok=True)
        command = self._missing(domain, bits)
        if command:
            child = await asyncio.create_subprocess_exec(*command)
            if await child.wait() != 0:
                raise RuntimeError(f"could not make the DKIM key of {domain}")

    async def put_external(self, domain: str, private_key: str) -> str:
        """Check the user's BYODKIM key (base64 DER, PKCS #1 or #8) and keep it durably;
        returns the base64 public key its `p=` record must carry. `InvalidKey` says why a key
        is refused."""
        try:
            der = base64.b64decode(private_key, validate=True)
        except binascii.Error:
            raise InvalidKey("the private key is not base64") from None
        private, public = self._paths(domain, external=True)
        command = [sys.executable, "-m", MODULE, "import", str(private), str(public)]
        child = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await child.communicate(der)
        answer = json.loads(out or b"{}")
        if child.returncode != 0 or "error" in answer:
            raise InvalidKey(answer.get("error", "the private key could not be read"))
        return str(answer["publicKey"])

    def private_key(self, domain: str, external: bool = False) -> bytes:
        """The key that signs; an Easy DKIM key is made here, blocking, only for a domain set
        up before this engine kept keys (VerifyDomainDkim makes it otherwise)."""
        command = [] if external else self._missing(domain, KEY_BITS)
        if command:
            subprocess.run(command, check=True)
        return self._paths(domain, external)[0].read_bytes()

    def txt_record(self, domain: str, external: bool = False) -> str:
        """The TXT value that publishes `domain`'s key: `v=DKIM1; k=rsa; p=<base64 DER>`."""
        return self._paths(domain, external)[1].read_text(encoding="ascii").strip()


def _write_durably(path: Path, data: bytes, mode: int) -> None:
    """Write, fsync, then rename into place: a crash leaves the old file or the new one."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)


def _keep(private_path: Path, public_path: Path, key: Any) -> str:
    """Write `key` (PEM, mode 0600) and its TXT record durably, the record last, so a key
    without one is made again; returns the base64 public key."""
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # RFC 8017 RSAPrivateKey, as dkimpy reads
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public = base64.b64encode(der).decode()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    _write_durably(private_path, pem, 0o600)
    _write_durably(public_path, f"v=DKIM1; k=rsa; p={public}".encode(), 0o644)
    directory = os.open(private_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return public


def generate(private_path: Path, public_path: Path, bits: int = KEY_BITS) -> None:
    """An Easy DKIM key of `bits` (NextSigningKeyLength: RSA_1024_BIT or RSA_2048_BIT)."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    _keep(private_path, public_path, rsa.generate_private_key(65537, bits))


def import_key(private_path: Path, public_path: Path, der: bytes) -> dict[str, Any]:
    """A BYODKIM key as SES takes it: DER of PKCS #1 (RSAPrivateKey) or PKCS #8, RSA, of 1024
    to 2048 bits. OpenSSL checks the key's consistency as it loads it, so a key whose parts do
    not belong together is refused too. Nothing is written unless the key is taken."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        key = load_der_private_key(der, password=None)
    except (ValueError, TypeError):
        return {"error": "the private key is not an unencrypted PKCS #1 or PKCS #8 key"}
    if not isinstance(key, rsa.RSAPrivateKey):
        return {"error": "the private key is not an RSA key"}
    if key.key_size not in EXTERNAL_BITS:
        return {"error": f"the private key has {key.key_size} bits, not 1024 to 2048"}
    return {"publicKey": _keep(private_path, public_path, key), "bits": key.key_size}


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        private, public = Path(sys.argv[2]), Path(sys.argv[3])
        # worker processes asking at once (docs/workers.md) make one key, not two halves
        private.parent.mkdir(parents=True, exist_ok=True)
        with private.with_name(private.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (private.exists() and public.exists()):
                generate(private, public, int(sys.argv[4]))
    else:
        print(json.dumps(import_key(Path(sys.argv[2]), Path(sys.argv[3]), sys.stdin.buffer.read())))
