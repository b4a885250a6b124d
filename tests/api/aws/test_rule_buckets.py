"""Buckets are objects the engine knows, so a rule's S3 action is checked as on AWS when it is
saved: names S3 refuses always; a bucket nobody made under `[backends] strict = true`, while
the default sandbox makes it (and SES's setup object in it) on first use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.v2.conftest import error
from tests.rulesets import rule, s3


def create_rule(ses: Any, bucket: str) -> Any:
    return ses.create_receipt_rule(RuleSetName="set", Rule=rule("r", s3(bucket, "in/")))


@pytest.mark.parametrize("strict", [False, True], ids=["sandbox", "strict"])
@pytest.mark.parametrize(
    "bucket", ["-dash-first", "_under-first", "has space", "two..dots", "x" * 256]
)
def test_a_name_s3_refuses_is_refused_when_the_rule_is_saved(
    inbound_factory: Any, strict: bool, bucket: str
) -> None:
    ses = inbound_factory(strict=strict).ses()
    ses.create_receipt_rule_set(RuleSetName="set")
    assert error(create_rule, ses=ses, bucket=bucket) == (
        "InvalidS3Configuration",
        400,
        f"Could not write to bucket: {bucket}",
    )


def test_strict_refuses_a_bucket_nobody_made_until_it_is_made(inbound_factory: Any) -> None:
    server = inbound_factory(strict=True)
    ses, client = server.ses(), server.client("s3")
    ses.create_receipt_rule_set(RuleSetName="set")
    assert error(create_rule, ses=ses, bucket="not-made-yet") == (
        "InvalidS3Configuration",
        400,
        "Could not write to bucket: not-made-yet",
    )
    assert client.list_buckets()["Buckets"] == []
    client.create_bucket(Bucket="not-made-yet")
    create_rule(ses, "not-made-yet")
    listed = client.list_objects_v2(Bucket="not-made-yet")
    assert [o["Key"] for o in listed["Contents"]] == ["in/AMAZON_SES_SETUP_NOTIFICATION"]


def test_a_legacy_name_is_a_bucket_that_may_exist_but_cannot_be_made(
    inbound_factory: Any,
) -> None:
    """S3's legacy us-east-1 names (upper case, `_`) name buckets that exist on AWS, so the
    sandbox takes them; CreateBucket cannot make one any more, so strict refuses them."""
    sandbox = inbound_factory()
    sandbox.ses().create_receipt_rule_set(RuleSetName="set")
    create_rule(sandbox.ses(), "Legacy_Bucket")
    strict = inbound_factory(strict=True, data_dir=sandbox.settings.data_dir.with_name("strict"))
    strict.ses().create_receipt_rule_set(RuleSetName="set")
    code = error(strict.client("s3").create_bucket, Bucket="Legacy_Bucket")[0]
    assert code == "InvalidBucketName"
    assert error(create_rule, ses=strict.ses(), bucket="Legacy_Bucket")[0] == (
        "InvalidS3Configuration"
    )


def test_the_sandbox_makes_the_bucket_on_first_use(inbound_factory: Any) -> None:
    server = inbound_factory()
    ses, client = server.ses(), server.client("s3")
    ses.create_receipt_rule_set(RuleSetName="set")
    create_rule(ses, "made-on-first-use")
    assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["made-on-first-use"]
    setup = client.get_object(Bucket="made-on-first-use", Key="in/AMAZON_SES_SETUP_NOTIFICATION")
    assert b"Amazon SES Setup Notification" in setup["Body"].read()


def test_strict_still_writes_ses_own_export_location(inbound_factory: Any) -> None:
    """SES's export jobs write "to a location that it manages" (api/v2/operations/
    export_jobs.py): that bucket is SES's, not the user's to make first."""
    from inbound.backends.local_s3 import EXPORT_BUCKET, NoSuchBucket

    server = inbound_factory(strict=True)
    objects = server.server.backends.objects  # type: ignore[union-attr]
    server.call(objects.put_object(EXPORT_BUCKET, "us-east-1/job.csv", b"a,b\r\n", {}, "job"))
    got = server.client("s3").get_object(Bucket=EXPORT_BUCKET, Key="us-east-1/job.csv")
    assert got["Body"].read() == b"a,b\r\n"
    with pytest.raises(NoSuchBucket):
        server.call(objects.put_object("users-bucket", "k", b"x", {}, "m"))
