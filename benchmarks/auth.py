"""Mail that every authentication check has work to do on, and the zone that answers them.

The `auth-c10` scenario sends the 10 KB message DKIM-signed (rsa-sha256, 2048 bits, relaxed/
simple, as most senders sign) from `sender.test`, whose zone publishes an SPF record that
permits 127.0.0.1, the DKIM key and a `p=reject` DMARC policy: SPF, DKIM and DMARC all run to
a real `pass`. The key is made once per benchmark process.
"""

from __future__ import annotations

import base64
from functools import cache

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SELECTOR = "bench"


@cache
def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


def signed(raw: bytes, domain: str) -> bytes:
    """`raw` with a DKIM-Signature of `domain` on top."""
    pem = _key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    field = dkim.sign(
        raw,
        SELECTOR.encode(),
        domain.encode(),
        pem,
        canonicalize=(b"relaxed", b"simple"),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id", b"mime-version",
                         b"content-type"],
    )  # fmt: skip
    assert isinstance(field, bytes)
    return field + raw


def zone(domain: str) -> str:
    """A zone file (absolute names) with `domain`'s SPF, DKIM key and DMARC policy."""
    der = (
        _key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    key = f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
    strings = " ".join(f'"{key[i : i + 255]}"' for i in range(0, len(key), 255))
    return "\n".join(
        [
            "$TTL 300",
            f'{domain}. TXT "v=spf1 ip4:127.0.0.1 -all"',
            f"{SELECTOR}._domainkey.{domain}. TXT {strings}",
            f'_dmarc.{domain}. TXT "v=DMARC1; p=reject"',
            "",
        ]
    )
