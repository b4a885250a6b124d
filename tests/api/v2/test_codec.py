"""The REST-JSON codec against botocore's own `sesv2` serializer and parser, model-wide.

Inputs: boto3-shaped values of every operation's input shape → botocore's `RestJSONSerializer`
(what a client sends) → `codec.route` finds the same operation from method and path, and
`codec.decode` gives back the same kwargs. Outputs: values → `codec.encode` → botocore's
`RestJSONParser` gives back the same dict. No server: the cheap, model-wide net.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from botocore.parsers import RestJSONParser
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from inbound.api.v2 import codec, service
from tests.api.strategies import operation_input, operation_output

MODEL = service.service_model()
NAMES = sorted(MODEL.operation_names)
EXAMPLES = settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)


def test_the_model_is_sesv2_rest_json() -> None:
    assert MODEL.metadata["protocol"] == "rest-json"
    assert MODEL.metadata["signingName"] == "ses"
    assert len(NAMES) >= 100


def test_every_operation_has_its_own_route() -> None:
    """No two routes share a method and path pattern, so routing is unambiguous; every
    operation has its model's route."""
    seen = {(r.method, r.segments) for r in service.routes()}
    assert len(seen) == len(service.routes())
    assert {r.operation for r in service.routes() if not r.from_query} == set(NAMES)


@pytest.mark.parametrize(("name", "method", "path", "members"), service.EARLIER_ROUTES)
def test_earlier_models_routes_still_answer(
    name: str, method: str, path: str, members: tuple[str, ...]
) -> None:
    """What clients on the earlier model send (a GET with the query string) decodes as the
    current model's operation."""
    routed = codec.route(method, path)
    assert routed.operation.name == name
    decoded = codec.decode(routed, [("PageSize", "5"), ("NextToken", "abc")], {}, b"")
    assert decoded == {"PageSize": 5, "NextToken": "abc"}


def _without_empty_query_lists(operation: Any, params: dict[str, Any]) -> dict[str, Any]:
    """An empty list in the query string travels as nothing at all (botocore sends no key)."""
    shape = operation.input_shape
    return {
        name: value
        for name, value in params.items()
        if not (
            shape.members[name].serialization.get("location") == "querystring"
            and isinstance(value, list | dict)
            and not value
        )
    }


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(data=st.data())
def test_input_round_trip(name: str, data: st.DataObject) -> None:
    operation = MODEL.operation_model(name)
    params = data.draw(operation_input(operation))
    shape = operation.input_shape
    if shape is not None:
        # An empty URI label makes a path no operation has (`/a//b`), and an empty required
        # list in the query string is no list at all: neither can travel.
        for member, member_shape in shape.members.items():
            location = member_shape.serialization.get("location")
            if location == "uri" or (
                location == "querystring" and member in shape.required_members
            ):
                assume(params.get(member) not in ("", []))
    request = create_serializer("rest-json", include_validation=False).serialize_to_request(
        params, operation
    )
    path = request["url_path"]
    query = parse_qsl(urlencode(request["query_string"], doseq=True), keep_blank_values=True)
    routed = codec.route(request["method"], path)
    assert routed.operation.name == name
    body = request["body"] if isinstance(request["body"], bytes) else request["body"].encode()
    decoded = codec.decode(routed, query, request["headers"], body)
    assert decoded == _without_empty_query_lists(operation, params)


@pytest.mark.parametrize("name", NAMES)
@EXAMPLES
@given(data=st.data())
def test_output_round_trip(name: str, data: st.DataObject) -> None:
    operation = MODEL.operation_model(name)
    result = data.draw(operation_output(operation))
    status, headers, body = codec.encode(operation, result)
    parsed = RestJSONParser().parse(
        {"status_code": status, "headers": headers, "body": body}, operation.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    assert parsed == result


def test_missing_required_members_are_all_reported() -> None:
    routed = codec.Routed(MODEL.operation_model("SendEmail"), {})
    with pytest.raises(codec.BadRequest) as raised:
        codec.decode(routed, [], {}, b'{"Content": {"Simple": {"Body": {}}}}')
    assert raised.value.message == (
        "1 validation error detected: Value null at 'content.simple.subject' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_wrong_types_are_bad_requests() -> None:
    routed = codec.Routed(MODEL.operation_model("ListEmailIdentities"), {})
    with pytest.raises(codec.BadRequest) as raised:
        codec.decode(routed, [], {}, b'{"PageSize": "ten", "NextToken": 5}')
    assert raised.value.message == (
        "2 validation errors detected: Value '5' at 'nextToken' failed to satisfy constraint: "
        "Member must be a string; Value '\"ten\"' at 'pageSize' failed to satisfy constraint: "
        "Member must be an integer"
    )


def test_enum_members_take_only_their_values() -> None:
    """Body and query string alike; a refused required member is not also reported null."""
    routed = codec.Routed(MODEL.operation_model("PutSuppressedDestination"), {})
    with pytest.raises(codec.BadRequest) as raised:
        codec.decode(routed, [], {}, b'{"EmailAddress": "a@example.com", "Reason": "SPAM"}')
    assert raised.value.message == (
        "1 validation error detected: Value 'SPAM' at 'reason' failed to satisfy constraint: "
        "Member must satisfy enum value set: [BOUNCE, COMPLAINT]"
    )
    listing = codec.Routed(MODEL.operation_model("ListSuppressedDestinations"), {})
    with pytest.raises(codec.BadRequest, match=r"Value 'X' at 'reasons.member'"):
        codec.decode(listing, [("Reason", "BOUNCE"), ("Reason", "X")], {}, b"")
    assert codec.decode(listing, [("Reason", "BOUNCE")], {}, b"") == {"Reasons": ["BOUNCE"]}


@pytest.mark.parametrize("body", [b"{", b"[1]", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_a_bad_request(body: bytes) -> None:
    with pytest.raises(codec.BadRequest):
        codec.decode(codec.Routed(MODEL.operation_model("CreateEmailIdentity"), {}), [], {}, body)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/email/nothing"),
        ("PATCH", "/v2/email/account"),
        ("GET", "/v2/email/templates/a/b/c"),
    ],
)
def test_unknown_method_and_path_is_unknown_operation(method: str, path: str) -> None:
    with pytest.raises(codec.UnknownOperation):
        codec.route(method, path)


def test_labels_are_percent_decoded_and_may_hold_slashes() -> None:
    routed = codec.route("GET", "/v2/email/identities/a%2Fb%40example.com")
    assert routed.operation.name == "GetEmailIdentity"
    assert routed.labels == {"EmailIdentity": "a/b@example.com"}


def test_a_greedy_label_takes_the_rest_of_the_path() -> None:
    route = service.Route("GET", ("v2", "files", "{Key+}"), "X")
    assert route.match(("v2", "files", "a", "b%20c")) == {"Key": "a/b c"}
    assert route.match(("v2", "files")) is None
