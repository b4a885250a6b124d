"""SigV4 verification against botocore's client-side signer, without a server (§8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from multidict import CIMultiDict, CIMultiDictProxy

from inbound.api import auth, faults
from inbound.errors import SesError

HOST = "127.0.0.1:4525"
CREDENTIALS = {"AKID": "secret"}
BODY = b"Action=GetSendQuota&Version=2010-12-01"


def sign(
    body: bytes = BODY,
    service: str = "ses",
    region: str = "eu-central-1",
    token: str | None = None,
    use_date_header: bool = False,
    extra: dict[str, str] | None = None,
) -> CIMultiDictProxy[str]:
    request = AWSRequest(method="POST", url=f"http://{HOST}/", data=body)
    request.headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    if use_date_header:
        request.headers["Date"] = "placeholder"
    SigV4Auth(Credentials("AKID", "secret", token), service, region).add_auth(request)
    headers = CIMultiDict(request.headers.items())
    headers["Host"] = HOST
    headers["User-Agent"] = "changed after signing: harmless"
    for name, value in (extra or {}).items():
        headers[name] = value
    return CIMultiDictProxy(headers)


def verify(headers: CIMultiDictProxy[str], body: bytes = BODY, **kwargs: object) -> auth.Caller:
    return auth.verify("POST", "/", headers, body, CREDENTIALS, **kwargs)  # type: ignore[arg-type]


def test_valid_signature_gives_key_and_scope_region() -> None:
    assert verify(sign()) == auth.Caller("AKID", "eu-central-1")


def test_session_token_and_email_signing_name_and_date_header() -> None:
    assert verify(sign(token="tok", service="email")).region == "eu-central-1"
    assert verify(sign(use_date_header=True)).access_key == "AKID"


def test_unverified_caller_reads_the_scope() -> None:
    assert auth.caller_of(sign(region="ca-central-1")).region == "ca-central-1"
    assert auth.caller_of(CIMultiDictProxy(CIMultiDict())) == auth.Caller()


@pytest.mark.parametrize(
    ("headers", "body", "error", "needle"),
    [
        (
            lambda: CIMultiDictProxy(CIMultiDict()),
            BODY,
            faults.MissingAuthenticationToken,
            "Authentication Token",
        ),
        (lambda: sign(), BODY + b"&x=1", faults.SignatureDoesNotMatch, "does not match"),
        (
            lambda: sign(extra={"Host": "localhost:4525"}),
            BODY,
            faults.SignatureDoesNotMatch,
            "does not match",
        ),
        (
            lambda: sign(extra={"Content-Type": "text/plain"}),
            BODY,
            faults.SignatureDoesNotMatch,
            "does not match",
        ),
        (
            lambda: sign(extra={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}),
            BODY,
            faults.SignatureDoesNotMatch,
            "x-amz-content-sha256",
        ),
        (lambda: sign(service="sqs"), BODY, faults.SignatureDoesNotMatch, "correct service"),
        (
            lambda: sign(extra={"Authorization": "AWS AKID:sig"}),
            BODY,
            faults.IncompleteSignature,
            "algorithm",
        ),
        (
            lambda: sign(
                extra={
                    "Authorization": "AWS4-HMAC-SHA256 "
                    "Credential=AKID/20260101/us-east-1/ses/aws4_request"
                }
            ),
            BODY,
            faults.IncompleteSignature,
            "SignedHeaders",
        ),
        (
            lambda: sign(extra={"X-Amz-Date": "20200101T000000Z"}),
            BODY,
            faults.SignatureDoesNotMatch,
            "Date in Credential scope does not match",
        ),
    ],
    ids=[
        "unsigned",
        "body",
        "host",
        "content-type",
        "payload-hash",
        "service",
        "sigv2-header",
        "incomplete",
        "date",
    ],
)
def test_rejections(headers, body: bytes, error: type[SesError], needle: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as caught:
        verify(headers(), body)
    assert needle in caught.value.message
    assert caught.value.status == (403 if error is not faults.IncompleteSignature else 400)


def test_unknown_key_is_invalid_client_token_id() -> None:
    with pytest.raises(faults.InvalidClientTokenId):
        auth.verify("POST", "/", sign(), BODY, {"OTHER": "secret"})


@pytest.mark.parametrize(
    ("offset", "needle"),
    [
        (timedelta(minutes=6), "Signature expired"),
        (timedelta(minutes=-6), "Signature not yet current"),
    ],
)
def test_clock_skew_window(offset: timedelta, needle: str) -> None:
    headers = sign()
    verify(headers, now=datetime.now(UTC) + timedelta(minutes=4))
    with pytest.raises(faults.SignatureDoesNotMatch) as caught:
        verify(headers, now=datetime.now(UTC) + offset)
    assert needle in caught.value.message


def test_host_must_be_signed() -> None:
    headers = CIMultiDict(sign())
    headers["Authorization"] = headers["Authorization"].replace(
        "SignedHeaders=content-type;host;x-amz-date", "SignedHeaders=content-type;x-amz-date"
    )
    with pytest.raises(faults.IncompleteSignature):
        verify(CIMultiDictProxy(headers))
