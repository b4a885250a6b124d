"""SES SMTP credentials: the user name is an access key id, the password is derived from its
secret access key and the Region (DG, "Obtaining Amazon SES SMTP credentials": "Convert
existing AWS credentials to SMTP credentials", the version-4 algorithm of AWS's
`smtp_credentials_generate.py`).

The derivation is SigV4's key chain with a fixed date: HMAC-SHA256 keyed by "AWS4" + secret
over "11111111", then the Region, "ses", "aws4_request" and "SendRawEmail"; the password is
base64 of the version byte 0x04 followed by that signature. "SMTP credentials are unique to
each AWS Region" (DG, "Using the Amazon SES SMTP interface to send email"): the Region is part
of the chain, so a password made for another Region does not match. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

# "These values are required to calculate the signature. Do not change them."
_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = 0x04


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SMTP password of `secret_access_key` in `region`."""
    signature = _sign(f"AWS4{secret_access_key}".encode(), _DATE)
    for part in (region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = _sign(signature, part)
    return base64.b64encode(bytes([_VERSION]) + signature).decode()


def authenticate(credentials: Mapping[str, str], region: str, user: str, password: str) -> bool:
    """Whether `user` is a configured access key id and `password` its SMTP password in
    `region` (compared in constant time)."""
    secret = credentials.get(user)
    if secret is None:
        return False
    return hmac.compare_digest(smtp_password(secret, region).encode(), password.encode())
