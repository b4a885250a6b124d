"""The `/v2/` endpoint over HTTP: SigV4 `verify` mode, and every answer REST-JSON, errors
included (unknown paths, refused requests), never XML or HTML."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from inbound.testing import RunningInbound

KEY, SECRET = "AKIDV2TEST", "v2-secret"


def _raw(running: RunningInbound, method: str, path: str, **headers: str) -> tuple[int, Any, Any]:
    request = urllib.request.Request(
        running.api_url + path, method=method, headers=headers, data=b"{}"
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.headers, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def _client(running: RunningInbound, secret: str = SECRET, region: str = "eu-west-1") -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=running.api_url,
        region_name=region,
        aws_access_key_id=KEY,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture
def verifying(inbound_factory: Any) -> RunningInbound:
    return inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})


def test_signed_v2_requests_are_verified(verifying: RunningInbound) -> None:
    client = _client(verifying)
    client.create_configuration_set(ConfigurationSetName="signed")
    # the region of the credential scope is the request's
    assert _client(verifying, region="eu-west-1").list_configuration_sets()[
        "ConfigurationSets"
    ] == ["signed"]
    assert (
        _client(verifying, region="us-west-2").list_configuration_sets()["ConfigurationSets"] == []
    )
    with pytest.raises(ClientError) as raised:
        _client(verifying, secret="wrong").get_account()
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_unsigned_v2_request_is_refused_as_json(verifying: RunningInbound) -> None:
    status, headers, body = _raw(verifying, "GET", "/v2/email/account")
    assert status == 403
    assert headers["X-Amzn-ErrorType"] == "MissingAuthenticationToken"
    assert headers["Content-Type"].startswith("application/json")
    assert body == {"message": "Request is missing Authentication Token"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/email/no-such-thing"),
        ("DELETE", "/v2/email/account"),
        ("DELETE", "/v2/email/identities/"),  # DeleteEmailIdentity without its label
        ("GET", "/v2/"),
    ],
)
def test_no_operation_at_a_path_is_unknown_operation(
    inbound_server: RunningInbound, method: str, path: str
) -> None:
    status, headers, body = _raw(inbound_server, method, path)
    assert status == 404
    assert headers["X-Amzn-ErrorType"] == "UnknownOperationException"
    assert headers["x-amzn-RequestId"]
    assert body == {"message": f"No SES v2 operation (API version 2019-09-27) is {method} {path}."}


def test_a_label_with_a_line_break_is_still_a_v2_request(inbound_server: RunningInbound) -> None:
    """Found by fuzzing (tests/fuzz/test_v2_api.py): a label decoding to CR LF fell outside the
    `/v2/` route and got aiohttp's plain-text `404: Not Found`."""
    status, headers, body = _raw(inbound_server, "GET", "/v2/email/identities/a%0D%0Ab.example")
    assert status == 404
    assert headers["X-Amzn-ErrorType"] == "NotFoundException"
    assert isinstance(body["message"], str)


def test_refused_by_the_guard_is_a_v2_error(inbound_server: RunningInbound) -> None:
    status, headers, body = _raw(
        inbound_server, "POST", "/v2/email/outbound-emails", Origin="http://evil.example"
    )
    assert status == 403
    assert headers["X-Amzn-ErrorType"] == "AccessDenied"
    assert body["message"].startswith("Cross-origin request refused")


def test_the_v1_query_api_is_unchanged_beside_v2(inbound_server: RunningInbound) -> None:
    """An unknown path outside /v2/ is still the Query API's XML 404."""
    request = urllib.request.Request(inbound_server.api_url + "/nothing", method="GET")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 404
    assert raised.value.read().startswith(b"<?xml")
