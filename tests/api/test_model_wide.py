"""Every operation and error of botocore's SES model through our codec and botocore's own.

Inputs: boto3-shaped values → botocore's `QuerySerializer` → urlencode → `query.decode` must
give back the same kwargs. Outputs: values → `xml.result_document` → botocore's `QueryParser`
must give back the same dict. Errors: each of the model's error codes → `xml.error_document`
→ a real boto3 client raises `client.exceptions.<Shape>` with message, RequestId and members.
No server: this is the cheap, model-wide regression net of query-api.md §7.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.parsers import QueryParser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbound.api.query import codec as query
from inbound.api.query import service, xml
from inbound.api.query.operations import OPERATIONS
from inbound.errors import SesClientError, SesError
from tests.api.strategies import operation_input, operation_output

MODEL = service.service_model()
NAMES = sorted(MODEL.operation_names)
EXAMPLES = settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def test_model_is_the_one_the_spec_describes() -> None:
    assert MODEL.metadata["apiVersion"] == "2010-12-01"
    assert len(NAMES) >= 71 and len(MODEL.error_shapes) >= 34


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(data=st.data())
def test_input_round_trip(name: str, data: st.DataObject) -> None:
    operation = MODEL.operation_model(name)
    params = data.draw(operation_input(operation))
    wire = create_serializer("query", include_validation=False).serialize_to_request(
        params, operation
    )["body"]
    encoded = urlencode(wire)
    if data.draw(st.booleans(), label="as GET query string"):
        form = query.form_params(encoded, b"", body_is_form=True)
    else:
        form = query.form_params("", encoded.encode(), body_is_form=True)
    assert query.operation_for(form) is operation
    assert query.decode(operation, form) == params


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(data=st.data())
def test_output_round_trip(name: str, data: st.DataObject) -> None:
    operation = MODEL.operation_model(name)
    result = data.draw(operation_output(operation))
    body = xml.result_document(operation, result, "req-1")
    parsed = QueryParser().parse(
        {"status_code": 200, "headers": {}, "body": body}, operation.output_shape
    )
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == _with_top_level_collections(operation, result)


def _with_top_level_collections(operation: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Top-level lists and maps are always emitted, so an absent one reads back empty."""
    expected = dict(result)
    if operation.output_shape is not None:
        for member in service.members(operation.output_shape):
            if member.shape.type_name == "list":
                expected.setdefault(member.name, [])
            elif member.shape.type_name == "map":
                expected.setdefault(member.name, {})
    return expected


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def _client_answering(status_and_body: list[tuple[int, bytes]]) -> Any:
    client = boto3.client(
        "ses",
        region_name="us-east-1",
        endpoint_url="http://ses.invalid",
        aws_access_key_id="AKID",
        aws_secret_access_key="secret",
    )

    def answer(request: Any, **_: Any) -> AWSResponse:
        status, body = status_and_body[0]
        return AWSResponse(request.url, status, {"x-amzn-RequestId": "req-2"}, _Raw(body))

    client.meta.events.register("before-send.ses", answer)
    return client


ERROR_SHAPES = sorted(MODEL.error_shapes, key=lambda shape: shape.name)


@pytest.mark.parametrize("spelling", ["wire code", "shape name"])
@pytest.mark.parametrize("shape", ERROR_SHAPES, ids=[s.name for s in ERROR_SHAPES])
def test_every_modeled_error_reaches_boto3(shape: Any, spelling: str) -> None:
    code = shape.error_code if spelling == "wire code" else shape.name
    error_class = type(shape.name, (SesClientError,), {"code": code})
    fields = {m.name: f"{m.name} <&> ü\r\n" for m in service.members(shape)}
    error = error_class(f"{shape.name} happened: a&b<c>", **fields)
    answer = [xml.error_document(error, "req-3")]
    assert answer[0][0] == 400
    client = _client_answering(answer)
    with pytest.raises(getattr(client.exceptions, shape.name)) as caught:
        client.get_send_quota()
    response = caught.value.response
    assert response["Error"]["Code"] == shape.error_code
    assert response["Error"]["Type"] == "Sender"
    assert response["Error"]["Message"] == f"{shape.name} happened: a&b<c>"
    assert response["ResponseMetadata"]["RequestId"] == "req-3"
    for name, value in fields.items():
        assert response["Error"][name] == value
        assert response[name] == value


def test_model_has_34_error_codes_and_all_are_tested() -> None:
    assert len(ERROR_SHAPES) == 34


def test_unmodeled_5xx_error_is_receiver_and_not_modeled() -> None:
    status, body = xml.error_document(SesError("boom"), "req-4")
    assert status == 500
    assert b"<Type>Receiver</Type><Code>InternalFailure</Code>" in body


def test_list_unimplemented_operations(capsys: pytest.CaptureFixture[str]) -> None:
    """Visible in the test output (-s or -rA): which model operations have no handler yet."""
    missing = sorted(set(NAMES) - set(OPERATIONS))
    with capsys.disabled():
        print(f"\n{len(missing)} of {len(NAMES)} SES operations not implemented: {missing}")
    assert set(OPERATIONS) <= set(NAMES), "handlers for operations the model does not have"
