"""What the S3 action stores, read back through the engine's own S3 and KMS APIs as a consumer
written for AWS reads it: plain boto3 `get_object`, and the official Amazon S3 Encryption
Client with the engine's KMS (shared/spec/aws-testing.md gives its settings for SES objects).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.rulesets import ACCOUNT, message, rule, rules, s3

RAW = message(subject="Secret", body="The eagle lands at noon.\r\n")
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SES_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/ses"
ENCRYPTION_METADATA = {
    "x-amz-key-v2",
    "x-amz-iv",
    "x-amz-cek-alg",
    "x-amz-wrap-alg",
    "x-amz-tag-len",
    "x-amz-unencrypted-content-length",
    "x-amz-matdesc",
}


def received(server: RunningInbound) -> str:
    server.send("sender@sender.test", ["user@example.com"], RAW)
    [stored] = server.messages()
    steps = [t for t in server.trace(stored["messageId"]) if t["kind"] == "action"]
    assert [s["error"] for s in steps] == [None] * len(steps)
    return str(stored["messageId"])


def official_client(server: RunningInbound, key_id: str) -> Any:
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials.kms_keyring import KmsKeyring
    from s3_encryption.materials.materials import CommitmentPolicy

    keyring = KmsKeyring(
        kms_client=server.client("kms"), kms_key_id=key_id, enable_legacy_wrapping_algorithms=True
    )
    config = S3EncryptionClientConfig(
        keyring=keyring, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    )
    return S3EncryptionClient(wrapped_s3_client=server.client("s3"), config=config)


def test_a_plain_object_reads_back_as_stored_with_no_metadata(inbound_factory: Any) -> None:
    server = inbound_factory(rules(rule("r", s3("inbound-mail", "in/"))))
    message_id = received(server)
    client = server.client("s3")
    got = client.get_object(Bucket="inbound-mail", Key=f"in/{message_id}")
    body = got["Body"].read()
    assert body == server.get(f"/api/s3/inbound-mail/in/{message_id}")
    assert body.endswith(RAW)
    assert got["Metadata"] == {}
    assert got["ContentType"] == "binary/octet-stream"
    listed = client.list_objects_v2(Bucket="inbound-mail", Prefix="in/")
    assert [o["Key"] for o in listed["Contents"]] == [f"in/{message_id}"]
    # the bucket was made by the first write (sandbox), in the configured Region
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["inbound-mail"]


@pytest.mark.parametrize("key_id", [KEY_ARN, SES_KEY], ids=["key-arn", "aws-ses-alias"])
def test_the_official_client_decrypts_a_kms_object_through_the_engine(
    inbound_factory: Any, key_id: str
) -> None:
    server = inbound_factory(
        rules(
            rule(
                "secret-rule",
                s3("inbound-mail", "enc/", KmsKeyArn=key_id),
                s3("inbound-mail", "plain/"),
            )
        )
    )
    message_id = received(server)
    client = server.client("s3")
    plain = client.get_object(Bucket="inbound-mail", Key=f"plain/{message_id}")["Body"].read()
    encrypted = client.get_object(Bucket="inbound-mail", Key=f"enc/{message_id}")
    metadata = encrypted["Metadata"]
    assert set(metadata) == ENCRYPTION_METADATA
    assert json.loads(metadata["x-amz-matdesc"]) == {
        "aws:ses:message-id": message_id,
        "aws:ses:rule-name": "secret-rule",
        "aws:ses:source-account": ACCOUNT,
        "kms_cmk_id": key_id,
    }
    assert metadata["x-amz-unencrypted-content-length"] == str(len(plain))
    assert encrypted["Body"].read() != plain
    opened = official_client(server, key_id).get_object(
        Bucket="inbound-mail", Key=f"enc/{message_id}"
    )
    assert opened["Body"].read() == plain
