"""Fuzz the SES v1 Query API (`POST /`) of a running server over the whole botocore `ses` model.

Each case is one operation of the model with boto3-shaped parameters (tests/api/strategies.py)
serialized by botocore's own Query serializer, sent as it is or mutated (a member dropped, a
value replaced by hostile text, a member the model lacks, another or no `Action`, another
`Version`, a body of random bytes, the parameters in a GET query string). Whatever arrives, the
answer is a success or SES's XML `ErrorResponse`, never a 500, `InternalFailure` or a traceback
in the server's log; 501 `NotImplemented` is the model's operations without a handler.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from botocore.serialize import create_serializer
from hypothesis import given
from hypothesis import strategies as st

from inbound.api.query import service
from tests.api.strategies import HOSTILE, operation_input
from tests.fuzz import budget
from tests.fuzz.http import Http

TARGET = "query_api"
MODEL = service.service_model()
NAMES = sorted(MODEL.operation_names)
SERIALIZER = create_serializer("query", include_validation=False)
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
_TEXT = st.sampled_from(HOSTILE) | st.text(max_size=40)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(method, target, body) of one request, valid-shaped or mutated."""
    operation = MODEL.operation_model(draw(st.sampled_from(NAMES)))
    params = draw(operation_input(operation))
    wire: dict[str, Any] = dict(SERIALIZER.serialize_to_request(params, operation)["body"])
    mutation = draw(
        st.sampled_from(["none", "drop", "replace", "extra", "action", "version", "bytes", "get"])
    )
    keys = sorted(wire)
    if mutation == "drop" and len(keys) > 2:
        del wire[draw(st.sampled_from([k for k in keys if k != "Action"]))]
    elif mutation == "replace":
        wire[draw(st.sampled_from(keys))] = draw(_TEXT)
    elif mutation == "extra":
        wire[draw(_TEXT)] = draw(_TEXT)
    elif mutation == "action":
        action = draw(st.none() | _TEXT | st.sampled_from(NAMES))
        if action is None:
            del wire["Action"]
        else:
            wire["Action"] = action
    elif mutation == "version":
        wire["Version"] = draw(_TEXT)
    if mutation == "bytes":
        return "POST", "/", draw(st.binary(max_size=300))
    encoded = urlencode(wire)
    if mutation == "get":
        return "GET", "/?" + encoded, b""
    return "POST", "/", encoded.encode()


@budget.examples(ci=60, deep=20_000)
@given(request=requests())
def test_any_request_gets_a_success_or_an_error_response(api: Http, request) -> None:
    method, target, body = request
    budget.case(TARGET)
    with budget.tracebacks() as logged:
        answer = api.request(method, target, body, FORM)
        crashed = logged.take()
    if crashed or answer.status == 500 or b"InternalFailure" in answer.body:
        raise budget.server_error(TARGET, f"{answer.status} {answer.body[:500]!r} {crashed}")
    root = ElementTree.fromstring(answer.body)  # a well-formed XML document in any case
    namespace = "{http://ses.amazonaws.com/doc/2010-12-01/}"
    if answer.status == 200:
        assert root.tag.startswith(namespace) and root.tag.endswith("Response"), root.tag
    else:
        assert answer.status in (400, 403, 404, 413, 501), answer.status
        assert root.tag.endswith("ErrorResponse"), root.tag
        assert root.find(f"{namespace}Error/{namespace}Code") is not None, answer.body
