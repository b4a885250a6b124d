"""SES SMTP credentials: the version-4 derivation against a published value, its inputs, and
`inbound.sending.credentials.authenticate`."""

from __future__ import annotations

import base64

import pytest

from inbound.sending.credentials import authenticate, smtp_password

KEY_ID, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_published_value() -> None:
    """aws/aws-sdk-php, tests/Ses/SesClientTest.php testCanGenerateSmtpPasswordV4FromCredentials:
    the documentation's example secret in us-east-2, "created using sample code on
    docs.aws.amazon.com/ses/latest/DeveloperGuide/smtp-credentials.html"."""
    assert smtp_password(SECRET, "us-east-2") == "BMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS"


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_version_byte_and_length(region: str) -> None:
    raw = base64.b64decode(smtp_password(SECRET, region))
    assert (raw[0], len(raw)) == (0x04, 1 + 32)  # version 4, then an HMAC-SHA256


def test_the_region_and_the_secret_are_inputs() -> None:
    passwords = {
        smtp_password(SECRET, "us-east-1"),
        smtp_password(SECRET, "us-east-2"),
        smtp_password(SECRET + "x", "us-east-1"),
    }
    assert len(passwords) == 3


def test_authenticate() -> None:
    keys = {KEY_ID: SECRET}
    good = smtp_password(SECRET, "us-east-1")
    assert authenticate(keys, "us-east-1", KEY_ID, good)
    assert not authenticate(keys, "us-east-2", KEY_ID, good)  # another Region's server
    assert not authenticate(keys, "us-east-1", "AKIAOTHER", good)
    assert not authenticate(keys, "us-east-1", KEY_ID, good[:-1])
    assert not authenticate({}, "us-east-1", KEY_ID, good)
