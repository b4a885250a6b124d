"""Signature Version 4 verification with botocore's own signer (query-api.md §8).

`verify()` rebuilds the canonical request from what arrived: the raw `Host`, the raw path and
query, the raw body and exactly the headers named in `SignedHeaders`, then lets botocore's
`SigV4Auth` compute the signature for the credential scope's date, region and service.

Decisions (query-api.md §11):
* Region: the credential scope's, whatever it is (the server answers any region, like moto).
* Signing name: `ses` (the model's `signingName`) or `email` (its endpoint prefix).
* Clock skew: 5 minutes either way, answered as AWS's Coral services do, with 403
  `SignatureDoesNotMatch` "Signature expired: … is now earlier than …". `RequestExpired`
  belongs to the `Expires`-style query authentication, which is not supported.
* Legacy `X-Amzn-Authorization: AWS3-HTTPS` is not accepted: it signs only the date (no body,
  host or path), and SES itself has refused it since 1 Oct 2020 with `InvalidClientTokenId`,
  which is what this server answers too. Presigned (query-string) SigV4 is not supported.
* A session token (`X-Amz-Security-Token`) is accepted as is: there is no STS to ask.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from hashlib import sha256
from typing import TYPE_CHECKING

from inbound.api.faults import (
    ContentHashMismatch,
    IncompleteSignature,
    InvalidClientTokenId,
    MissingAuthenticationToken,
    SignatureDoesNotMatch,
    SignatureExpired,
)

if TYPE_CHECKING:
    from multidict import CIMultiDictProxy

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNING_NAMES = ("ses", "email")
# S3's payload hash may be left out of the signature (and is, over HTTPS, by the SDKs)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_SKEW = timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request")


@dataclass(frozen=True)
class Caller:
    access_key: str | None = None
    region: str | None = None  # the credential scope's region, when the request was signed


def signing_service(headers: CIMultiDictProxy[str]) -> str | None:
    """The service of the credential scope a request claims (`ses`, `sns`...), unchecked:
    which API on the shared port it is for."""
    match = _SCOPE.search(headers.get("Authorization", ""))
    return None if match is None else match.group(4)


def caller_of(headers: CIMultiDictProxy[str]) -> Caller:
    """Who signed the request, as claimed and unchecked (`api_auth = "off"`)."""
    match = _SCOPE.search(headers.get("Authorization", ""))
    if match is None:
        return Caller()
    return Caller(match.group(1), match.group(3))


def verify(
    method: str,
    raw_path: str,
    headers: CIMultiDictProxy[str],
    body: bytes,
    credentials: Mapping[str, str],
    now: datetime | None = None,
    signing_names: tuple[str, ...] = SIGNING_NAMES,
) -> Caller:
    """Check a SigV4-signed request; raises the 403 (or 400) error SES would send.
    `signing_names`: the services the credential scope may name (the first in the error);
    `s3` has its own canonical path and payload rules."""
    authorization = headers.get("Authorization", "")
    if not authorization:
        if "X-Amzn-Authorization" in headers:  # AWS3-HTTPS: refused since 2020
            raise InvalidClientTokenId("The security token included in the request is invalid.")
        raise MissingAuthenticationToken("Request is missing Authentication Token")
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise IncompleteSignature(f"Unsupported AWS 'algorithm': '{algorithm}'")
    fields = dict(_field(part) for part in rest.split(",") if part.strip())
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(name):
            raise IncompleteSignature(
                f"Authorization header requires '{name}' parameter. Authorization={authorization}"
            )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise IncompleteSignature(
            f"Credential should be scoped to a valid region. Credential={fields['Credential']}"
        )
    access_key, day, region, service, _ = scope
    secret = credentials.get(access_key)
    if secret is None:
        raise InvalidClientTokenId("The security token included in the request is invalid.")
    if service not in signing_names:
        raise SignatureDoesNotMatch(
            f"Credential should be scoped to correct service: '{signing_names[0]}'."
        )

    timestamp, source = _timestamp(headers)
    if timestamp[:8] != day:
        raise SignatureDoesNotMatch(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{day}' != '{timestamp[:8]}', from '{source}'."
        )
    _check_skew(timestamp, now or datetime.now(UTC))

    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed:
        raise IncompleteSignature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    payload_hash = sha256(body).hexdigest()
    claimed_hash = headers.get("X-Amz-Content-SHA256")
    if service == "s3" and claimed_hash == UNSIGNED_PAYLOAD:
        payload_hash = UNSIGNED_PAYLOAD
    elif claimed_hash is not None and claimed_hash != payload_hash:
        raise ContentHashMismatch(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    # botocore's signer is imported only when a signature is checked: it costs ~5 MB of memory
    # that a server with `auth = "off"` never needs (benchmarks hold RSS to the sink's + 30 MB).
    from inbound.api.sigv4 import MISMATCH, ServerSigV4, received_request

    signer = ServerSigV4(access_key, secret, service, region, headers, signed, service == "s3")
    request = received_request(method, headers.get("Host", ""), raw_path, payload_hash, timestamp)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, fields["Signature"]):
        raise SignatureDoesNotMatch(MISMATCH)
    return Caller(access_key, region)


def _field(part: str) -> tuple[str, str]:
    name, _, value = part.strip().partition("=")
    return name, value


def _timestamp(headers: CIMultiDictProxy[str]) -> tuple[str, str]:
    """X-Amz-Date, else the HTTP Date header (RFC 1123), as `YYYYMMDDTHHMMSSZ`."""
    amz_date = headers.get("X-Amz-Date")
    if amz_date is not None:
        try:
            datetime.strptime(amz_date, _AMZ_DATE)
        except ValueError:
            raise IncompleteSignature(f"Invalid X-Amz-Date: {amz_date}") from None
        return amz_date, "X-Amz-Date"
    date = headers.get("Date")
    if date is None:
        raise IncompleteSignature(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    try:
        parsed = parsedate_to_datetime(date)
    except (TypeError, ValueError):
        raise IncompleteSignature(f"Invalid Date header: {date}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime(_AMZ_DATE), "Date"


def _check_skew(timestamp: str, now: datetime) -> None:
    signed_at = datetime.strptime(timestamp, _AMZ_DATE).replace(tzinfo=UTC)
    minutes = int(MAX_SKEW.total_seconds() // 60)
    if signed_at < now - MAX_SKEW:
        raise SignatureExpired(
            f"Signature expired: {timestamp} is now earlier than "
            f"{(now - MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - {minutes} min.)"
        )
    if signed_at > now + MAX_SKEW:
        raise SignatureExpired(
            f"Signature not yet current: {timestamp} is still later than "
            f"{(now + MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + {minutes} min.)"
        )
