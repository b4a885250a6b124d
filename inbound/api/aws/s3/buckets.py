"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
ListObjectsV2 and ListObjects (S3 API Reference)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aiohttp import web

from inbound.api.aws.s3 import errors, xml
from inbound.api.aws.s3.objects import CHECKSUM_HEADERS, check_digests, etag_of, require_bucket
from inbound.records import StoredObject

if TYPE_CHECKING:
    from inbound.api.aws.s3.request import S3Request

MAX_KEYS = 1000  # S3 lists at most 1,000 keys per page, whatever max-keys asks
LEGACY_REGION = "us-east-1"  # no LocationConstraint; a repeated CreateBucket there is a 200
_BATCH = 1000
# S3's naming rules for new general purpose buckets ("General purpose bucket naming rules", S3
# User Guide): 3 to 63 lower-case letters, digits, dots and hyphens, a letter or digit at each
# end, no `..`, not an IP address, none of the prefixes and suffixes S3 reserves. (Buckets made
# under the legacy us-east-1 rules, upper case and `_` included, still exist, and a receipt
# rule may name one: rules/validate.py checks those rules.)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    """Whether CreateBucket takes `name` (else `InvalidBucketName`)."""
    return (
        _BUCKET.match(name) is not None
        and ".." not in name
        and not _IP_ADDRESS.match(name)
        and not name.startswith(_RESERVED_PREFIXES)
        and not name.endswith(_RESERVED_SUFFIXES)
    )


def xml_response(root: str, content: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=xml.document(root, content), content_type="application/xml"
    )


def owner(account_id: str) -> dict[str, str]:
    """The account's canonical user id: 64 hex digits, stable per account (as S3's are)."""
    return {"ID": hashlib.sha256(f"inbound:{account_id}".encode()).hexdigest()}


async def list_buckets(request: S3Request) -> web.StreamResponse:
    found = request.objects.store.buckets()
    entries = [{"Name": b.name, "CreationDate": b.created, "BucketRegion": b.region} for b in found]
    content: dict[str, Any] = {"Owner": owner(request.account_id)}
    content["Buckets"] = {"Bucket": entries}
    return xml_response("ListAllMyBucketsResult", content)


async def create_bucket(request: S3Request) -> web.StreamResponse:
    name = request.bucket
    if not valid_bucket_name(name):
        raise errors.InvalidBucketName(BucketName=name)
    constraint = _location_constraint(request.body)
    if constraint == LEGACY_REGION:  # us-east-1 is said by leaving the constraint out
        raise errors.InvalidLocationConstraint()
    if (constraint or LEGACY_REGION) != request.region:
        shown = f"{constraint} location" if constraint else "unspecified location"
        raise errors.IllegalLocationConstraintException(
            f"The {shown} constraint is incompatible for the region specific endpoint this "
            "request was sent to."
        )
    created = await request.objects.create_bucket(name, request.region)
    if not created and request.region != LEGACY_REGION:
        raise errors.BucketAlreadyOwnedByYou(BucketName=name)
    return web.Response(status=200, headers={"Location": f"/{name}"})


def _location_constraint(body: bytes) -> str | None:
    if not body.strip():
        return None
    try:
        return xml.find_text(body, ["LocationConstraint"]) or None
    except ValueError:
        raise errors.MalformedXML() from None


async def head_bucket(request: S3Request) -> web.StreamResponse:
    found = request.objects.bucket(request.bucket)
    if found is None:
        raise errors.NoSuchBucket(BucketName=request.bucket)
    return web.Response(status=200, headers={"x-amz-bucket-region": found.region})


async def get_bucket_location(request: S3Request) -> web.StreamResponse:
    found = request.objects.bucket(request.bucket)
    if found is None:
        raise errors.NoSuchBucket(BucketName=request.bucket)
    # us-east-1 is an empty LocationConstraint (S3 API Reference, GetBucketLocation)
    region = "" if found.region == LEGACY_REGION else found.region
    body = xml.document("LocationConstraint", {}, text=region)
    return web.Response(body=body, content_type="application/xml")


async def delete_bucket(request: S3Request) -> web.StreamResponse:
    require_bucket(request)
    if request.objects.store.objects_after(request.bucket, "", "", 1):
        raise errors.BucketNotEmpty(BucketName=request.bucket)
    await request.objects.store.delete_bucket(request.bucket)
    return web.Response(status=204)


async def delete_objects(request: S3Request) -> web.StreamResponse:
    """Up to 1,000 keys at once; a key that is not there is reported deleted, as S3 does;
    `Quiet` answers only the errors (there are none here). S3 requires the body's
    Content-MD5 or a flexible checksum, which the SDKs send."""
    require_bucket(request)
    headers = request.http.headers
    if "Content-MD5" not in headers and not any(h in headers for h in CHECKSUM_HEADERS):
        raise errors.InvalidRequest("Missing required header for this request: Content-MD5")
    check_digests(headers, request.body)
    try:
        keys = xml.find_all(request.body, ["Object", "Key"])
        quiet = xml.find_text(request.body, ["Quiet"]) == "true"
    except ValueError:
        raise errors.MalformedXML() from None
    if not keys or len(keys) > MAX_KEYS:
        raise errors.MalformedXML()
    for key in keys:
        await request.objects.delete_object(request.bucket, key)
    deleted = [] if quiet else [{"Key": key} for key in keys]
    return xml_response("DeleteResult", {"Deleted": deleted})


