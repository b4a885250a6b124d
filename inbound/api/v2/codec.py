"""REST-JSON decoding and encoding, driven by botocore's `sesv2` model (`service.py`).

In: method + raw path → the operation (`route`), then URI labels, query string, headers and
the JSON body → exactly the kwargs a boto3 caller passed (`decode`): aware UTC datetimes,
`bytes` for blobs (base64 in JSON), ints, floats, booleans, lists, maps, structures. Each
member is read where its `location` says (`uri`, `querystring`, `header`, `headers`, or the
body; a `payload` member is the whole body), with the model's default timestamp formats
(body: epoch seconds, query string: ISO 8601, header: RFC 822) unless the shape names one.

Out: the handler's result → (status, headers, JSON body) by the output shape (`encode`):
members bound to headers become headers, a `statusCode` member the status, the rest the body.

Missing required members and values of the wrong type are `BadRequestException`, all reported
at once in Coral's words (`1 validation error detected: Value null at 'emailIdentity' failed
to satisfy constraint: Member must not be null`), as v1 reports them as `ValidationError`.
Members the model does not know are ignored (a newer client's).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime, parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from inbound import blobs
from inbound.api.v2 import service
from inbound.api.v2.errors import BadRequest, UnknownOperation

if TYPE_CHECKING:
    from botocore.model import OperationModel

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_ABSENT = object()
_INVALID = object()  # a value given but refused (a violation is recorded): not also "null"


def _given(value: Any) -> bool:
    return value is not _ABSENT and value is not _INVALID


_DEFAULT_TIMESTAMP = {"body": "unixTimestamp", "querystring": "iso8601", "header": "rfc822"}


@dataclass(frozen=True)
class Routed:
    operation: OperationModel
    labels: dict[str, str]  # URI labels, percent-decoded
    from_query: tuple[str, ...] = ()  # members this (earlier) route carries in the query string


def route(method: str, raw_path: str) -> Routed:
    """The operation whose `requestUri` and method fit, and its URI labels."""
    parts = service.split_path(raw_path)
    for candidate in service.routes():
        if candidate.method != method:
            continue
        labels = candidate.match(parts)
        if labels is not None:
            operation = service.operation_model(candidate.operation)
            return Routed(operation, labels, candidate.from_query)
    raise UnknownOperation(
        f"No SES v2 operation (API version {service.api_version()}) is {method} {raw_path}."
    )


def decode(
    routed: Routed,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> dict[str, Any]:
    """The request's parts → the kwargs a boto3 caller passed; raises `BadRequest`."""
    shape = routed.operation.input_shape
    if shape is None:
        return {}
    decoder = _Decoder(routed.from_query)
    out = decoder.top_level(shape, routed.labels, query, headers, body)
    if decoder.violations:
        count = len(decoder.violations)
        noun = "error" if count == 1 else "errors"
        raise BadRequest(f"{count} validation {noun} detected: {'; '.join(decoder.violations)}")
    return out


def _path(prefix: str, name: str) -> str:
    lowered = name[:1].lower() + name[1:]
    return f"{prefix}.{lowered}" if prefix else lowered


