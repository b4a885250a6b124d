"""The JSON documents SNS POSTs to HTTP(S) subscribers, signed as SNS signs them.

Two kinds (SNS Developer Guide, "HTTP/HTTPS notification JSON format" and "HTTP/HTTPS
subscription confirmation JSON format"): a `Notification` of each publication, and the
`SubscriptionConfirmation` that starts the handshake of a new subscription. Each is signed
over the canonical "Key\\nValue\\n" string of its signed keys in byte order ("Verifying the
signatures of Amazon SNS messages"): SignatureVersion 1 with RSA-SHA1, 2 with RSA-SHA256 (the
topic's `SignatureVersion` attribute picks). The key is the local simulator's; its certificate
is served at `/sns/SimpleNotificationService.pem` so a subscriber can check the signature
against it (AWS SDK validators also check that the certificate URL is an amazonaws.com host,
which a local URL cannot be).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from inbound.datadir import under

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

CERT_ROUTE = "/sns/SimpleNotificationService.pem"
SIGNATURE_VERSIONS = ("1", "2")
# SNS's own words in a SubscriptionConfirmation (the guide's example, `\n` a real newline)
CONFIRMATION_TEXT = (
    "You have chosen to subscribe to the topic {topic}.\n"
    "To confirm the subscription, visit the SubscribeURL included in this message."
)


def signing_paths(data_dir: Path) -> tuple[Path, Path]:
    """The local SNS signing certificate and key, generated on first start."""
    return under(data_dir, "sns", "signing-cert.pem"), under(data_dir, "sns", "signing-key.pem")


@dataclass(frozen=True)
class SnsSigner:
    key_path: Path
    base_url: str  # where this server's HTTP side is reachable, e.g. http://127.0.0.1:4525

    @functools.cached_property
    def _key(self) -> RSAPrivateKey:
        """Read at the first signature (only a subscriber needs one), then kept."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    def sign(self, canonical: str, version: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self._key.sign(canonical.encode(), padding.PKCS1v15(), digest)
        return base64.b64encode(signature).decode("ascii")

    def action_url(self, action: str, **params: str) -> str:
        """A link to the SNS Query API on this server, as SNS's SubscribeURL and
        UnsubscribeURL are links to its own endpoint (`/?Action=...`): a plain GET works."""
        return f"{self.base_url}/?{urlencode({'Action': action, **params})}"

    def signed(self, fields: dict[str, str], version: str) -> dict[str, str]:
        """`fields` (in SNS's order, the signed keys among them) with the signature keys."""
        signed_keys = sorted(k for k in fields if k in _SIGNED)
        canonical = "".join(f"{k}\n{fields[k]}\n" for k in signed_keys)
        return {
            **fields,
            "SignatureVersion": version,
            "Signature": self.sign(canonical, version),
            "SigningCertURL": self.base_url + CERT_ROUTE,
        }


# Every key any message type signs; a message signs those it has.
_SIGNED = frozenset(
    ("Message", "MessageId", "Subject", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
)


def notification(
    signer: SnsSigner,
    version: str,
    sns_id: str,
    topic_arn: str,
    subject: str,
    message: str,
    timestamp: str,
    subscription_arn: str,
) -> dict[str, str]:
    """An empty `subject` is a publication without one (SES's feedback and event
    publications): SNS then leaves `Subject` out of the envelope and of the signed string ("If
    no Subject was specified, then this name-value pair does not appear in this JSON
    document", SNS Developer Guide, HTTP/HTTPS notification JSON format)."""
    fields = {"Type": "Notification", "MessageId": sns_id, "TopicArn": topic_arn}
    if subject:
        fields["Subject"] = subject
    fields |= {"Message": message, "Timestamp": timestamp}
    envelope = signer.signed(fields, version)
    envelope["UnsubscribeURL"] = signer.action_url("Unsubscribe", SubscriptionArn=subscription_arn)
    return envelope


def subscription_confirmation(
    signer: SnsSigner, version: str, sns_id: str, topic_arn: str, token: str, timestamp: str
) -> dict[str, str]:
    fields = {
        "Type": "SubscriptionConfirmation",
        "MessageId": sns_id,
        "Token": token,
        "TopicArn": topic_arn,
        "Message": CONFIRMATION_TEXT.format(topic=topic_arn),
        "SubscribeURL": signer.action_url("ConfirmSubscription", TopicArn=topic_arn, Token=token),
        "Timestamp": timestamp,
    }
    return signer.signed(fields, version)
