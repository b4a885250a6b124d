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

Keys are made with `cryptography` in a short-lived child process, as tls.py makes certificates:
the server itself never loads it; dkimpy (which loads dnspython) is imported on the first
signature, so a server that signs nothing never loads either.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from inbound.datadir import under
from inbound.identities import rules as ident
from inbound.identities.rules import SUCCESS, Identity
from inbound.sending import checks

KEY_BITS = 2048
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


def signer(address: str, identities: Mapping[str, Identity]) -> Signer | None:
    """The Easy DKIM setup that signs mail from `address`, or None: the verified identity it
    sends as (the address, else its domain or a parent domain), that identity's DKIM domain
    with its tokens verified (`DkimVerificationStatus` Success), and DKIM enabled for the
    identity (SetIdentityDkimEnabled; on by default once set up)."""
    identity = checks.sending_identity(address, identities)
    if identity is None:
        return None
    domain = ident.dkim_domain(identities, identity)
    if domain is None or domain.dkim_status != SUCCESS or not domain.dkim_tokens:
        return None
    if not ident.dkim_enabled(identity, domain):
        return None
    return Signer(domain.name, domain.dkim_tokens[0])


def from_address(raw: bytes) -> str | None:
    """The first From address of a built message: the identity Easy DKIM signs for."""
    parsed = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    addresses = getattr(parsed.get("From"), "addresses", ())
    return addresses[0].addr_spec if addresses else None


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
class DkimKeys:
    """One RSA key per Easy DKIM domain, kept in `<data dir>/dkim/<domain>.pem` with its
    published record beside it (`<domain>.txt`)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    def _paths(self, domain: str) -> tuple[Path, Path]:
        return (
            under(self._data_dir, "dkim", f"{domain}.pem"),
            under(self._data_dir, "dkim", f"{domain}.txt"),
        )

    def _missing(self, domain: str) -> list[str]:
        """The command that makes `domain`'s key, or [] when it has one."""
        private, public = self._paths(domain)
        if private.exists() and public.exists():
            return []
        return [sys.executable, "-m", "inbound.sending.easy_dkim", str(private), str(public)]

    async def ensure(self, domain: str) -> None:
        """Make `domain`'s key unless it has one (VerifyDomainDkim, the record's route)."""
        command = self._missing(domain)
        if command:
            child = await asyncio.create_subprocess_exec(*command)
            if await child.wait() != 0:
                raise RuntimeError(f"could not make the DKIM key of {domain}")

    def private_key(self, domain: str) -> bytes:
        """The key that signs; made here, blocking, only for a domain set up for Easy DKIM
        before this engine kept keys (VerifyDomainDkim makes it otherwise)."""
        command = self._missing(domain)
        if command:
            subprocess.run(command, check=True)
        return self._paths(domain)[0].read_bytes()

    def txt_record(self, domain: str) -> str:
        """The TXT value that publishes `domain`'s key: `v=DKIM1; k=rsa; p=<base64 DER>`."""
        return self._paths(domain)[1].read_text(encoding="ascii").strip()


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


def generate(private_path: Path, public_path: Path) -> None:
    """A 2048-bit RSA key (PEM, mode 0600) and its TXT record; the record is written
    last, so a key without one is made again."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # RFC 8017 RSAPrivateKey, as dkimpy reads
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    _write_durably(private_path, pem, 0o600)
    record = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    _write_durably(public_path, record.encode(), 0o644)
    directory = os.open(private_path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


if __name__ == "__main__":
    generate(Path(sys.argv[1]), Path(sys.argv[2]))