class _Decoder:
    def __init__(self, from_query: tuple[str, ...]) -> None:
        self.violations: list[str] = []
        self.from_query = from_query

    def violate(self, value: object, path: str, constraint: str) -> object:
        shown = "null" if value is None else f"'{value}'"
        self.violations.append(
            f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}"
        )
        return _INVALID

    def top_level(
        self,
        shape: Any,
        labels: Mapping[str, str],
        query: Sequence[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        payload_name = shape.serialization.get("payload")
        in_body = _json_object(body) if payload_name is None else {}
        claimed = {
            m.serialization.get("name", n)
            for n, m in shape.members.items()
            if m.serialization.get("location") == "querystring" and m.type_name != "map"
        }
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if name in self.from_query:
                location = "querystring"
            path = _path("", name)
            value: Any = _ABSENT
            if name == payload_name:
                value = self.payload(member, body, path)
            elif location == "uri":
                if wire in labels:
                    value = self.text(member, labels[wire], path, "querystring")
            elif location == "querystring":
                value = self.query(member, wire, query, claimed, path)
            elif location == "header":
                if wire in headers:
                    value = self.header(member, headers[wire], path)
            elif location == "headers":
                found = {
                    k[len(wire) :]: v
                    for k, v in headers.items()
                    if k.lower().startswith(wire.lower())
                }
                value = found or _ABSENT
            elif location is None and payload_name is None and wire in in_body:
                value = self.json(member, in_body[wire], path)
            if _given(value):
                out[name] = value
            elif value is _ABSENT and name in shape.required_members:
                self.violate(None, path, "Member must not be null")
        return out

    def payload(self, member: Any, body: bytes, path: str) -> Any:
        if member.type_name == "blob":
            return body if body else _ABSENT
        if member.type_name == "string":
            return body.decode() if body else _ABSENT
        return self.json(member, _json_object(body), path) if body else _ABSENT

    def query(
        self,
        member: Any,
        wire: str,
        query: Sequence[tuple[str, str]],
        claimed: set[str],
        path: str,
    ) -> Any:
        if member.type_name == "map":  # every parameter no other member names
            found: dict[str, Any] = {}
            for key, text in query:
                if key in claimed:
                    continue
                if member.value.type_name == "list":
                    found.setdefault(key, []).append(text)
                else:
                    found.setdefault(key, text)
            return found or _ABSENT
        values = [text for key, text in query if key == wire]
        if not values:
            return _ABSENT
        if member.type_name == "list":
            items = [self.text(member.member, v, f"{path}.member", "querystring") for v in values]
            return [item for item in items if _given(item)]
        return self.text(member, values[0], path, "querystring")

    def header(self, member: Any, text: str, path: str) -> Any:
        if member.serialization.get("jsonvalue"):
            try:
                return json.loads(base64.b64decode(text))
            except (ValueError, binascii.Error):
                return self.violate(text, path, "Member must be base64-encoded JSON")
        if member.type_name == "list":
            items = [self.text(member.member, v.strip(), path, "header") for v in text.split(",")]
            return [item for item in items if _given(item)]
        return self.text(member, text, path, "header")

    def text(self, shape: Any, text: str, path: str, location: str) -> Any:
        """A scalar written as text: URI label, query string or header."""
        kind = shape.type_name
        if kind == "string":
            return self.string(shape, text, path)
        if kind in ("integer", "long"):
            if not _INTEGER.match(text):
                return self.violate(text, path, "Member must be an integer")
            return int(text)
        if kind == "boolean":
            if text not in ("true", "false"):
                return self.violate(text, path, "Member must be a boolean (true or false)")
            return text == "true"
        if kind in ("double", "float"):
            try:
                return float(text)
            except ValueError:
                return self.violate(text, path, "Member must be a number")
        if kind == "timestamp":
            fmt = shape.serialization.get("timestampFormat", _DEFAULT_TIMESTAMP[location])
            return self.timestamp(_number(text) if fmt == "unixTimestamp" else text, path)
        if kind == "blob":
            return self.blob(text, path)
        return self.violate(text, path, f"Member of type {kind} cannot be given as text")

    def string(self, shape: Any, value: str, path: str) -> Any:
        """A string of an enum shape must be one of its values, in AWS's words."""
        if shape.enum and value not in shape.enum:
            allowed = ", ".join(shape.enum)
            return self.violate(value, path, f"Member must satisfy enum value set: [{allowed}]")
        return value

    def json(self, shape: Any, value: Any, path: str) -> Any:
        """A value of the JSON body (numbers arrive as `int` or `Decimal`)."""
        if value is None:
            return _ABSENT
        kind = shape.type_name
        if kind == "structure":
            if not isinstance(value, dict):
                return self.violate(_shown(value), path, "Member must be an object")
            out: dict[str, Any] = {}
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                child = (
                    _ABSENT
                    if wire not in value
                    else self.json(member, value[wire], _path(path, name))
                )
                if _given(child):
                    out[name] = child
                elif child is _ABSENT and name in shape.required_members:
                    self.violate(None, _path(path, name), "Member must not be null")
            return out
        if kind == "list":
            if not isinstance(value, list):
                return self.violate(_shown(value), path, "Member must be a list")
            items = [
                self.json(shape.member, v, f"{path}.{i}.member") for i, v in enumerate(value, 1)
            ]
            return [item for item in items if _given(item)]
        if kind == "map":
            if not isinstance(value, dict):
                return self.violate(_shown(value), path, "Member must be a map")
            entries = {k: self.json(shape.value, v, f"{path}.{k}") for k, v in value.items()}
            return {k: v for k, v in entries.items() if _given(v)}
        if kind == "string":
            if not isinstance(value, str):
                return self.violate(_shown(value), path, "Member must be a string")
            return self.string(shape, value, path)
        if kind == "boolean":
            if not isinstance(value, bool):
                return self.violate(_shown(value), path, "Member must be a boolean")
            return value
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                return self.violate(_shown(value), path, "Member must be an integer")
            return value
        if kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
                return self.violate(_shown(value), path, "Member must be a number")
            try:  # "NaN", "Infinity" and "-Infinity" travel as strings
                return float(value)
            except ValueError:
                return self.violate(_shown(value), path, "Member must be a number")
        if kind == "timestamp":
            return self.timestamp(value, path)
        if kind == "blob":
            if not isinstance(value, str):
                return self.violate(_shown(value), path, "Member must be a base64 string")
            return self.blob(value, path)
        return self.violate(_shown(value), path, f"Member of type {kind} is not supported")

    def timestamp(self, value: Any, path: str) -> Any:
        """Epoch seconds (exact: `Decimal`), ISO 8601 or RFC 822 text → aware UTC."""
        try:
            if isinstance(value, int | Decimal) and not isinstance(value, bool):
                seconds = Decimal(value)
                whole = int(seconds // 1)
                micro = int(((seconds - whole) * 1_000_000).to_integral_value())
                return datetime.fromtimestamp(whole, UTC) + timedelta(microseconds=micro)
            if isinstance(value, str):
                parsed = _parse_text_timestamp(value)
                if parsed is not None:
                    return parsed
        except (ValueError, OverflowError, OSError, InvalidOperation):
            pass
        return self.violate(_shown(value), path, "Member must be a timestamp")

    def blob(self, text: str, path: str) -> Any:
        try:
            return blobs.decoded(text)
        except (binascii.Error, ValueError):
            return self.violate(text[:64], path, "Member must be base64-encoded")


def _parse_text_timestamp(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _number(text: str) -> Decimal | str:
    try:
        return Decimal(text)
    except InvalidOperation:
        return text


def _shown(value: Any) -> str:
    return json.dumps(value, default=str)[:64]


def _json_object(body: bytes) -> dict[str, Any]:
    """The JSON body (empty means `{}`); numbers with a fraction as `Decimal`, so epoch
    timestamps keep their microseconds exactly."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object.")
    return value


# ── out ─────────────────────────────────────────────────────────────────────────────────────
def encode(
    operation: OperationModel, result: Mapping[str, Any] | None
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, JSON body) of a handler's result."""
    status = int(operation.http.get("responseCode", 200))
    headers: dict[str, str] = {}
    body: dict[str, Any] = {}
    shape = operation.output_shape
    if shape is not None and result:
        for name, member in shape.members.items():
            value = result.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                headers[wire] = _header_text(member, value)
            elif location == "headers":
                headers.update({wire + k: str(v) for k, v in value.items()})
            else:
                body[wire] = _out(member, value)
    return status, headers, json.dumps(body, separators=(",", ":")).encode()


def _out(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {
            member.serialization.get("name", name): _out(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list":
        return [_out(shape.member, item) for item in value]
    if kind == "map":
        return {k: _out(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return _epoch(value)
    if kind == "blob":
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return base64.b64encode(raw).decode("ascii")
    if kind in ("double", "float"):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
        return number
    if kind in ("integer", "long"):
        return int(value)
    return value


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _epoch(value: datetime | str) -> float | int:
    """Epoch seconds, with milliseconds when there are any (what AWS sends)."""
    moment = _aware(value)
    whole = int(moment.replace(microsecond=0).timestamp())
    millis = moment.microsecond // 1000
    return whole + millis / 1000 if millis else whole


def _header_text(shape: Any, value: Any) -> str:
    if shape.type_name == "timestamp":
        return format_datetime(_aware(value).astimezone(UTC), usegmt=True)
    if shape.type_name == "boolean":
        return "true" if value else "false"
    if shape.type_name == "list":
        return ",".join(str(v) for v in value)
    return str(value)
