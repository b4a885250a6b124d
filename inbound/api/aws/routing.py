"""Which embedded service's API a request on the HTTP port is for, told without loading any of
them (api/aws/__init__.py loads an endpoint with its first request).

S3 and KMS: the service its SigV4 credential scope names (`Credential=<key>/<date>/<region>/
s3/aws4_request`, or a presigned URL's `X-Amz-Credential`), or, for KMS, its `X-Amz-Target:
TrentService.*`. SNS shares `/` with SES's Query API: signed, by the scope's service (`sns`);
unsigned, by an action only SNS's own links send (a GET of a SubscribeURL or UnsubscribeURL).
SES requests name `ses` or `email`, so every path (`/`, `/v2/...`, a bucket called `api`)
stays unambiguous.
"""

from __future__ import annotations

import re

from aiohttp import web

from inbound.api import auth

KMS_TARGET_PREFIX = "TrentService."  # KMS's `X-Amz-Target: TrentService.<Operation>`
SNS_UNSIGNED = ("ConfirmSubscription", "Unsubscribe")  # what SNS's own links do
_QUERY_SCOPE_SERVICE = re.compile(r"^[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request$")


def signing_service(request: web.Request) -> str | None:
    """The AWS service a request is for, when it says; None for unsigned ones."""
    service = auth.signing_service(request.headers)
    if service is not None:
        return service
    match = _QUERY_SCOPE_SERVICE.match(request.query.get("X-Amz-Credential", ""))
    if match is not None:
        return match.group(1)
    if request.headers.get("X-Amz-Target", "").startswith(KMS_TARGET_PREFIX):
        return "kms"
    return None


def sns_claims(request: web.Request) -> bool:
    """Whether a request on `/` is for the SNS Query API rather than SES's."""
    service = auth.signing_service(request.headers)
    if service is not None:
        return service == "sns"
    return request.query.get("Action") in SNS_UNSIGNED
