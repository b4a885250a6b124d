"""The S3 endpoint: a request signed for `s3` (api/aws) → bucket, key and subresource → the
operation → S3's XML (or bytes), errors in S3's `<Error>` document.

Addressing: path style (`/bucket/key`, what boto3 uses for an `endpoint_url`) and virtual-host
style for `<bucket>.localhost[:port]` (such names resolve to the loopback address). The path
is taken as it arrived (`raw_path`), percent-decoded as UTF-8, so keys such as `a//b` or
`../x` reach the store as they were given.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from inbound.api import auth, faults
from inbound.api.aws.s3 import buckets, errors, objects, xml
from inbound.api.aws.s3.request import S3Request
from inbound.api.endpoint import caller
from inbound.api.guard import host_name
from inbound.errors import SesError

if TYPE_CHECKING:
    from inbound.api.services import Services

log = logging.getLogger("inbound.api")

MAX_BODY = 64 * 1024 * 1024  # PutObject bodies: the HTTP port's limit (api/__init__.py)
SIGNING_NAMES = ("s3",)
VIRTUAL_HOST_SUFFIX = ".localhost"
# Subresources this endpoint answers; any other (`?acl`, `?tagging`, `?uploads`...) is S3's 501
BUCKET_SUBRESOURCES = frozenset({"list-type", "location", "delete"})
LISTING_PARAMETERS = frozenset(
    {
        "prefix", "delimiter", "max-keys", "marker", "continuation-token", "start-after",
        "encoding-type", "fetch-owner", "list-type",
    }
)  # fmt: skip
OBJECT_PARAMETERS = frozenset(
    {
        "response-content-type", "response-content-language", "response-expires",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "x-id",
    }
)  # fmt: skip


Operation = Callable[[S3Request], Awaitable[web.StreamResponse]]


def handler(services: Services) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        request_id, host_id = secrets.token_hex(8).upper(), secrets.token_urlsafe(48)
        head = request.method == "HEAD"
        try:
            response = await _serve(request, services)
        except SesError as error:
            response = error_response(_as_s3(error), request_id, host_id, head)
        except Exception:
            log.exception("S3 request %s failed", request_id)
            response = error_response(errors.S3Error(), request_id, host_id, head)
        response.headers["x-amz-request-id"] = request_id
        response.headers["x-amz-id-2"] = host_id
        return response

    return handle


def error_response(error: SesError, request_id: str, host_id: str, head: bool) -> web.Response:
    """A HEAD error has no body (S3 sends none: boto3 then reports the status as the code).
    An unsatisfiable range says the object's size in `Content-Range` (RFC 9110 §15.5.17)."""
    headers = {}
    if isinstance(error, errors.InvalidRange):
        headers["Content-Range"] = f"bytes */{error.fields['ActualObjectSize']}"
    if head:
        return web.Response(status=error.status, headers=headers)
    body = xml.error_document(error, request_id, host_id)
    return web.Response(
        status=error.status, body=body, content_type="application/xml", headers=headers
    )


async def _serve(request: web.Request, services: Services) -> web.StreamResponse:
    if not services.ready or services.s3 is None:
        raise errors.ServiceUnavailable()
    body = await _read_body(request)
    if "aws-chunked" in request.headers.get("Content-Encoding", ""):
        raise errors.NotImplementedHere(
            "Chunked (aws-chunked) uploads are not supported: send the body whole."
        )
    who = _caller(services, request, body)
    bucket, key = _address(request)
    query = dict(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
    s3_request = S3Request(
        request,
        bucket,
        key,
        query,
        body,
        who.region or services.region,
        services.account_id,
        services.s3,
    )
    return await _operation(s3_request)(s3_request)


def _operation(request: S3Request) -> Operation:
    method = request.http.method
    names = set(request.query)
    if not request.bucket:
        if method == "GET":
            return buckets.list_buckets
        raise errors.MethodNotAllowed(Method=method, ResourceType="SERVICE")
    if not request.key:
        if names - BUCKET_SUBRESOURCES - LISTING_PARAMETERS:
            raise errors.NotImplementedHere(Header=sorted(names)[0])
        operations: dict[str, Operation] = {
            "PUT": buckets.create_bucket,
            "HEAD": buckets.head_bucket,
            "DELETE": buckets.delete_bucket,
        }
        if method == "POST" and "delete" in names:
            return buckets.delete_objects
        if method == "GET":
            if "location" in names:
                return buckets.get_bucket_location
            return (
                buckets.list_objects_v2
                if request.query.get("list-type") == "2"
                else (buckets.list_objects)
            )
        found = operations.get(method)
        if found is None:
            raise errors.MethodNotAllowed(Method=method, ResourceType="BUCKET")
        return found
    if names - OBJECT_PARAMETERS or "x-amz-copy-source" in request.http.headers:
        raise errors.NotImplementedHere(Header=sorted(names or {"x-amz-copy-source"})[0])
    by_method: dict[str, Operation] = {
        "PUT": objects.put_object,
        "GET": objects.get_object,
        "HEAD": objects.head_object,
        "DELETE": objects.delete_object,
    }
    found = by_method.get(method)
    if found is None:
        raise errors.MethodNotAllowed(Method=method, ResourceType="OBJECT")
    return found


async def _read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        size = request.content_length or 0
        raise errors.EntityTooLarge(ProposedSize=size, MaxSizeAllowed=MAX_BODY) from None


def _caller(services: Services, request: web.Request, body: bytes) -> auth.Caller:
    if services.api_auth == "verify" and "X-Amz-Credential" in request.query:
        raise errors.AccessDenied(
            'Presigned (query-string) URLs are not supported when [api] auth = "verify".'
        )
    return caller(services, request, body, SIGNING_NAMES)


def _address(request: web.Request) -> tuple[str, str]:
    """(bucket, key) of the request: from the Host for virtual-host style, else the path."""
    path = request.raw_path.partition("?")[0]
    try:
        decoded = unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise errors.InvalidURI() from None
    host = host_name(request.headers.get("Host", ""))
    if host.endswith(VIRTUAL_HOST_SUFFIX) and len(host) > len(VIRTUAL_HOST_SUFFIX):
        return host.removesuffix(VIRTUAL_HOST_SUFFIX), decoded[1:]
    bucket, _, key = decoded[1:].partition("/")
    return bucket, key


def _as_s3(error: SesError) -> SesError:
    """The SigV4 checks' SES errors (api/auth.py) as S3 words them."""
    if isinstance(error, errors.S3Error):
        return error
    if isinstance(error, faults.SignatureExpired):
        return errors.RequestTimeTooSkewed()
    if isinstance(error, faults.ContentHashMismatch):
        return errors.XAmzContentSHA256Mismatch()
    if isinstance(error, faults.SignatureDoesNotMatch):
        return errors.SignatureDoesNotMatch()
    if isinstance(error, faults.InvalidClientTokenId):
        return errors.InvalidAccessKeyId()
    if isinstance(error, faults.IncompleteSignature):
        return errors.AuthorizationHeaderMalformed(error.message)
    if isinstance(error, faults.MissingAuthenticationToken):
        return errors.AccessDenied()
    return error
