"""Protocol-level errors of the Query endpoint: HTTP, action lookup, parameters, SigV4.

These are the unmodeled AWS "common errors" (query-api.md §5): they reach boto3 as a plain
`ClientError` with `Error.Code` set. The SES operation errors live in `inbound.errors`.
"""

from __future__ import annotations

from inbound.errors import SesClientError, SesError, ValidationError


class MissingAction(SesClientError):
    code = "MissingAction"


class InvalidAction(SesClientError):
    code = "InvalidAction"


class NotImplementedOperation(SesError):
    """An operation of the model that `inbound` has no handler for.

    501 says "the server lacks this functionality" and, unlike 500/502/503/504, is not in
    botocore's retry lists (standard and legacy), so a client fails once, fast, with
    `Code=NotImplemented` and a message naming the operation (query-api.md §5, retries).
    """

    code = "NotImplemented"
    status = 501


class ValidationErrors(ValidationError):
    """Coral constraint violations, all reported at once as AWS does (query-api.md §5):
    `2 validation errors detected: Value null at 'a' failed …; Value 'x' at 'b' failed …`.
    `paths` are the member paths in order; `path` (of `ValidationError`) is the first."""

    def __init__(self, violations: list[tuple[str, str]]) -> None:
        count = len(violations)
        noun = "error" if count == 1 else "errors"
        texts = "; ".join(text for _, text in violations)
        SesClientError.__init__(self, f"{count} validation {noun} detected: {texts}")
        self.paths = [path for path, _ in violations]
        self.path = self.paths[0]


class NotFound(SesClientError):
    code = "NotFound"
    status = 404


class MethodNotAllowed(SesClientError):
    code = "MethodNotAllowed"
    status = 405


class RequestEntityTooLarge(SesClientError):
    code = "RequestEntityTooLarge"
    status = 413


class InternalFailure(SesError):
    code = "InternalFailure"
    status = 500


class ServiceUnavailable(SesError):
    """AWS's common error for "a temporary failure of the server" (SES API Reference, Common
    Errors): what a request gets while the server is starting or stopping. botocore retries
    503s, so an SDK client that arrives just before the engine is up is served."""

    code = "ServiceUnavailable"
    status = 503


class MissingAuthenticationToken(SesClientError):
    code = "MissingAuthenticationToken"
    status = 403


class InvalidClientTokenId(SesClientError):
    code = "InvalidClientTokenId"
    status = 403


class SignatureDoesNotMatch(SesClientError):
    code = "SignatureDoesNotMatch"
    status = 403


class SignatureExpired(SignatureDoesNotMatch):
    """SES answers a clock skew as a signature mismatch; S3 has its own code for it."""


class ContentHashMismatch(SignatureDoesNotMatch):
    """The body is not the one `X-Amz-Content-SHA256` names (S3: its own code, 400)."""


class IncompleteSignature(SesClientError):
    code = "IncompleteSignature"


class MisdirectedRequest(SesClientError):
    """A `Host` the server does not answer to (api/guard.py): 421 is HTTP's "this server is not
    the one for this authority" (RFC 9110 §15.5.20); not in botocore's retry lists."""

    code = "MisdirectedRequest"
    status = 421


class AccessDenied(SesClientError):
    """A cross-origin write (api/guard.py), with AWS's code and status for a refused request."""

    code = "AccessDenied"
    status = 403
