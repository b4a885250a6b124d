"""S3's errors, one class per code, with S3's status and message texts ("Error responses",
S3 API Reference, List of error codes). `fields` are the elements S3 adds inside `<Error>`
(`BucketName`, `Key`, `RangeRequested`...)."""

from __future__ import annotations

from inbound.errors import SesError


class S3Error(SesError):
    code = "InternalError"
    status = 500
    text = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, **fields: object) -> None:
        super().__init__(message or self.text, **fields)


class AccessDenied(S3Error):
    code, status, text = "AccessDenied", 403, "Access Denied"


class AuthorizationHeaderMalformed(S3Error):
    code, status, text = (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed.",
    )


class BadDigest(S3Error):
    code, status = "BadDigest", 400
    text = "The Content-MD5 you specified did not match what we received."


class BucketAlreadyOwnedByYou(S3Error):
    code, status = "BucketAlreadyOwnedByYou", 409
    text = "Your previous request to create the named bucket succeeded and you already own it."


class BucketNotEmpty(S3Error):
    code, status = "BucketNotEmpty", 409
    text = "The bucket you tried to delete is not empty"


class EntityTooLarge(S3Error):
    code, status, text = (
        "EntityTooLarge",
        400,
        "Your proposed upload exceeds the maximum allowed size",
    )


class IllegalLocationConstraintException(S3Error):
    code, status = "IllegalLocationConstraintException", 400


class InvalidAccessKeyId(S3Error):
    code, status = "InvalidAccessKeyId", 403
    text = "The AWS Access Key Id you provided does not exist in our records."


class InvalidArgument(S3Error):
    code, status = "InvalidArgument", 400


class InvalidBucketName(S3Error):
    code, status, text = "InvalidBucketName", 400, "The specified bucket is not valid."


class InvalidDigest(S3Error):
    code, status, text = "InvalidDigest", 400, "The Content-MD5 you specified is not valid."


class InvalidLocationConstraint(S3Error):
    code, status, text = (
        "InvalidLocationConstraint",
        400,
        "The specified location-constraint is not valid",
    )


class InvalidRange(S3Error):
    code, status, text = "InvalidRange", 416, "The requested range is not satisfiable"


class InvalidRequest(S3Error):
    code, status = "InvalidRequest", 400


class InvalidURI(S3Error):
    code, status, text = "InvalidURI", 400, "Couldn't parse the specified URI."


class KeyTooLongError(S3Error):
    code, status, text = "KeyTooLongError", 400, "Your key is too long"


class MalformedXML(S3Error):
    code, status = "MalformedXML", 400
    text = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MetadataTooLarge(S3Error):
    code, status = "MetadataTooLarge", 400
    text = "Your metadata headers exceed the maximum allowed metadata size"


class MethodNotAllowed(S3Error):
    code, status = "MethodNotAllowed", 405
    text = "The specified method is not allowed against this resource."


class NoSuchBucket(S3Error):
    code, status, text = "NoSuchBucket", 404, "The specified bucket does not exist"


class NoSuchKey(S3Error):
    code, status, text = "NoSuchKey", 404, "The specified key does not exist."


class NotImplementedHere(S3Error):
    code, status = "NotImplemented", 501
    text = "A header you provided implies functionality that is not implemented"


class PreconditionFailed(S3Error):
    code, status = "PreconditionFailed", 412
    text = "At least one of the pre-conditions you specified did not hold"


class RequestTimeTooSkewed(S3Error):
    code, status = "RequestTimeTooSkewed", 403
    text = "The difference between the request time and the current time is too large."


class ServiceUnavailable(S3Error):
    code, status = "ServiceUnavailable", 503
    text = "Please reduce your request rate."


class SignatureDoesNotMatch(S3Error):
    code, status = "SignatureDoesNotMatch", 403
    text = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class XAmzContentSHA256Mismatch(S3Error):
    code, status = "XAmzContentSHA256Mismatch", 400
    text = "The provided 'x-amz-content-sha256' header does not match what was computed."
