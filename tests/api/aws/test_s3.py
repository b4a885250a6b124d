"""The embedded S3's REST API through boto3's own s3 client against a running server: what
each operation answers, S3's errors with their codes, statuses and texts."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inbound.testing import RunningInbound
from tests.api.aws import KEY, SECRET, signed_client
from tests.api.v2.conftest import error


@pytest.fixture
def s3(inbound_server: RunningInbound) -> Any:
    client = inbound_server.client("s3")
    client.create_bucket(Bucket="mail")
    return client


# ── buckets ──────────────────────────────────────────────────────────────────────────────────
def test_buckets_are_created_listed_headed_and_deleted(inbound_server: RunningInbound) -> None:
    s3 = inbound_server.client("s3")
    assert s3.list_buckets()["Buckets"] == []
    s3.create_bucket(Bucket="b-two")
    s3.create_bucket(Bucket="a.one")
    listed = s3.list_buckets()
    assert [b["Name"] for b in listed["Buckets"]] == ["a.one", "b-two"]
    assert all(isinstance(b["CreationDate"], datetime) for b in listed["Buckets"])
    assert len(listed["Owner"]["ID"]) == 64
    head = s3.head_bucket(Bucket="a.one")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    assert s3.get_bucket_location(Bucket="a.one")["LocationConstraint"] is None
    s3.delete_bucket(Bucket="a.one")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["b-two"]
    assert error(s3.head_bucket, Bucket="a.one")[:2] == ("404", 404)


def test_create_bucket_twice_is_a_200_in_us_east_1_and_409_elsewhere(
    inbound_server: RunningInbound,
) -> None:
    east = inbound_server.client("s3", "us-east-1")
    east.create_bucket(Bucket="twice")
    east.create_bucket(Bucket="twice")  # S3's legacy us-east-1 answer: 200
    west = inbound_server.client("s3", "eu-west-1")
    config = {"LocationConstraint": "eu-west-1"}
    west.create_bucket(Bucket="west", CreateBucketConfiguration=config)
    assert west.get_bucket_location(Bucket="west")["LocationConstraint"] == "eu-west-1"
    assert error(west.create_bucket, Bucket="west", CreateBucketConfiguration=config) == (
        "BucketAlreadyOwnedByYou",
        409,
        "Your previous request to create the named bucket succeeded and you already own it.",
    )


def test_location_constraints_must_match_the_endpoint_region(
    inbound_server: RunningInbound,
) -> None:
    west = inbound_server.client("s3", "eu-west-1")
    assert error(west.create_bucket, Bucket="no-constraint") == (
        "IllegalLocationConstraintException",
        400,
        "The unspecified location constraint is incompatible for the region specific endpoint "
        "this request was sent to.",
    )
    east = inbound_server.client("s3", "us-east-1")
    code, status, _ = error(
        east.create_bucket,
        Bucket="x-east",
        CreateBucketConfiguration={"LocationConstraint": "us-east-1"},
    )
    assert (code, status) == ("InvalidLocationConstraint", 400)


@pytest.mark.parametrize(
    "name",
    ["ab", "a" * 64, "Upper", "under_score", "-dash", "dash-", "two..dots", "192.168.5.4",
     "xn--punycode", "name-s3alias"],
)  # fmt: skip
def test_bucket_names_s3_refuses(inbound_server: RunningInbound, name: str) -> None:
    s3 = inbound_server.client("s3")
    assert error(s3.create_bucket, Bucket=name) == (
        "InvalidBucketName",
        400,
        "The specified bucket is not valid.",
    )


def test_a_missing_bucket_is_no_such_bucket(inbound_server: RunningInbound) -> None:
    s3 = inbound_server.client("s3")
    expected = ("NoSuchBucket", 404, "The specified bucket does not exist")
    assert error(s3.list_objects_v2, Bucket="nope") == expected
    assert error(s3.get_object, Bucket="nope", Key="k") == expected
    assert error(s3.put_object, Bucket="nope", Key="k", Body=b"x") == expected
    assert error(s3.delete_object, Bucket="nope", Key="k") == expected
    assert error(s3.delete_bucket, Bucket="nope") == expected


def test_a_bucket_with_objects_is_not_deleted(s3: Any) -> None:
    s3.put_object(Bucket="mail", Key="k", Body=b"x")
    assert error(s3.delete_bucket, Bucket="mail") == (
        "BucketNotEmpty",
        409,
        "The bucket you tried to delete is not empty",
    )


# ── objects ──────────────────────────────────────────────────────────────────────────────────
def test_put_then_get_and_head_give_the_object_with_its_metadata(s3: Any) -> None:
    body = b"Subject: hi\r\n\r\nhello\r\n"
    put = s3.put_object(
        Bucket="mail",
        Key="in/a message",
        Body=body,
        ContentType="message/rfc822",
        Metadata={"Origin": "test", "x-amz-iv": "abc"},
        CacheControl="no-cache",
        ContentDisposition="attachment",
    )
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ETag"] == etag
    got = s3.get_object(Bucket="mail", Key="in/a message")
    assert got["Body"].read() == body
    assert got["ContentType"] == "message/rfc822"
    assert got["Metadata"] == {"origin": "test", "x-amz-iv": "abc"}  # S3 lower-cases names
    assert got["ETag"] == etag
    assert got["ContentLength"] == len(body)
    assert got["CacheControl"] == "no-cache"
    assert got["ContentDisposition"] == "attachment"
    assert got["AcceptRanges"] == "bytes"
    assert abs(got["LastModified"] - datetime.now(UTC)) < timedelta(minutes=1)
    head = s3.head_object(Bucket="mail", Key="in/a message")
    assert head["ContentLength"] == len(body)
    assert head["Metadata"] == got["Metadata"]
    assert head["ETag"] == etag


def test_an_object_without_a_content_type_is_binary_octet_stream(s3: Any) -> None:
    s3.put_object(Bucket="mail", Key="k", Body=b"x")
    assert s3.get_object(Bucket="mail", Key="k")["ContentType"] == "binary/octet-stream"
    got = s3.get_object(Bucket="mail", Key="k", ResponseContentType="text/plain")
    assert got["ContentType"] == "text/plain"


def test_put_replaces_and_delete_removes(s3: Any) -> None:
    s3.put_object(Bucket="mail", Key="k", Body=b"one", Metadata={"v": "1"})
    s3.put_object(Bucket="mail", Key="k", Body=b"two")
    got = s3.get_object(Bucket="mail", Key="k")
    assert (got["Body"].read(), got["Metadata"]) == (b"two", {})
    assert s3.delete_object(Bucket="mail", Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.delete_object(Bucket="mail", Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert error(s3.get_object, Bucket="mail", Key="k") == (
        "NoSuchKey",
        404,
        "The specified key does not exist.",
    )
    assert error(s3.head_object, Bucket="mail", Key="k")[:2] == ("404", 404)


@pytest.mark.parametrize(
    ("header", "body", "status", "content_range"),
    [
        ("bytes=0-3", b"0123", 206, "bytes 0-3/10"),
        ("bytes=7-", b"789", 206, "bytes 7-9/10"),
        ("bytes=-2", b"89", 206, "bytes 8-9/10"),
        ("bytes=5-100", b"56789", 206, "bytes 5-9/10"),
        ("bytes=-20", b"0123456789", 206, "bytes 0-9/10"),
        ("bytes=4-2", b"0123456789", 200, None),  # not a valid range: ignored
        ("items=0-1", b"0123456789", 200, None),
    ],
)
def test_ranges(s3: Any, header: str, body: bytes, status: int, content_range: str | None) -> None:
    s3.put_object(Bucket="mail", Key="digits", Body=b"0123456789")
    got = s3.get_object(Bucket="mail", Key="digits", Range=header)
    assert got["Body"].read() == body
    assert got["ResponseMetadata"]["HTTPStatusCode"] == status
    assert got.get("ContentRange") == content_range


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0"])
def test_unsatisfiable_ranges_are_416(s3: Any, header: str) -> None:
    s3.put_object(Bucket="mail", Key="digits", Body=b"0123456789")
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="mail", Key="digits", Range=header)
    response = raised.value.response
    assert response["Error"] == {
        "Code": "InvalidRange",
        "Message": "The requested range is not satisfiable",
        "RangeRequested": header,
        "ActualObjectSize": "10",
    }
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-range"] == "bytes */10"
    # the error names the request as its headers do
    assert response["ResponseMetadata"]["RequestId"] == headers["x-amz-request-id"]
    assert response["ResponseMetadata"]["HostId"] == headers["x-amz-id-2"]


def test_conditional_requests(s3: Any) -> None:
    etag = s3.put_object(Bucket="mail", Key="k", Body=b"x")["ETag"]
    assert error(s3.get_object, Bucket="mail", Key="k", IfNoneMatch=etag)[:2] == ("304", 304)
    assert error(s3.head_object, Bucket="mail", Key="k", IfNoneMatch="*")[:2] == ("304", 304)
    got = s3.get_object(Bucket="mail", Key="k", IfNoneMatch='"other"', IfMatch=etag)
    assert got["Body"].read() == b"x"
    assert error(s3.get_object, Bucket="mail", Key="k", IfMatch='"other"') == (
        "PreconditionFailed",
        412,
        "At least one of the pre-conditions you specified did not hold",
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    earlier = datetime.now(UTC) - timedelta(hours=1)
    assert error(s3.get_object, Bucket="mail", Key="k", IfModifiedSince=later)[:2] == (
        "304",
        304,
    )
    assert s3.get_object(Bucket="mail", Key="k", IfModifiedSince=earlier)["Body"].read() == b"x"
    code = error(s3.get_object, Bucket="mail", Key="k", IfUnmodifiedSince=earlier)[0]
    assert code == "PreconditionFailed"
    code = error(s3.put_object, Bucket="mail", Key="k", Body=b"y", IfNoneMatch="*")[0]
    assert code == "PreconditionFailed"


def test_digests_are_checked(s3: Any) -> None:
    good = base64.b64encode(hashlib.md5(b"body").digest()).decode()
    s3.put_object(Bucket="mail", Key="k", Body=b"body", ContentMD5=good)
    other = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert error(s3.put_object, Bucket="mail", Key="k", Body=b"body", ContentMD5=other) == (
        "BadDigest",
        400,
        "The Content-MD5 you specified did not match what we received.",
    )
    code, status, _ = error(s3.put_object, Bucket="mail", Key="k", Body=b"b", ContentMD5="abc")
    assert (code, status) == ("InvalidDigest", 400)
    sha = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    assert error(s3.put_object, Bucket="mail", Key="k", Body=b"body", ChecksumSHA256=sha) == (
        "BadDigest",
        400,
        "The SHA256 you specified did not match the calculated checksum.",
    )
    assert s3.get_object(Bucket="mail", Key="k")["Body"].read() == b"body"


def test_keys_and_metadata_are_bounded(s3: Any) -> None:
    assert error(s3.put_object, Bucket="mail", Key="k" * 1025, Body=b"x") == (
        "KeyTooLongError",
        400,
        "Your key is too long",
    )
    s3.put_object(Bucket="mail", Key="k" * 1024, Body=b"x")
    assert error(s3.put_object, Bucket="mail", Key="k", Body=b"x", Metadata={"m": "v" * 2048}) == (
        "MetadataTooLarge",
        400,
        "Your metadata headers exceed the maximum allowed metadata size",
    )


def test_a_body_over_the_limit_is_entity_too_large(inbound_factory: Any) -> None:
    from inbound.api.aws.s3 import routes

    server = inbound_factory()
    s3 = server.client("s3")
    s3.create_bucket(Bucket="big")
    body = b"x" * (routes.MAX_BODY + 1)
    s3 = server.client("s3")
    code, status, message = error(s3.put_object, Bucket="big", Key="k", Body=body)
    assert (code, status, message) == (
        "EntityTooLarge",
        400,
        "Your proposed upload exceeds the maximum allowed size",
    )
    assert error(s3.head_object, Bucket="big", Key="k")[1] == 404


def test_delete_objects(s3: Any) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="mail", Key=key, Body=b"x")
    answer = s3.delete_objects(
        Bucket="mail", Delete={"Objects": [{"Key": "a"}, {"Key": "c"}, {"Key": "never"}]}
    )
    assert [d["Key"] for d in answer["Deleted"]] == ["a", "c", "never"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="mail")["Contents"]] == ["b"]
    quiet = s3.delete_objects(Bucket="mail", Delete={"Objects": [{"Key": "b"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket="mail")["KeyCount"] == 0
    too_many = {"Objects": [{"Key": f"k{i}"} for i in range(1001)]}
    assert error(s3.delete_objects, Bucket="mail", Delete=too_many)[:2] == ("MalformedXML", 400)


def test_unsupported_operations_are_501(s3: Any) -> None:
    code, status, _ = error(s3.get_object_tagging, Bucket="mail", Key="k")
    assert (code, status) == ("NotImplemented", 501)
    code, status, _ = error(s3.create_multipart_upload, Bucket="mail", Key="k")
    assert (code, status) == ("NotImplemented", 501)


# ── listings ─────────────────────────────────────────────────────────────────────────────────
KEYS = ["a/1", "a/2", "a/b/3", "b", "c/4", "c/5", "d"]


@pytest.fixture
def listed(s3: Any) -> Any:
    for key in KEYS:
        s3.put_object(Bucket="mail", Key=key, Body=key.encode())
    return s3


def _pages(s3: Any, **params: Any) -> list[tuple[list[str], list[str]]]:
    paginator = s3.get_paginator("list_objects_v2")
    return [
        (
            [o["Key"] for o in p.get("Contents", [])],
            [c["Prefix"] for c in p.get("CommonPrefixes", [])],
        )
        for p in paginator.paginate(Bucket="mail", **params)
    ]


def test_list_objects_v2_prefix_delimiter_and_pages(listed: Any) -> None:
    assert _pages(listed) == [(KEYS, [])]
    assert _pages(listed, Prefix="a/") == [(["a/1", "a/2", "a/b/3"], [])]
    assert _pages(listed, Delimiter="/") == [(["b", "d"], ["a/", "c/"])]
    assert _pages(listed, Prefix="a/", Delimiter="/") == [(["a/1", "a/2"], ["a/b/"])]
    # max-keys counts keys and common prefixes alike; a prefix is not repeated on the next page
    paged = _pages(listed, Delimiter="/", PaginationConfig={"PageSize": 1})
    assert paged == [([], ["a/"]), (["b"], []), ([], ["c/"]), (["d"], [])]
    assert _pages(listed, PaginationConfig={"PageSize": 3}) == [
        (KEYS[:3], []),
        (KEYS[3:6], []),
        (KEYS[6:], []),
    ]
    page = listed.list_objects_v2(Bucket="mail", StartAfter="b", MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["c/4", "c/5"]
    assert page["IsTruncated"] is True
    assert page["KeyCount"] == 2
    assert [o["StorageClass"] for o in page["Contents"]] == ["STANDARD", "STANDARD"]
    assert page["Contents"][0]["Size"] == 3
    assert listed.list_objects_v2(Bucket="mail", MaxKeys=0)["KeyCount"] == 0


def test_list_objects_v1_markers(listed: Any) -> None:
    page = listed.list_objects(Bucket="mail", Delimiter="/", MaxKeys=2)
    assert [c["Prefix"] for c in page["CommonPrefixes"]] == ["a/"]
    assert [o["Key"] for o in page["Contents"]] == ["b"]
    assert page["NextMarker"] == "b"
    rest = listed.list_objects(Bucket="mail", Delimiter="/", Marker="b")
    assert [o["Key"] for o in rest["Contents"]] == ["d"]
    assert [c["Prefix"] for c in rest["CommonPrefixes"]] == ["c/"]


def test_listing_arguments_s3_refuses(s3: Any) -> None:
    assert error(s3.list_objects_v2, Bucket="mail", ContinuationToken="not-a-token") == (
        "InvalidArgument",
        400,
        "The continuation token provided is incorrect",
    )
    assert error(s3.list_objects_v2, Bucket="mail", MaxKeys=-1) == (
        "InvalidArgument",
        400,
        "Provided max-keys not an integer or within integer range",
    )


# ── addressing and signatures ────────────────────────────────────────────────────────────────
def raw(
    server: RunningInbound, method: str, path: str, body: bytes | None = None, host: str = ""
) -> tuple[int, bytes]:
    """A request urllib makes, told to be S3's by its credential scope only: with `auth =
    "off"` the signature is not checked (botocore would not send what these tests send)."""
    scope = "Credential=testing/20260101/us-east-1/s3/aws4_request"
    headers = {"Authorization": f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=host, Signature=0"}
    if host:
        headers["Host"] = host
    request = urllib.request.Request(
        server.api_url + path, data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_virtual_host_style_on_localhost(s3: Any, inbound_server: RunningInbound) -> None:
    """`<bucket>.localhost` names the bucket (what boto3 sends with addressing_style
    "virtual"); sent to 127.0.0.1 with that Host, as not every resolver knows `*.localhost`."""
    s3.put_object(Bucket="mail", Key="vh/key", Body=b"hosted")
    port = inbound_server.api_url.rsplit(":", 1)[1]
    assert raw(inbound_server, "GET", "/vh/key", host=f"mail.localhost:{port}") == (200, b"hosted")


def test_requests_s3_cannot_read(s3: Any, inbound_server: RunningInbound) -> None:
    status, body = raw(inbound_server, "PUT", "/new-bucket", b"<CreateBucketConfiguration")
    assert status == 400
    assert b"<Code>MalformedXML</Code>" in body
    status, body = raw(inbound_server, "POST", "/mail/key", b"")
    assert status == 405
    assert b"<Code>MethodNotAllowed</Code>" in body
    status, body = raw(inbound_server, "GET", "/mail/%FF")
    assert (status, b"<Code>InvalidURI</Code>" in body) == (400, True)
    assert raw(inbound_server, "DELETE", "/")[0] == 405
    body = b"<Delete><Object><Key>k</Key></Object></Delete>"
    status, answer = raw(inbound_server, "POST", "/mail?delete", body)
    assert status == 400
    assert b"Missing required header for this request: Content-MD5" in answer


def test_signatures_are_verified_for_s3(inbound_factory: Any) -> None:

    server = inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})

    def client(key: str, secret: str) -> Any:
        return signed_client(server, "s3", key, secret)

    good = client(KEY, SECRET)
    good.create_bucket(Bucket="signed")
    good.put_object(Bucket="signed", Key="a b/ü", Body=b"x")
    assert good.get_object(Bucket="signed", Key="a b/ü")["Body"].read() == b"x"
    assert error(client(KEY, "wrong").list_buckets) == (
        "SignatureDoesNotMatch",
        403,
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
    )
    assert error(client("AKIDUNKNOWN", SECRET).list_buckets) == (
        "InvalidAccessKeyId",
        403,
        "The AWS Access Key Id you provided does not exist in our records.",
    )
