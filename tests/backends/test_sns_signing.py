"""Every SNS message the engine signs verifies with an independent verifier, whatever its text:
hypothesis draws the message, the subject and the signature version; the envelope goes through
JSON as on the wire."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from inbound.backends.sns_envelope import (
    SnsSigner,
    notification,
    signing_paths,
    subscription_confirmation,
)
from tests.webhook import verify_signature

TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
SUBJECTS = st.one_of(st.just(""), st.from_regex(r"[!-~][ -~]{0,98}", fullmatch=True))


@settings(deadline=None)  # RSA signatures on a busy shared machine
@given(
    message=st.text(max_size=300),
    subject=SUBJECTS,
    version=st.sampled_from(["1", "2"]),
    token=st.text("0123456789abcdef", min_size=1, max_size=64),
)
def test_signed_messages_verify(
    _inbound_keys: Path, message: str, subject: str, version: str, token: str
) -> None:
    certificate, key = signing_paths(_inbound_keys)
    signer = SnsSigner(key, "http://127.0.0.1:1")
    stamp = "2026-01-02T03:04:05.678Z"
    for envelope in (
        notification(signer, version, "id", TOPIC, subject, message, stamp, f"{TOPIC}:x"),
        subscription_confirmation(signer, version, "id", TOPIC, token, stamp),
    ):
        verify_signature(json.loads(json.dumps(envelope)), certificate.read_bytes())
