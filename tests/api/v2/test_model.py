"""Generated from the `sesv2` model, through a running server and boto3 `sesv2`:

* every operation of the model has a handler (the list of those without is printed in every
  run's summary), and one without answers 501 `NotImplemented` naming it;
* every operation, called with the model's smallest valid input, answers with its result or
  one of the errors its model lists for it (never a 5xx, never another protocol's error);
* every implemented operation, called without one of its required body or query members,
  answers `BadRequestException` naming it (botocore's own validation switched off, as a raw
  client would send it). A URI label cannot be left out: the path would name no operation
  (botocore cannot even build it); `test_http.py` covers such paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from inbound.api.v2 import service
from inbound.api.v2.operations import V2_OPERATIONS
from inbound.testing import RunningInbound, make_settings
from tests.api.v2.conftest import client

MODEL = service.service_model()
MISSING = sorted(service.operation_names() - set(V2_OPERATIONS))
IMPLEMENTED = sorted(V2_OPERATIONS)


def _minimal(shape: Any) -> Any:
    """The smallest model-valid value: required members only."""
    kind = shape.type_name
    if kind == "structure":
        return {name: _minimal(shape.members[name]) for name in shape.required_members}
    if kind == "list":
        return [_minimal(shape.member)] if shape.metadata.get("min", 0) else []
    if kind == "map":
        return {}
    if kind == "string":
        return shape.enum[0] if shape.enum else "x" * max(1, shape.metadata.get("min", 1))
    if kind in ("integer", "long"):
        return int(shape.metadata.get("min", 1))
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return datetime(2026, 1, 1, tzinfo=UTC)
    return b"x"  # blob


def _call(running: RunningInbound, name: str, params: dict[str, Any]) -> dict[str, Any]:
    v2 = client(running, validate=False)
    method = getattr(v2, _snake(name))
    try:
        method(**params)
    except ClientError as error:
        return dict(error.response)
    raise AssertionError(f"{name} succeeded")


def _snake(name: str) -> str:
    from botocore import xform_name

    return str(xform_name(name))


def _params(name: str) -> dict[str, Any]:
    shape = MODEL.operation_model(name).input_shape
    return {} if shape is None else dict(_minimal(shape))


def test_no_operation_is_left_unimplemented() -> None:
    assert MISSING == []


def test_an_operation_without_handler_answers_not_implemented(
    inbound_server: RunningInbound,
) -> None:
    """What any operation of a newer model answers until it has a handler (one is taken out
    of the server's registry here), never retried by botocore."""
    inbound_server.server.v2_operations.pop("ListEmailTemplates")
    response = _call(inbound_server, "ListEmailTemplates", _params("ListEmailTemplates"))
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert response["ResponseMetadata"]["RetryAttempts"] == 0
    assert response["Error"] == {
        "Code": "NotImplemented",
        "Message": "inbound does not implement the SES v2 operation ListEmailTemplates "
        f"(API version {service.api_version()}).",
    }


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningInbound]:
    running = RunningInbound(make_settings(tmp_path_factory.mktemp("every-v2") / "data"))
    yield running
    running.stop()


@pytest.mark.parametrize("name", IMPLEMENTED)
def test_every_operation_answers_a_minimal_request(shared: RunningInbound, name: str) -> None:
    try:
        getattr(client(shared, validate=False), _snake(name))(**_params(name))
    except ClientError as error:
        response = error.response
        listed = {shape.name for shape in MODEL.operation_model(name).error_shapes}
        assert response["ResponseMetadata"]["HTTPStatusCode"] < 500, response["Error"]
        assert response["Error"]["Code"] in listed, response["Error"]


REQUIRED = [
    (name, member)
    for name in IMPLEMENTED
    if MODEL.operation_model(name).input_shape is not None
    for member in MODEL.operation_model(name).input_shape.required_members
    if MODEL.operation_model(name).input_shape.members[member].serialization.get("location")
    != "uri"
]


@pytest.mark.parametrize(("name", "member"), REQUIRED)
def test_a_missing_required_member_is_a_v2_error(
    inbound_server: RunningInbound, name: str, member: str
) -> None:
    params = _params(name)
    del params[member]
    response = _call(inbound_server, name, params)
    lowered = member[:1].lower() + member[1:]
    assert response["Error"]["Code"] == "BadRequestException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert (
        f"Value null at '{lowered}' failed to satisfy constraint: Member must not be null"
        in response["Error"]["Message"]
    )