# ── listings ──────────────────────────────────────────────────────────────────────────────
@dataclass(frozen=True)
class Page:
    contents: list[StoredObject]
    prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or common prefix listed (where the next page starts)


def list_page(request: S3Request, prefix: str, delimiter: str, after: str, max_keys: int) -> Page:
    """Keys after `after` (and, when `after` is a common prefix, not under it), with the keys
    that share a prefix up to the delimiter rolled up, `max_keys` entries at most."""
    store = request.objects.store
    if max_keys == 0:
        return Page([], [], False, None)
    entries: list[StoredObject | str] = []
    cursor = after
    while len(entries) <= max_keys:
        batch = store.objects_after(request.bucket, prefix, cursor, _BATCH)
        for record in batch:
            cursor = record.key
            rolled = _common_prefix(record.key, prefix, delimiter)
            if rolled is None:
                entries.append(record)
            elif rolled != after and (not entries or entries[-1] != rolled):
                entries.append(rolled)
            if len(entries) > max_keys:
                break
        if len(batch) < _BATCH:
            break
    page = entries[:max_keys]
    last = page[-1] if page else None
    return Page(
        contents=[e for e in page if isinstance(e, StoredObject)],
        prefixes=[e for e in page if isinstance(e, str)],
        truncated=len(entries) > max_keys,
        last=last.key if isinstance(last, StoredObject) else last,
    )


def _common_prefix(key: str, prefix: str, delimiter: str) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def _max_keys(query: dict[str, str]) -> int:
    text = query.get("max-keys", str(MAX_KEYS))
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or value > 2**31 - 1:
        raise errors.InvalidArgument(
            "Provided max-keys not an integer or within integer range",
            ArgumentName="max-keys",
            ArgumentValue=text,
        )
    return min(value, MAX_KEYS)


def _encoder(query: dict[str, str]) -> Any:
    encoding = query.get("encoding-type")
    if encoding is None:
        return lambda text: text
    if encoding != "url":
        raise errors.InvalidArgument(
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    return lambda text: quote(text, safe="/")


def _entry(record: StoredObject, encode: Any, request: S3Request, with_owner: bool) -> Any:
    entry: dict[str, Any] = {
        "Key": encode(record.key),
        "LastModified": record.created,
        "ETag": etag_of(request.objects, record),
        "Size": record.size,
    }
    if with_owner:
        entry["Owner"] = owner(request.account_id)
    entry["StorageClass"] = "STANDARD"
    return entry


def _token(last: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(last).encode()).decode()


def _from_token(token: str) -> str:
    try:
        last = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        last = None
    if not isinstance(last, str):
        raise errors.InvalidArgument(
            "The continuation token provided is incorrect",
            ArgumentName="continuation-token",
            ArgumentValue=token,
        )
    return last


async def list_objects_v2(request: S3Request) -> web.StreamResponse:
    require_bucket(request)
    q = request.query
    encode = _encoder(q)
    max_keys = _max_keys(q)
    prefix, delimiter = q.get("prefix", ""), q.get("delimiter", "")
    token = q.get("continuation-token")
    after = _from_token(token) if token is not None else q.get("start-after", "")
    page = list_page(request, prefix, delimiter, after, max_keys)
    with_owner = q.get("fetch-owner") == "true"
    content: dict[str, Any] = {"Name": request.bucket, "Prefix": encode(prefix)}
    if token is not None:
        content["ContinuationToken"] = token
    if page.truncated and page.last is not None:
        content["NextContinuationToken"] = _token(page.last)
    if "start-after" in q:
        content["StartAfter"] = encode(q["start-after"])
    content |= _listed(request, page, encode, delimiter, max_keys, with_owner)
    content["KeyCount"] = len(page.contents) + len(page.prefixes)
    return xml_response("ListBucketResult", content)


async def list_objects(request: S3Request) -> web.StreamResponse:
    require_bucket(request)
    q = request.query
    encode = _encoder(q)
    max_keys = _max_keys(q)
    prefix, delimiter, marker = q.get("prefix", ""), q.get("delimiter", ""), q.get("marker", "")
    page = list_page(request, prefix, delimiter, marker, max_keys)
    content: dict[str, Any] = {
        "Name": request.bucket,
        "Prefix": encode(prefix),
        "Marker": encode(marker),
    }
    if page.truncated and delimiter and page.last is not None:
        content["NextMarker"] = encode(page.last)
    content |= _listed(request, page, encode, delimiter, max_keys, True)
    return xml_response("ListBucketResult", content)


def _listed(
    request: S3Request, page: Page, encode: Any, delimiter: str, max_keys: int, with_owner: bool
) -> dict[str, Any]:
    content: dict[str, Any] = {"MaxKeys": max_keys}
    if delimiter:
        content["Delimiter"] = encode(delimiter)
    if "encoding-type" in request.query:
        content["EncodingType"] = "url"
    content["IsTruncated"] = page.truncated
    content["Contents"] = [_entry(r, encode, request, with_owner) for r in page.contents]
    content["CommonPrefixes"] = [{"Prefix": encode(p)} for p in page.prefixes]
    return content
