"""The SNS API's errors that the embedded SNS raises (botocore `sns/2010-03-31` model): the
Query codec writes them with the sns model's codes and HTTP statuses."""

from __future__ import annotations

from inbound.errors import SesClientError


class NotFound(SesClientError):
    code = "NotFound"
    status = 404


class InvalidParameter(SesClientError):
    code = "InvalidParameter"


class AuthorizationError(SesClientError):
    code = "AuthorizationError"
    status = 403
