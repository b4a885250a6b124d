"""The embedded KMS's API through boto3's kms client: data keys that decrypt only with their
encryption context, keys described once they exist, KMS's errors."""

from __future__ import annotations

from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.aws import KEY, SECRET, signed_client
from tests.api.v2.conftest import error

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CONTEXT = {"aws:ses:message-id": "m1", "purpose": "test"}


@pytest.fixture
def kms(inbound_server: RunningInbound) -> Any:
    return inbound_server.client("kms")


def test_a_data_key_decrypts_with_its_context_only(kms: Any) -> None:
    made = kms.generate_data_key(KeyId=KEY_ARN, KeySpec="AES_256", EncryptionContext=CONTEXT)
    assert len(made["Plaintext"]) == 32
    assert made["KeyId"] == KEY_ARN
    opened = kms.decrypt(CiphertextBlob=made["CiphertextBlob"], EncryptionContext=CONTEXT)
    assert opened["Plaintext"] == made["Plaintext"]
    assert (opened["KeyId"], opened["EncryptionAlgorithm"]) == (KEY_ARN, "SYMMETRIC_DEFAULT")
    same_key = kms.decrypt(
        CiphertextBlob=made["CiphertextBlob"], EncryptionContext=CONTEXT, KeyId=KEY_ARN
    )
    assert same_key["Plaintext"] == made["Plaintext"]
    assert error(
        kms.decrypt, CiphertextBlob=made["CiphertextBlob"], EncryptionContext={"purpose": "x"}
    )[:2] == ("InvalidCiphertextException", 400)
    assert error(kms.decrypt, CiphertextBlob=b"not a blob of this KMS")[:2] == (
        "InvalidCiphertextException",
        400,
    )
    assert error(
        kms.decrypt,
        CiphertextBlob=made["CiphertextBlob"],
        EncryptionContext=CONTEXT,
        KeyId="alias/other",
    ) == (
        "IncorrectKeyException",
        400,
        "The key ID in the request does not identify a CMK that can perform this operation.",
    )


def test_data_key_sizes(kms: Any) -> None:
    assert len(kms.generate_data_key(KeyId="alias/k", KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId="alias/k", NumberOfBytes=64)["Plaintext"]) == 64
    assert error(kms.generate_data_key, KeyId="alias/k") == (
        "ValidationException",
        400,
        "Please specify either number of bytes or key spec.",
    )
    code, status, message = error(kms.generate_data_key, KeyId="alias/k", NumberOfBytes=1025)
    assert (code, status) == ("ValidationException", 400)
    assert "numberOfBytes" in message


def test_a_key_is_described_once_it_has_material(kms: Any) -> None:
    assert error(kms.describe_key, KeyId=KEY_ARN) == (
        "NotFoundException",
        400,
        f"Key '{KEY_ARN}' does not exist",
    )
    assert error(kms.describe_key, KeyId="alias/mail")[0] == "NotFoundException"
    kms.generate_data_key(KeyId=KEY_ARN, KeySpec="AES_256")
    metadata = kms.describe_key(KeyId=KEY_ARN)["KeyMetadata"]
    assert metadata["Arn"] == KEY_ARN
    assert metadata["KeyId"] == KEY_ARN.rsplit("/", 1)[1]
    assert (metadata["KeyState"], metadata["KeyUsage"]) == ("Enabled", "ENCRYPT_DECRYPT")
    assert metadata["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]


def test_the_s3_action_key_is_the_api_key(inbound_server: RunningInbound, kms: Any) -> None:
    """A blob the engine's own KMS backend made opens through the API (same key material)."""
    backend = inbound_server.server.backends.kms  # type: ignore[union-attr]
    data_key, blob = inbound_server.call(backend.generate_data_key(KEY_ARN, CONTEXT))
    opened = kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)
    assert opened["Plaintext"] == data_key


def test_signatures_are_verified_for_kms(inbound_factory: Any) -> None:
    server = inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})

    def client(secret: str) -> Any:
        return signed_client(server, "kms", KEY, secret, "eu-west-1")

    made = client(SECRET).generate_data_key(KeyId="alias/k", KeySpec="AES_256")
    assert made["KeyId"] == "arn:aws:kms:eu-west-1:123456789012:alias/k"
    assert error(client("wrong").describe_key, KeyId="alias/k")[:2] == (
        "InvalidSignatureException",
        400,
    )
