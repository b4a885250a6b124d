"""Raw HTTP against the Query endpoint: what boto3 cannot send or cannot show (§10, §8)."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.parsers import QueryParser

from inbound.api import MAX_BODY
from tests.api.conftest import KEY, SECRET, Ses

NS = "{http://ses.amazonaws.com/doc/2010-12-01/}"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
QUOTA = "Action=GetSendQuota&Version=2010-12-01"


def send(
    url: str, path: str = "/", body: bytes | None = None, method: str = "POST", **headers: str
) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def signed(
    url: str,
    method: str = "POST",
    body: bytes = b"",
    params: dict[str, str] | None = None,
    region: str = "us-west-2",
    secret: str = SECRET,
) -> tuple[str, dict[str, str]]:
    """(url, headers) signed by botocore's client-side SigV4Auth."""
    request = AWSRequest(method=method, url=url + "/", data=body, params=params or {})
    if body:
        request.headers["Content-Type"] = FORM["Content-Type"]
    SigV4Auth(Credentials(KEY, secret), "ses", region).add_auth(request)
    prepared = request.prepare()
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    return prepared.url, headers


def error_of(status: int, headers: Any, body: bytes) -> dict[str, Any]:
    """The error as boto3 sees it; also checks the XML and the RequestId header."""
    root = ElementTree.fromstring(body)
    assert root.tag == f"{NS}ErrorResponse"
    assert headers["Content-Type"].startswith("text/xml")
    parsed = QueryParser().parse({"status_code": status, "headers": {}, "body": body}, None)
    assert parsed["ResponseMetadata"]["RequestId"] == headers["x-amzn-RequestId"]
    return parsed["Error"]  # type: ignore[no-any-return]


def test_unsigned_get_with_query_string(ses_open: Ses) -> None:
    ses_open.handle("GetSendQuota", {"Max24HourSend": 1.0})
    status, headers, body = send(ses_open.url, "/?" + QUOTA, method="GET")
    assert status == 200
    root = ElementTree.fromstring(body)
    assert root.findtext(f"{NS}GetSendQuotaResult/{NS}Max24HourSend") == "1.0"
    request_id = headers["x-amzn-RequestId"]
    assert root.findtext(f"{NS}ResponseMetadata/{NS}RequestId") == request_id
    assert uuid.UUID(request_id).version == 4


def test_signed_get_with_query_string(ses: Ses) -> None:
    ses.handle("ListIdentities", {"Identities": ["a b@example.com"]})
    params = {"Action": "ListIdentities", "Version": "2010-12-01", "NextToken": "a b/c+d=e~"}
    url, headers = signed(ses.url, "GET", params=params)
    status, _, body = send(url, "", method="GET", **headers)
    assert status == 200, body
    assert ses.calls[0][2] == {"NextToken": "a b/c+d=e~"}
    assert ses.calls[0][1].region == "us-west-2"


def test_query_string_and_form_body_merge(ses_open: Ses) -> None:
    ses_open.handle("ReorderReceiptRuleSet")
    status, _, body = send(
        ses_open.url,
        "/?Action=ReorderReceiptRuleSet&Version=2010-12-01",
        b"RuleSetName=s&RuleNames=",
        **FORM,
    )
    assert status == 200, body
    assert ses_open.calls[0][2] == {"RuleSetName": "s", "RuleNames": []}


def test_unsigned_request_under_verify_is_403(ses: Ses) -> None:
    status, headers, body = send(ses.url, body=QUOTA.encode(), **FORM)
    assert status == 403
    assert error_of(status, headers, body)["Code"] == "MissingAuthenticationToken"


def test_tampered_body_does_not_match(ses: Ses) -> None:
    ses.handle("GetSendQuota", {})
    url, headers = signed(ses.url, body=QUOTA.encode())
    status, response_headers, body = send(url, "", QUOTA.encode() + b"&x=1", **headers)
    assert status == 403
    assert error_of(status, response_headers, body)["Code"] == "SignatureDoesNotMatch"


def test_region_defaults_to_settings_when_unsigned(ses_open: Ses) -> None:
    ses_open.handle("GetSendQuota", {})
    send(ses_open.url, body=QUOTA.encode(), **FORM)
    assert ses_open.calls[0][1].region == ses_open.running.settings.region


AWS3 = {
    "X-Amzn-Authorization": f"AWS3-HTTPS AWSAccessKeyId={KEY}, Algorithm=HmacSHA256, Signature=x=",
    "Date": "Wed, 25 Nov 2026 13:00:00 GMT",
}


def test_legacy_aws3_https_is_refused_under_verify(ses: Ses) -> None:
    status, headers, body = send(ses.url, body=QUOTA.encode(), **FORM, **AWS3)
    assert status == 403
    assert error_of(status, headers, body)["Code"] == "InvalidClientTokenId"


