"""Object operations: PutObject, GetObject (ranges, conditional requests), HeadObject,
DeleteObject (S3 API Reference; RFC 9110 §13 and §14 for conditions and ranges)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING

from aiohttp import web

from inbound.api.aws.s3 import errors
from inbound.backends import local_s3
from inbound.records import StoredObject
from inbound.timestamps import from_wire

if TYPE_CHECKING:
    from inbound.api.aws.s3.request import S3Request
    from inbound.backends.local_s3 import LocalObjectStore

MAX_KEY_BYTES = 1024  # S3: "The name for a key is a sequence of Unicode characters whose
# UTF-8 encoding is at most 1,024 bytes long" (S3 User Guide, "Naming Amazon S3 objects")
MAX_USER_METADATA = 2048  # bytes of x-amz-meta-* names and values (S3 User Guide)
OFFLOAD = 1024 * 1024  # read bigger files off the event loop
DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 stores when PutObject names none
META = "x-amz-meta-"
# The system metadata PutObject keeps and GetObject/HeadObject answer with
SYSTEM_HEADERS = (
    "Content-Type",
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)
_CHECKSUMS: dict[str, tuple[str, Callable[[bytes], bytes]]] = {
    "x-amz-checksum-crc32": ("CRC32", lambda b: zlib.crc32(b).to_bytes(4, "big")),
    "x-amz-checksum-sha1": ("SHA1", lambda b: hashlib.sha1(b).digest()),
    "x-amz-checksum-sha256": ("SHA256", lambda b: hashlib.sha256(b).digest()),
}
CHECKSUM_HEADERS = (*_CHECKSUMS, "x-amz-checksum-crc32c", "x-amz-checksum-crc64nvme")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def etag_of(objects: LocalObjectStore, record: StoredObject) -> str:
    """The quoted MD5 of the body; computed for objects stored before ETags were recorded."""
    etag = record.etag or hashlib.md5(objects.read(record), usedforsecurity=False).hexdigest()
    return f'"{etag}"'


def _check_key(key: str) -> None:
    if len(key.encode()) > MAX_KEY_BYTES:
        raise errors.KeyTooLongError(Size=len(key.encode()), MaxSizeAllowed=MAX_KEY_BYTES)


def require_bucket(request: S3Request) -> None:
    if request.objects.bucket(request.bucket) is None:
        raise errors.NoSuchBucket(BucketName=request.bucket)


def _record(request: S3Request) -> StoredObject:
    require_bucket(request)
    try:
        return request.objects.stored_object(request.bucket, request.key)
    except local_s3.NoSuchKey:
        raise errors.NoSuchKey(Key=request.key) from None


# ── PutObject ───────────────────────────────────────────────────────────────────────────────
async def put_object(request: S3Request) -> web.StreamResponse:
    _check_key(request.key)
    headers = request.http.headers
    body = request.body
    metadata = {
        name[len(META) :].lower(): value
        for name, value in headers.items()
        if name.lower().startswith(META)
    }
    size = sum(len(k.encode()) + len(v.encode()) for k, v in metadata.items())
    if size > MAX_USER_METADATA:
        raise errors.MetadataTooLarge(Size=size, MaxSizeAllowed=MAX_USER_METADATA)
    check_digests(headers, body)
    system = {name: headers[name] for name in SYSTEM_HEADERS if name in headers}
    system.setdefault("Content-Type", DEFAULT_CONTENT_TYPE)
    require_bucket(request)
    if headers.get("If-None-Match") == "*" and request.objects.store.stored_object(
        request.bucket, request.key
    ):
        raise errors.PreconditionFailed(Condition="If-None-Match")
    stored = await request.objects.write_object(
        request.bucket, request.key, body, metadata, None, system, durable=True
    )
    answer = {"ETag": f'"{stored.etag}"'}
    answer |= {name: headers[name] for name in _CHECKSUMS if name in headers}
    return web.Response(status=200, headers=answer)


def check_digests(headers: Mapping[str, str], body: bytes) -> None:
    """Content-MD5 and the flexible checksums S3 checks (CRC32, SHA1, SHA256; CRC32C and
    CRC64NVME are taken unchecked: no dependency computes them here)."""
    md5 = headers.get("Content-MD5")
    if md5 is not None:
        try:
            claimed = base64.b64decode(md5, validate=True)
        except binascii.Error:
            raise errors.InvalidDigest(**{"Content-MD5": md5}) from None
        if len(claimed) != 16:
            raise errors.InvalidDigest(**{"Content-MD5": md5})
        if claimed != hashlib.md5(body, usedforsecurity=False).digest():
            raise errors.BadDigest(
                ExpectedDigest=claimed.hex(),
                CalculatedDigest=hashlib.md5(body, usedforsecurity=False).hexdigest(),
            )
    for header, (name, compute) in _CHECKSUMS.items():
        value = headers.get(header)
        if value is not None and value != base64.b64encode(compute(body)).decode():
            raise errors.BadDigest(
                f"The {name} you specified did not match the calculated checksum."
            )


# ── GetObject, HeadObject ───────────────────────────────────────────────────────────────────
async def get_object(request: S3Request) -> web.StreamResponse:
    return await _read(request, with_body=True)


async def head_object(request: S3Request) -> web.StreamResponse:
    return await _read(request, with_body=False)


async def _read(request: S3Request, *, with_body: bool) -> web.StreamResponse:
    _check_key(request.key)
    record = _record(request)
    headers = _object_headers(request, record)
    not_modified = _preconditions(request.http.headers, headers["ETag"], _modified(record))
    if not_modified:
        return web.Response(status=304, headers={k: headers[k] for k in ("ETag", "Last-Modified")})
    start, length, status = 0, record.size, 200
    span = _range(request.http.headers.get("Range"), record.size)
    if span is not None:
        start, length, status = span[0], span[1] - span[0] + 1, 206
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{record.size}"
    headers["Content-Length"] = str(length)
    if not with_body:  # a StreamResponse keeps the Content-Length given (of the body not sent)
        return web.StreamResponse(status=status, headers=headers)
    if length > OFFLOAD:
        body = await asyncio.to_thread(request.objects.read, record, start, length)
    else:
        body = request.objects.read(record, start, length)
    del headers["Content-Length"]
    return web.Response(status=status, body=body, headers=headers)


def _object_headers(request: S3Request, record: StoredObject) -> dict[str, str]:
    headers = {"Content-Type": DEFAULT_CONTENT_TYPE, **record.headers}
    for name in SYSTEM_HEADERS:  # response-content-type=... and the like (GetObject)
        override = request.query.get(f"response-{name.lower()}")
        if override is not None:
            headers[name] = override
    headers["ETag"] = etag_of(request.objects, record)
    headers["Last-Modified"] = format_datetime(_modified(record), usegmt=True)
    headers["Accept-Ranges"] = "bytes"
    headers |= {f"{META}{name}": value for name, value in record.metadata.items()}
    return headers


def _modified(record: StoredObject) -> datetime:
    """To the second, as Last-Modified says it."""
    return from_wire(record.created).astimezone(UTC).replace(microsecond=0)


def _preconditions(headers: Mapping[str, str], etag: str, modified: datetime) -> bool:
    """Raises 412 for a failed If-Match / If-Unmodified-Since; True for 304 (If-None-Match,
    else If-Modified-Since): RFC 9110 §13.2.2's order, as S3 documents for GetObject."""
    if_match = headers.get("If-Match")
    if if_match is not None:
        if not _etag_matches(if_match, etag):
            raise errors.PreconditionFailed(Condition="If-Match")
    else:
        since = _http_date(headers.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            raise errors.PreconditionFailed(Condition="If-Unmodified-Since")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, etag)
    since = _http_date(headers.get("If-Modified-Since"))
    return since is not None and modified <= since


def _etag_matches(header: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags or etag.strip('"') in tags


def _http_date(value: str | None) -> datetime | None:
    """An unparseable date is ignored, as RFC 9110 §13.1.3 says."""
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a `bytes=` range; None (the whole object) when there is none
    or it is not one S3 reads; 416 when it cannot be satisfied."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if size == 0:
        raise errors.InvalidRange(RangeRequested=header, ActualObjectSize=size)
    if first == "":  # the last N bytes
        if int(last) == 0:
            raise errors.InvalidRange(RangeRequested=header, ActualObjectSize=size)
        return max(0, size - int(last)), size - 1
    if last and int(last) < int(first):
        return None  # invalid: ignored (RFC 9110 §14.1.1)
    if int(first) >= size:
        raise errors.InvalidRange(RangeRequested=header, ActualObjectSize=size)
    return int(first), min(int(last), size - 1) if last else size - 1


# ── DeleteObject ────────────────────────────────────────────────────────────────────────────
async def delete_object(request: S3Request) -> web.StreamResponse:
    """204 whether or not the key existed (S3 API Reference, DeleteObject)."""
    _check_key(request.key)
    require_bucket(request)
    await request.objects.delete_object(request.bucket, request.key)
    return web.Response(status=204)
