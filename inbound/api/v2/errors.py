"""SES v2 errors: the model's error codes, and how the errors the shared services raise (named
after the v1 API, `inbound/errors.py`) reach a v2 client.

The services (identities, sending configuration, the Sender) are shared by both APIs and raise
v1 errors. A v2 client expects the v2 model's codes, so `for_v2` renames them by what they
mean, keeping the message: a missing resource is `NotFoundException` (404), a duplicate
`AlreadyExistsException`, a quota `LimitExceededException`, throttling
`TooManyRequestsException` (429), paused sending `SendingPausedException`, and every other
client error `BadRequestException` (the v2 model's one error for bad input). AWS's common
errors (SigV4, 413, 501, 500) keep their code: they are not SES's.
"""

from __future__ import annotations

from inbound import errors
from inbound.api import faults
from inbound.api.v2 import service
from inbound.errors import ResourceNotFound, SesClientError, SesError


class BadRequest(SesClientError):
    code = "BadRequestException"


# The services raise it for resources only v2 has; the operations use the one class too.
NotFound = ResourceNotFound


class AlreadyExists(SesClientError):
    code = "AlreadyExistsException"


class LimitExceeded(SesClientError):
    code = "LimitExceededException"


# Raised by the sending side too (a tenant named by X-SES-TENANT): declared with the others.
SendingPaused = errors.SendingPaused
AccessDenied = errors.TenantAccessDenied


class UnknownOperation(SesClientError):
    """No operation of the model has this method and path. AWS's REST services answer an
    unroutable request with `UnknownOperationException` (404)."""

    code = "UnknownOperationException"
    status = 404


_RENAMED = {
    **dict.fromkeys(
        (
            "ConfigurationSetDoesNotExist",
            "TemplateDoesNotExist",
            "EventDestinationDoesNotExist",
            "CustomVerificationEmailTemplateDoesNotExist",
            "TrackingOptionsDoesNotExistException",
        ),
        NotFound.code,
    ),
    **dict.fromkeys(
        (
            "AlreadyExists",
            "ConfigurationSetAlreadyExists",
            "EventDestinationAlreadyExists",
            "CustomVerificationEmailTemplateAlreadyExists",
            "TrackingOptionsAlreadyExistsException",
        ),
        AlreadyExists.code,
    ),
    "LimitExceeded": LimitExceeded.code,
    "Throttling": "TooManyRequestsException",
    "AccountSendingPausedException": "SendingPausedException",
    "ConfigurationSetSendingPausedException": "SendingPausedException",
}
_COMMON = frozenset(
    cls.code
    for cls in (
        faults.MissingAuthenticationToken,
        faults.InvalidClientTokenId,
        faults.SignatureDoesNotMatch,
        faults.IncompleteSignature,
        faults.NotImplementedOperation,
        faults.RequestEntityTooLarge,
        faults.MisdirectedRequest,
        faults.AccessDenied,
        faults.InternalFailure,
        faults.ServiceUnavailable,
    )
)


def for_v2(error: SesError) -> tuple[str, int]:
    """(the v2 error code, its HTTP status) for any error a handler or the codec raised."""
    code = error.code
    if code in _COMMON or code in (UnknownOperation.code, AccessDenied.code):
        return code, error.status
    if service.error_shape(code) is None:
        code = _RENAMED.get(code) or (
            BadRequest.code if error.status < 500 else "InternalServiceErrorException"
        )
    return code, service.error_status(code, error.status)
