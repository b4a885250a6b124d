"""The JSON envelope SNS POSTs to HTTP(S) subscribers, signed as SNS signs it.

SignatureVersion 1: RSA-SHA1 over the canonical "Key\\nValue\\n" string of the Notification
fields (AWS SNS docs, "Verifying the signatures of Amazon SNS messages"). The key is the local
simulator's; its certificate is served at `/sns/SimpleNotificationService.pem` so a subscriber
can verify the signature against it (AWS SDK validators also check that the certificate URL is
an amazonaws.com host, which a local URL cannot be).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from inbound.datadir import under

CERT_ROUTE = "/sns/SimpleNotificationService.pem"
# Subscriptions come from inbound.toml; this route says so instead of unsubscribing.
UNSUBSCRIBE_ROUTE = "/sns/unsubscribe"


def signing_paths(data_dir: Path) -> tuple[Path, Path]:
    """The local SNS signing certificate and key, generated on first start."""
    return under(data_dir, "sns", "signing-cert.pem"), under(data_dir, "sns", "signing-key.pem")


@dataclass(frozen=True)
class SnsSigner:
    key_path: Path
    base_url: str  # where this server's HTTP side is reachable, e.g. http://127.0.0.1:4525

    def sign(self, canonical: str) -> str:
        from cryptography.hazmat.primitives import hashes, serialization  # only with subscribers
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(canonical.encode(), padding.PKCS1v15(), hashes.SHA1())
        return base64.b64encode(signature).decode("ascii")


def http_envelope(
    signer: SnsSigner,
    sns_id: str,
    topic_arn: str,
    subject: str,
    message: str,
    timestamp: str,
) -> dict[str, str]:
    """An empty `subject` is a publication without one (SES's feedback and event
    publications): SNS then leaves `Subject` out of the envelope and of the signed string ("If
    no Subject was specified, then this name-value pair does not appear in this JSON
    document", SNS Developer Guide, HTTP/HTTPS notification JSON format)."""
    fields = {
        "Message": message,
        "MessageId": sns_id,
        "Subject": subject,
        "Timestamp": timestamp,
        "TopicArn": topic_arn,
        "Type": "Notification",
    }
    if not subject:
        del fields["Subject"]
    canonical = "".join(f"{k}\n{v}\n" for k, v in fields.items())
    envelope = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": topic_arn,
        "Subject": subject,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "1",
        "Signature": signer.sign(canonical),
        "SigningCertURL": signer.base_url + CERT_ROUTE,
        "UnsubscribeURL": f"{signer.base_url}{UNSUBSCRIBE_ROUTE}?TopicArn={topic_arn}",
    }
    if not subject:
        del envelope["Subject"]
    return envelope
