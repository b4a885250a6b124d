"""Every operation of the SES model, generated from the model so none can be forgotten: an
implemented one answers a minimal valid request through boto3 with a result or an SES error
(never a 5xx), an unimplemented one with 501 NotImplemented naming it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.model import Shape

from inbound.api.query.operations import OPERATIONS

MODEL = botocore.session.get_session().get_service_model("ses")


def minimal(shape: Shape, name: str = "") -> Any:
    """The smallest plausible value: required members only, one list item, first enum."""
    kind = shape.type_name
    if kind == "structure":
        return {m: minimal(shape.members[m], m) for m in shape.required_members}
    if kind == "list":
        return [minimal(shape.member, name)]
    if kind == "map":
        return {"key": minimal(shape.value, name)}
    if getattr(shape, "enum", None):
        return shape.enum[0]
    return {
        "string": "user@example.com" if "mail" in name.lower() else "example-name",
        "blob": b"Subject: x\r\n\r\nx\r\n",
        "timestamp": datetime.now(UTC),
        "boolean": True,
        "integer": 1,
        "long": 1,
        "double": 1.0,
    }[kind]


def snake(name: str) -> str:
    return botocore.xform_name(name)


@pytest.fixture(scope="module")
def ses(tmp_path_factory):
    from inbound.testing import RunningInbound, make_settings

    running = RunningInbound(make_settings(tmp_path_factory.mktemp("every") / "data"))
    yield running.ses()
    running.stop()


@pytest.mark.parametrize("operation", MODEL.operation_names)
def test_operation_answers(ses, operation: str) -> None:
    model = MODEL.operation_model(operation)
    params = minimal(model.input_shape) if model.input_shape is not None else {}
    call = getattr(ses, snake(operation))
    try:
        call(**params)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        if operation in OPERATIONS:
            assert status < 500, error.response["Error"]
        else:
            assert (status, error.response["Error"]["Code"]) == (501, "NotImplemented")
            assert operation in error.response["Error"]["Message"]
    else:
        assert operation in OPERATIONS, f"{operation} answered without a handler"


def test_no_operation_is_left_unimplemented() -> None:
    assert sorted(set(MODEL.operation_names) - set(OPERATIONS)) == []
