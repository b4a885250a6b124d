"""The AWS APIs of the embedded services on the HTTP port, beside SES's, so code written for
AWS reaches them with nothing but `endpoint_url` (docs/aws-endpoints.md): SNS (Query, `sns.py`,
claimed on `/` through the Query route), S3 (REST-XML, `s3/`) and KMS (JSON, `kms.py`).

S3 and KMS requests are handed over by a middleware before any route (an S3 path can be any
path): a request is theirs by the service its SigV4 credential scope names (`Credential=
<key>/<date>/<region>/s3/aws4_request`, or a presigned URL's `X-Amz-Credential`), or, for
KMS, by its `X-Amz-Target: TrentService.*`. SES requests name `ses` or `email`, so every path
(`/`, `/v2/...`, a bucket called `api`) stays unambiguous.
"""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbound.api import auth
from inbound.api.aws import kms
from inbound.api.aws.s3 import routes as s3_routes
from inbound.api.services import Services

_QUERY_SCOPE_SERVICE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")


def signing_service(request: web.Request) -> str | None:
    """The AWS service a request is for, when it says; None for unsigned ones."""
    service = auth.signing_service(request.headers)
    if service is not None:
        return service
    match = _QUERY_SCOPE_SERVICE.match(request.query.get("X-Amz-Credential", ""))
    if match is not None:
        return match.group(1)
    if request.headers.get("X-Amz-Target", "").startswith(kms.TARGET_PREFIX):
        return "kms"
    return None


def dispatch(services: Services) -> Middleware:
    """The middleware that hands S3 and KMS requests to their endpoints, before the routes."""
    endpoints = {"s3": s3_routes.handler(services), "kms": kms.handler(services)}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = endpoints.get(signing_service(request) or "")
        return await (endpoint or handler)(request)

    return middleware
