"""Signed mail for the DKIM tests: keys whose public halves are in a zone built here (read by
dnspython, as a server's `[dns]` zone file is), messages signed with dkimpy, and the TXT lookup
the verifier gets from the DNS source."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from inbound.dns.zone import Zone
from inbound.receiving.authentication.dkim import TxtLookup

DOMAIN = "signed.test"
DOWN = "down.test"  # every lookup under it fails as a timeout would

# RSA-512 (cryptography will not make one): what RFC 8301 forbids verifiers to accept.
SMALL_KEY = b"""-----BEGIN RSA PRIVATE KEY-----
MIIBPAIBAAJBAPhOZ9QyPsJVLkLo1qusinZ6+WilGQSKzGKnxmEJ84nFcRDkwsi1
/Jf3cY7QlcIYgQbHgQlanqR+T8JrEnllNSMCAwEAAQJBAKq7Dn1DBxAMDcEH5AMq
ohIRQEiJrIgI/7ud7LNwajoBY6DeKQq30CIONKX3Lz2GHfKXaA/ATTk1awsg/mFW
VWECIQD+EQhgRsXZX0+jyYPtDbHykGpJ59jJPtOWo7jpF+jL6wIhAPoyJp0zBfKx
xhdZ0JD/0I6GyTs53ZDaK6LnYonmcQWpAiAU9BipwAx/MfIigvMjcNa1N53cfIeP
iWPv747HgpZLgwIhAPNEU/tBIyVo6PzHXV2+/h+2um6VwvMWzprkdBE1OOuRAiEA
9HRwmGSwroYfxGyzgQwSeTurOZ4pX5gPIG3VCO98dDQ=
-----END RSA PRIVATE KEY-----
"""


def message(
    body: str = "Hello.\r\n", sender: str = f"alice@{DOMAIN}", subject: str = "Signed"
) -> bytes:
    return (
        f"From: Alice <{sender}>\r\nTo: user@example.com\r\nSubject: {subject}\r\n"
        "Date: Fri, 04 Dec 2026 18:00:00 +0000\r\nMessage-ID: <m1@signed.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}"
    ).encode()


def public_rsa(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def txt(value: str) -> str:
    """A TXT rdata of `value` in strings of at most 255 characters (RFC 1035)."""
    return " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))


@dataclass
class Keys:
    """The signing keys, made once per test session (an RSA-2048 key takes ~0.1 s)."""

    rsa_key: rsa.RSAPrivateKey
    other_rsa: rsa.RSAPrivateKey  # published under no selector of ours: signs "forgeries"
    ed_key: ed25519.Ed25519PrivateKey

    @classmethod
    def make(cls) -> Keys:
        return cls(
            rsa.generate_private_key(65537, 2048),
            rsa.generate_private_key(65537, 1024),
            ed25519.Ed25519PrivateKey.generate(),
        )

    @cached_property
    def records(self) -> dict[str, str]:
        """Selector → the TXT value published under `<selector>._domainkey.signed.test`."""
        ed_public = self.ed_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        small = serialization.load_pem_private_key(SMALL_KEY, None)
        assert isinstance(small, rsa.RSAPrivateKey)
        return {
            "rsa": f"v=DKIM1; k=rsa; p={public_rsa(self.rsa_key)}",
            "ed": f"v=DKIM1; k=ed25519; p={base64.b64encode(ed_public).decode()}",
            "small": f"v=DKIM1; k=rsa; p={public_rsa(small)}",
            "revoked": "v=DKIM1; k=rsa; p=",
            "garbled": "v=DKIM1; k=rsa; p=bm90IGEga2V5IGF0IGFsbA==",
            "notbase64": "v=DKIM1; k=rsa; p=!!!!",
            "dsa": "v=DKIM1; k=dsa; p=AAAA",
            "badtags": "v=DKIM1; k=rsa; k=rsa; p",
            "v2": "v=DKIM2; k=rsa; p=AAAA",
        }

    def zone_text(self, *extra: str) -> str:
        """A zone file (absolute names) with every record of `records`, and `extra` lines."""
        lines = [
            "$TTL 300",
            *(f"{s}._domainkey.{DOMAIN}. TXT {txt(v)}" for s, v in self.records.items()),
            *extra,
        ]
        return "\n".join(lines) + "\n"

    def zone(self) -> Zone:
        return Zone.from_text(self.zone_text())

    def private(self, selector: str) -> bytes:
        """The private key in the form dkimpy signs with (PEM; ed25519: base64 of the seed)."""
        if selector == "ed":
            seed = self.ed_key.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            return base64.b64encode(seed)
        if selector == "small":
            return SMALL_KEY
        key = self.other_rsa if selector == "forged" else self.rsa_key
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )

    def sign(
        self,
        raw: bytes,
        selector: str = "rsa",
        domain: str = DOMAIN,
        *,
        key: str | None = None,
        length: bool = False,
        canonicalize: tuple[bytes, bytes] = (b"relaxed", b"simple"),
    ) -> bytes:
        """`raw` with one more DKIM-Signature on top, by the key of `key` (default: the
        selector's own key) claiming `selector` and `domain`."""
        algorithm = b"ed25519-sha256" if (key or selector) == "ed" else b"rsa-sha256"
        signer = dkim.DKIM(raw, signature_algorithm=algorithm, minkey=512)
        field = signer.sign(
            selector.encode(),
            domain.encode(),
            self.private(key or selector),
            canonicalize=canonicalize,
            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
            length=length,
        )
        assert isinstance(field, bytes)
        return field + raw


def zone_lookup(zone: Zone) -> TxtLookup:
    """The zone's TXT records; no answer at all (None, as for a timeout) under `DOWN`."""

    def lookup(name: str) -> Sequence[str] | None:
        if name.rstrip(".").endswith(DOWN):
            return None
        return zone.lookup(name, "TXT")

    return lookup
