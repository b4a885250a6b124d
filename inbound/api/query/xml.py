"""Query-protocol response writing: handler result / error → XML, driven by the output shape.

One linear pass over the result, appending strings (no DOM). Rules from query-api.md §4, §5, §10:

* `<OpResponse xmlns=…><OpResult>…</OpResult><ResponseMetadata><RequestId>` with the Result
  wrapper always present, even empty; the 8 operations without an output shape get no Result.
* Lowercase `true`/`false`; `member` lists and `entry/key/value` maps (or the model's names);
  top-level list and map members always emitted (`<Filters/>`), since boto3 callers index them.
* Timestamps `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC; CR escaped as `&#13;` so CRLF survives XML
  end-of-line normalisation; characters illegal in XML 1.0 (never accepted on input) are
  replaced by U+FFFD rather than producing a document no client can parse.
* Errors: the model's wire code (`RuleSetDoesNotExist`, not the class name), the error shape's
  HTTP status, `Type` Sender (Receiver for 5xx), and modeled members inside `<Error>`.
"""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inbound.api.query import service
from inbound.api.query.codec import ILLEGAL_XML
from inbound.timestamps import xml_timestamp

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

    from inbound.errors import SesError

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


def escape(text: str) -> str:
    return ILLEGAL_XML.sub("\ufffd", text).translate(_ESCAPES)


def result_document(
    operation: OperationModel, result: dict[str, Any] | None, request_id: str
) -> bytes:
    name = operation.name
    xmlns = operation.service_model.metadata["xmlNamespace"]
    parts = [_PROLOG, f'<{name}Response xmlns="{xmlns}">']
    shape = operation.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        if wrapper:
            parts.append(f"<{wrapper}>")
        _top_level(parts, shape, result or {})
        if wrapper:
            parts.append(f"</{wrapper}>")
    parts.append(
        f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
    )
    parts.append(f"</{name}Response>")
    return "".join(parts).encode()


def error_document(error: SesError, request_id: str, model: str = service.SES) -> tuple[int, bytes]:
    """(status, body) for any `SesError`; modeled codes take status and members from the model
    (`model`: the botocore service model whose errors these are, `ses` or `sns`)."""
    shape = service.error_shape(error.code, model)
    code, status = error.code, error.status
    if shape is not None:
        code = shape.error_code
        status = int(shape.metadata.get("error", {}).get("httpStatusCode", status))
    kind = "Receiver" if status >= 500 else "Sender"
    parts = [
        _PROLOG,
        f'<ErrorResponse xmlns="{service.namespace(model)}"><Error>',
        f"<Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(error.message)}</Message>",
    ]
    if shape is not None:
        for member in service.members(shape):
            value = error.fields.get(member.name)
            if value is not None and member.name.lower() != "message":
                _element(parts, member.wire, member.shape, value)
    parts.append(f"</Error><RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
    return status, "".join(parts).encode()


def _top_level(parts: list[str], shape: Shape, result: dict[str, Any]) -> None:
    for member in service.members(shape):
        value = result.get(member.name)
        if value is None and member.shape.type_name in ("list", "map"):
            parts.append(f"<{member.wire}/>")  # query-api.md §4: always emit top-level lists/maps
        elif value is not None:
            _element(parts, member.wire, member.shape, value)


def _element(parts: list[str], tag: str, shape: Any, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        parts.append(f"<{tag}>")
        for member in service.members(shape):
            child = value.get(member.name)
            if child is not None:
                _element(parts, member.wire, member.shape, child)
        parts.append(f"</{tag}>")
    elif kind == "list":
        item = shape.member
        if shape.serialization.get("flattened"):
            for element in value:
                _element(parts, item.serialization.get("name", tag), item, element)
            return
        if not value:
            parts.append(f"<{tag}/>")
            return
        parts.append(f"<{tag}>")
        name = item.serialization.get("name", "member")
        for element in value:
            _element(parts, name, item, element)
        parts.append(f"</{tag}>")
    elif kind == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not value and not flattened:
            parts.append(f"<{tag}/>")
            return
        if not flattened:
            parts.append(f"<{tag}>")
        entry = tag if flattened else "entry"
        for k, v in value.items():
            parts.append(f"<{entry}>")
            _element(parts, key_name, shape.key, k)
            _element(parts, value_name, shape.value, v)
            parts.append(f"</{entry}>")
        if not flattened:
            parts.append(f"</{tag}>")
    else:
        parts.append(f"<{tag}>{_scalar(kind, value)}</{tag}>")


def _scalar(kind: str, value: Any) -> str:
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("integer", "long"):
        return str(int(value))
    if kind in ("double", "float"):
        number = float(value)
        if math.isinf(number):
            return "Infinity" if number > 0 else "-Infinity"
        return "NaN" if math.isnan(number) else repr(number)
    if kind == "timestamp":
        return timestamp(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    return escape(str(value))


def timestamp(value: datetime | str | float) -> str:
    """`2016-03-02T01:02:03.456Z`: what AWS sends; naive datetimes are UTC (query-api.md §4)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    from botocore.utils import parse_to_aware_datetime  # botocore loads with the first call

    # botocore-stubs type the argument as str; botocore also takes datetimes and epoch numbers
    return xml_timestamp(parse_to_aware_datetime(value))  # type: ignore[arg-type]
