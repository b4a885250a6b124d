"""SES's client-side KMS encryption of S3 objects (spec receiving.md §3.3): written through
moto's S3 and KMS and opened by the official Amazon S3 Encryption Client and by plain boto3;
written by the embedded backends and opened by `inbound s3 get --decrypt` and the pure
decrypt function. "Original bytes" = the same rule's unencrypted object of the same message.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inbound import cli
from inbound.backends import s3_encryption
from inbound.backends.local_kms import LocalKms
from tests.aws.conftest import Moto
from tests.rulesets import message, rule, rules, s3

RAW = message(subject="Secret", body="The eagle lands at noon.\r\n")
ACCOUNT = "123456789012"


def both_objects(server, moto_key: str, bucket: str = "mail") -> tuple[str, dict]:
    """Send one message to a rule that stores it encrypted (enc/) and in clear (plain/)."""
    server.send("sender@sender.test", ["user@example.com"], RAW)
    [received] = server.messages()
    message_id = received["messageId"]
    steps = [t for t in server.trace(message_id) if t["kind"] == "action"]
    assert [s["error"] for s in steps] == [None, None]
    return message_id, steps[0]["detail"]


def kms_rules(bucket: str, key_arn: str):
    return rules(rule("secret-rule", s3(bucket, "enc/", KmsKeyArn=key_arn), s3(bucket, "plain/")))


def check_metadata(metadata: dict, message_id: str, key_arn: str, plain: bytes, body: bytes):
    assert metadata["x-amz-cek-alg"] == "AES/GCM/NoPadding"
    assert metadata["x-amz-wrap-alg"] == "kms"
    assert metadata["x-amz-tag-len"] == "128"
    assert metadata["x-amz-unencrypted-content-length"] == str(len(plain))
    assert len(base64.b64decode(metadata["x-amz-iv"])) == 12
    assert len(body) == len(plain) + 16
    assert json.loads(metadata["x-amz-matdesc"]) == {
        "aws:ses:message-id": message_id,
        "aws:ses:rule-name": "secret-rule",
        "aws:ses:source-account": ACCOUNT,
        "kms_cmk_id": key_arn,
    }
    assert list(json.loads(metadata["x-amz-matdesc"]))[-1] == "kms_cmk_id"


@pytest.fixture(params=["key-arn", "alias-arn"])
def moto_key(request, moto_server: Moto) -> str:
    arn = moto_server.kms_key()
    if request.param == "key-arn":
        return arn
    alias = f"alias/ses-{uuid.uuid4().hex[:8]}"
    moto_server.client("kms").create_alias(AliasName=alias, TargetKeyId=arn)
    return f"arn:aws:kms:us-east-1:{ACCOUNT}:{alias}"


def test_moto_object_opens_with_the_official_client_and_with_plain_boto3(
    inbound_factory, moto_server, moto_key
):
    from s3_encryption import S3EncryptionClient, S3EncryptionClientConfig
    from s3_encryption.materials.kms_keyring import KmsKeyring
    from s3_encryption.materials.materials import CommitmentPolicy

    bucket = moto_server.bucket()
    server = inbound_factory(
        kms_rules(bucket, moto_key), backends=moto_server.backends("s3", "kms")
    )
    message_id, detail = both_objects(server, moto_key, bucket)
    assert detail["kmsKeyArn"] == moto_key
    s3c, kms = moto_server.client("s3"), moto_server.client("kms")
    plain = s3c.get_object(Bucket=bucket, Key=f"plain/{message_id}")["Body"].read()
    assert plain.endswith(RAW)
    encrypted = s3c.get_object(Bucket=bucket, Key=f"enc/{message_id}")
    body, metadata = encrypted["Body"].read(), encrypted["Metadata"]
    check_metadata(metadata, message_id, moto_key, plain, body)

    # 1. The official Amazon S3 Encryption Client, legacy-compatible (aws-testing.md).
    matdesc = json.loads(metadata["x-amz-matdesc"])
    keyring = KmsKeyring(
        kms_client=kms, kms_key_id=matdesc["kms_cmk_id"], enable_legacy_wrapping_algorithms=True
    )
    config = S3EncryptionClientConfig(
        keyring=keyring, commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT
    )
    official = S3EncryptionClient(wrapped_s3_client=s3c, config=config)
    assert official.get_object(Bucket=bucket, Key=f"enc/{message_id}")["Body"].read() == plain

    # 2. Plain boto3: KMS Decrypt with the matdesc as encryption context, then AES-GCM.
    data_key = kms.decrypt(
        CiphertextBlob=base64.b64decode(metadata["x-amz-key-v2"]), EncryptionContext=matdesc
    )["Plaintext"]
    iv = base64.b64decode(metadata["x-amz-iv"])
    assert AESGCM(data_key).decrypt(iv, body, None) == plain


def test_missing_kms_key_is_a_publish_failure_and_nothing_is_written(inbound_factory, moto_server):
    bucket = moto_server.bucket()
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{uuid.uuid4()}"
    server = inbound_factory(
        rules(rule("r", s3(bucket, KmsKeyArn=key))), backends=moto_server.backends("s3", "kms")
    )
    server.send("sender@sender.test", ["user@example.com"], RAW)
    [received] = server.messages()
    [step] = [t for t in server.trace(received["messageId"]) if t["kind"] == "action"]
    assert "GenerateDataKey" in step["error"]
    assert moto_server.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_local_object_opens_with_s3_get_and_the_pure_decrypt(
    inbound_factory, tmp_path, capsysbinary
):
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/ses"  # the AWS-managed key
    server = inbound_factory(kms_rules("mail", key_arn))
    message_id, _ = both_objects(server, key_arn)
    plain = server.get(f"/api/s3/mail/plain/{message_id}")
    body = server.get(f"/api/s3/mail/enc/{message_id}")
    [listed] = [o for o in server.get("/api/s3") if o["key"] == f"enc/{message_id}"]
    metadata = listed["metadata"]
    check_metadata(metadata, message_id, key_arn, plain, body)
    data_dir = server.settings.data_dir

    # The pure functions, with the data dir's KMS.
    kms = LocalKms(data_dir / "kms")
    assert asyncio.run(s3_encryption.decrypt_with_kms(kms, body, metadata)) == plain
    with pytest.raises(Exception, match="encryption context"):
        blob, context = s3_encryption.wrapped_key(metadata)
        kms.unwrap(blob, {**context, "aws:ses:rule-name": "other"})

    # `inbound s3 get`, with and without --decrypt.
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    config = tmp_path / "inbound.toml"
    config.write_text(f'[server]\ndata_dir = "{data_dir}"\n')
    capsysbinary.readouterr()
    argv = ["s3", "get", "mail", f"enc/{message_id}", "--config", str(config)]
    assert cli.main([*argv, "--decrypt"]) == 0
    assert capsysbinary.readouterr().out == plain
    assert cli.main(argv) == 0
    assert capsysbinary.readouterr().out == body
    assert cli.main(["s3", "get", "mail", "nope", "--config", str(config)]) == 1


def test_s3_get_decrypts_from_moto(inbound_factory, tmp_path, moto_server, capsysbinary):
    bucket, key_arn = moto_server.bucket(), moto_server.kms_key()
    server = inbound_factory(kms_rules(bucket, key_arn), backends=moto_server.backends("s3", "kms"))
    message_id, _ = both_objects(server, key_arn, bucket)
    plain = moto_server.client("s3").get_object(Bucket=bucket, Key=f"plain/{message_id}")
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    config = tmp_path / "inbound.toml"
    tables = "".join(
        f'[backends.{s}]\nkind = "aws"\nendpoint_url = "{moto_server.url}"\n'
        'access_key_id = "testing"\nsecret_access_key = "testing"\n'
        for s in ("s3", "kms")
    )
    config.write_text(f'[server]\ndata_dir = "{tmp_path / "unused"}"\n{tables}')
    capsysbinary.readouterr()
    argv = ["s3", "get", bucket, f"enc/{message_id}", "--decrypt", "--config", str(config)]
    assert cli.main(argv) == 0
    assert capsysbinary.readouterr().out == plain["Body"].read()


def test_pure_round_trip_and_tamper_detection():
    kms = LocalKms(None)
    context = s3_encryption.ses_context("mid", "rule", ACCOUNT)
    body, metadata = asyncio.run(
        s3_encryption.encrypt_with_kms(kms, "arn:aws:kms:us-east-1:1:key/k", context, b"x" * 100)
    )
    assert asyncio.run(s3_encryption.decrypt_with_kms(kms, body, metadata)) == b"x" * 100
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(s3_encryption.DecryptionError):
        asyncio.run(s3_encryption.decrypt_with_kms(kms, tampered, metadata))