def test_auth_off_ignores_legacy_headers(ses_open: Ses) -> None:
    ses_open.handle("GetSendQuota", {})
    assert send(ses_open.url, body=QUOTA.encode(), **FORM, **AWS3)[0] == 200


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b"Version=2010-12-01", "MissingAction", "Missing Action"),
        (b"Action=NoSuchThing&Version=2010-12-01", "InvalidAction", "NoSuchThing"),
        (b"Action=GetSendQuota&Version=2009-01-01", "InvalidAction", "2009-01-01"),
        (
            b"Action=CreateReceiptRule&Rule.Actions.member.1.S3Action.ObjectKeyPrefix=p",
            "ValidationError",
            "3 validation errors detected: Value null at 'ruleSetName' failed to satisfy "
            "constraint: Member must not be null; Value null at 'rule.name' failed to satisfy "
            "constraint: Member must not be null; Value null at "
            "'rule.actions.1.member.s3Action.bucketName' failed to satisfy constraint: "
            "Member must not be null",
        ),
        (
            b"Action=SetIdentityDkimEnabled&Identity=i&DkimEnabled=yes",
            "InvalidParameterValue",
            "DkimEnabled",
        ),
    ],
    ids=["missing-action", "unknown-action", "unknown-version", "validation", "bad-boolean"],
)
def test_request_errors_are_400_xml(ses_open: Ses, body: bytes, code: str, needle: str) -> None:
    for name in ("CreateReceiptRule", "SetIdentityDkimEnabled"):
        ses_open.handle(name)
    status, headers, response = send(ses_open.url, body=body, **FORM)
    error = error_of(status, headers, response)
    assert (status, error["Code"], error["Type"]) == (400, code, "Sender")
    assert needle in error["Message"]
    assert ses_open.calls == []


def test_missing_version_is_accepted(ses_open: Ses) -> None:
    ses_open.handle("GetSendQuota", {})
    assert send(ses_open.url, body=b"Action=GetSendQuota", **FORM)[0] == 200


@pytest.mark.parametrize("path", ["/nope", "/2010-12-01/", "/nope?Action=GetSendQuota"])
def test_unknown_path_is_xml_404(ses_open: Ses, path: str) -> None:
    status, headers, body = send(ses_open.url, path, QUOTA.encode(), **FORM)
    assert status == 404
    assert error_of(status, headers, body)["Code"] == "NotFound"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_xml_405(ses_open: Ses, method: str) -> None:
    status, headers, body = send(ses_open.url, body=QUOTA.encode(), method=method, **FORM)
    assert status == 405
    assert error_of(status, headers, body)["Code"] == "MethodNotAllowed"


def test_body_over_64_mib_is_xml_413(ses_open: Ses) -> None:
    ses_open.handle("SendRawEmail", {"MessageId": "m"})
    body = b"Action=SendRawEmail&RawMessage.Data=" + b"A" * (MAX_BODY - 36 + 4)
    assert len(body) > MAX_BODY
    status, headers, response = send(ses_open.url, body=body, **FORM)
    assert status == 413
    assert error_of(status, headers, response)["Code"] == "RequestEntityTooLarge"
    assert ses_open.calls == []


def test_body_just_under_64_mib_is_accepted(ses_open: Ses) -> None:
    ses_open.handle("SendRawEmail", {"MessageId": "m"})
    head = b"Action=SendRawEmail&RawMessage.Data="
    body = head + b"QUJD" * ((MAX_BODY - len(head)) // 4)
    status, _, response = send(ses_open.url, body=body, **FORM)
    assert status == 200, response[:500]
    data = ses_open.calls[0][2]["RawMessage"]["Data"]
    assert len(data) == (len(body) - len(head)) // 4 * 3 and data[:6] == b"ABCABC"


def test_json_and_sns_routes_are_untouched(ses_open: Ses) -> None:
    status, headers, body = send(ses_open.url, "/api/stats", method="GET")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    status, headers, body = send(ses_open.url, "/sns/SimpleNotificationService.pem", method="GET")
    assert status == 200 and body.startswith(b"-----BEGIN CERTIFICATE")
    status, headers, body = send(ses_open.url, "/api/nope", method="GET")
    assert status == 404 and not body.startswith(b"<?xml")


def test_all_unimplemented_operations_name_themselves(ses_open: Ses) -> None:
    from inbound.api.query import service

    operations = ses_open.running.server.operations  # type: ignore[attr-defined]
    missing = sorted(service.operation_names() - set(operations))
    for name in missing:
        status, headers, body = send(
            ses_open.url, body=urlencode({"Action": name}).encode(), **FORM
        )
        error = error_of(status, headers, body)
        assert (status, error["Code"], error["Type"]) == (501, "NotImplemented", "Receiver")
        assert name in error["Message"]
