"""Fuzz the SES v2 REST-JSON API (`/v2/...`) of a running server over the botocore `sesv2` model.

Each case is one operation of the model with boto3-shaped parameters serialized by botocore's
own REST-JSON serializer, sent as it is or mutated: another method, a path label replaced by
hostile text, a segment added, a JSON member dropped, retyped or added, a body of random bytes
or of random JSON, a query parameter added. The answer is a success or a REST-JSON error
(`X-Amzn-ErrorType`, `{"message": ...}`), never a 500 or a traceback in the server's log; 501
`NotImplemented` is the model's operations without a handler.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from botocore.serialize import create_serializer
from hypothesis import given
from hypothesis import strategies as st

from inbound.api.v2 import service
from tests.api.strategies import HOSTILE, operation_input
from tests.fuzz import budget
from tests.fuzz.http import Http

TARGET = "v2_api"
MODEL = service.service_model()
NAMES = sorted(MODEL.operation_names)
SERIALIZER = create_serializer("rest-json", include_validation=False)
_TEXT = st.sampled_from(HOSTILE) | st.text(max_size=40)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=8,
)
MUTATIONS = ["none", "method", "label", "segment", "drop", "retype", "extra", "bytes", "json"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes, dict[str, str]]:
    """(method, target, body, headers) of one request, valid-shaped or mutated."""
    operation = MODEL.operation_model(draw(st.sampled_from(NAMES)))
    wire = SERIALIZER.serialize_to_request(draw(operation_input(operation)), operation)
    method, path, body = wire["method"], wire["url_path"], wire["body"]
    query: dict[str, Any] = dict(wire["query_string"])
    headers = {k: v for k, v in wire["headers"].items() if isinstance(v, str)}
    document = json.loads(body) if body else {}
    mutation = draw(st.sampled_from(MUTATIONS))
    if mutation == "method":
        method = draw(st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"]))
    elif mutation == "label":
        segments = path.split("/")
        segments[draw(st.integers(2, len(segments) - 1))] = quote(draw(_TEXT), safe="")
        path = "/".join(segments)
    elif mutation == "segment":
        path = path.rstrip("/") + "/" + quote(draw(_TEXT), safe="")
    elif mutation in ("drop", "retype") and isinstance(document, dict) and document:
        key = draw(st.sampled_from(sorted(document)))
        if mutation == "drop":
            del document[key]
        else:
            document[key] = draw(_JSON)
    elif mutation == "extra":
        document = {**document, draw(_TEXT): draw(_JSON)} if isinstance(document, dict) else {}
        query[draw(_TEXT)] = draw(_TEXT)
    if mutation == "bytes":
        payload = draw(st.binary(max_size=300))
    elif mutation == "json":
        payload = json.dumps(draw(_JSON)).encode()
    else:
        payload = json.dumps(document).encode() if document or body else b""
    target = path + ("?" + urlencode(query, doseq=True) if query else "")
    return method, target, payload, {**headers, "Content-Type": "application/json"}


@budget.examples(ci=60, deep=20_000)
@given(request=requests())
def test_any_request_gets_a_success_or_a_rest_json_error(api: Http, request) -> None:
    method, target, body, headers = request
    budget.case(TARGET)
    with budget.tracebacks() as logged:
        answer = api.request(method, target, body, headers)
        crashed = logged.take()
    error_type = answer.headers.get("x-amzn-errortype", "")
    if crashed or answer.status == 500 or error_type.startswith("InternalFailure"):
        raise budget.server_error(TARGET, f"{answer.status} {answer.body[:500]!r} {crashed}")
    if method == "HEAD":
        return  # no body to read
    document = json.loads(answer.body) if answer.body else {}
    if answer.status < 300:
        assert not error_type, error_type
        return
    assert 400 <= answer.status < 500 or (answer.status, error_type) == (501, "NotImplemented")
    assert error_type and isinstance(document.get("message"), str), (answer.status, document)
