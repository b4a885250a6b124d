"""Query-protocol request decoding: form/query pairs → operation model + boto3-shaped kwargs.

Driven by botocore's SES model (`service.py`), so every operation goes through the same code.
The result is exactly the dict a boto3 caller passed: booleans, ints, doubles, aware UTC
datetimes, `bytes` for blobs (raw MIME is never decoded, §10 item 11), lists and maps.
Rules from query-api.md §3 (deserializer) and §10:

* `keep_blank_values`: `RuleNames=` is how an empty list travels.
* Keys are split into a trie on whole dot components, so `Rule` never matches `RuleSetName`
  (moto/LocalStack use `startswith`); list indices are the ones present, sorted numerically.
* Unknown parameters are ignored (`AWSAccessKeyId`, `Signature*`, `Timestamp` of SigV2-era
  clients, members of a newer model): query-api.md §11 suggestion, kept.
* Missing required members, enums and min/max are Coral `ValidationError`s, all reported at
  once (`Value null at 'rule.actions.1.member.s3Action.bucketName' …`); a value that cannot
  be converted (`Enabled=yes`, bad base64) is `InvalidParameterValue`, naming the wire key.
* Characters illegal in XML 1.0 are rejected: they could never be sent back (§4 "Text").
"""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from inbound import blobs
from inbound.api.faults import InvalidAction, MissingAction, ValidationErrors
from inbound.api.query import service
from inbound.errors import InvalidParameterValue

if TYPE_CHECKING:
    from botocore.model import OperationModel, Shape

ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_ABSENT = object()


def form_params(raw_query: str, body: bytes, *, body_is_form: bool) -> dict[str, str]:
    """Query-string pairs merged with form-body pairs (the body wins on a repeated key).

    Undecodable UTF-8 survives as lone surrogates, which the decoder then rejects as
    characters illegal in XML, naming the parameter.
    """
    params = dict(_pairs(raw_query))
    if body_is_form and body:
        params.update(_pairs(body.decode("utf-8", "surrogateescape")))
    return params


def _pairs(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="surrogateescape")


def operation_for(params: Mapping[str, str], model: str = service.SES) -> OperationModel:
    """The model of `Action`; `Version` may be absent or the model's (query-api.md §11)."""
    action = params.get("Action", "")
    if not action:
        raise MissingAction("Missing Action")
    version = params.get("Version", "")
    if version and version != service.api_version(model):
        raise InvalidAction(f"Could not find operation {action} for version {version}")
    operation = service.operation_model(action, model)
    if operation is None:
        raise InvalidAction(
            f"The action {action} is not valid for this web service "
            f"({model.upper()} API version {service.api_version(model)})."
        )
    return operation


def decode(operation: OperationModel, params: Mapping[str, str]) -> dict[str, Any]:
    """`params` (Action and Version included or not) → the kwargs a boto3 caller passed."""
    shape = operation.input_shape
    if shape is None:
        return {}
    decoder = _Decoder()
    kwargs = decoder.structure(shape, _trie(params), "", "")
    if decoder.violations:
        raise ValidationErrors(decoder.violations)
    return kwargs


class _Node:
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _trie(params: Mapping[str, str]) -> _Node:
    root = _Node()
    for key, value in params.items():
        node = root
        for part in key.split("."):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.value = value
    return root


def _indexed(node: _Node | None) -> list[tuple[int, _Node]]:
    """Children named by positive integers, in numeric order (gaps allowed)."""
    if node is None:
        return []
    found = [
        (int(name), child)
        for name, child in node.children.items()
        if name.isascii() and name.isdigit() and name[0] != "0"
    ]
    found.sort(key=lambda item: item[0])
    return found


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Decoder:
    def __init__(self) -> None:
        self.violations: list[tuple[str, str]] = []

    def violate(self, value: object, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.violations.append(
            (path, f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")
        )

    def value(self, shape: Shape, node: _Node, path: str, key: str) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.structure(shape, node, path, key)
        if kind == "list":
            return self.list(shape, node, path, key)
        if kind == "map":
            return self.map(shape, node, path, key)
        if node.value is None:
            return _ABSENT
        return self.scalar(shape, node.value, path, key)

    def structure(self, shape: Shape, node: _Node | None, path: str, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for member in service.members(shape):
            child = node.children.get(member.wire) if node is not None else None
            member_path = _join(path, member.path)
            value = (
                _ABSENT
                if child is None
                else self.value(member.shape, child, member_path, _join(key, member.wire))
            )
            if value is _ABSENT:
                if member.required:
                    self.violate(None, member_path, "Member must not be null")
            else:
                out[member.name] = value
        return out

    def list(self, shape: Any, node: _Node, path: str, key: str) -> list[Any]:
        member = shape.member
        container: _Node | None
        if shape.serialization.get("flattened"):
            container, prefix = node, key
        else:
            name = member.serialization.get("name", "member")
            container, prefix = node.children.get(name), f"{key}.{name}"
        items = []
        for position, (index, child) in enumerate(_indexed(container), 1):
            item = self.value(member, child, f"{path}.{position}.member", f"{prefix}.{index}")
            if item is not _ABSENT:
                items.append(item)
        self.length(items, shape, path)
        return items

    def map(self, shape: Any, node: _Node, path: str, key: str) -> dict[Any, Any]:
        container = node if shape.serialization.get("flattened") else node.children.get("entry")
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out = {}
        for index, entry in _indexed(container):
            entry_key = f"{key}.entry.{index}"
            k_node, v_node = entry.children.get(key_name), entry.children.get(value_name)
            k = _ABSENT if k_node is None else self.value(shape.key, k_node, path, entry_key)
            v = _ABSENT
            if v_node is not None:
                v = self.value(shape.value, v_node, f"{path}.{k}", f"{entry_key}.{value_name}")
            if k is _ABSENT or v is _ABSENT:
                self.violate(None, f"{path}.entry.{index}", "Map entries must have a key and value")
            else:
                out[k] = v
        self.length(out, shape, path)
        return out

    def length(self, value: Any, shape: Shape, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            self.violate(value, path, f"Member must have length greater than or equal to {low}")
        elif high is not None and len(value) > high:
            self.violate(value, path, f"Member must have length less than or equal to {high}")

    def scalar(self, shape: Shape, text: str, path: str, key: str) -> Any:
        kind = shape.type_name
        if kind == "string":
            if ILLEGAL_XML.search(text):
                raise InvalidParameterValue(
                    f"Value for parameter {key} contains characters not allowed in XML 1.0."
                )
            enum: list[str] = shape.metadata.get("enum", [])  # what StringShape.enum reads
            if enum and text not in enum:
                allowed = ", ".join(enum)
                self.violate(text, path, f"Member must satisfy enum value set: [{allowed}]")
            else:
                self.length(text, shape, path)
            return text
        if kind == "boolean":
            lowered = text.lower()
            if lowered not in ("true", "false"):
                raise _invalid(text, key, "a boolean (true or false)")
            return lowered == "true"
        if kind in ("integer", "long"):
            if not _INTEGER.match(text):
                raise _invalid(text, key, "an integer")
            number = int(text)
            self.range(number, shape, path)
            return number
        if kind in ("double", "float"):
            try:
                real = float(text)
            except ValueError:
                raise _invalid(text, key, "a number") from None
            if not math.isnan(real):
                self.range(real, shape, path)
            return real
        if kind == "timestamp":
            return _timestamp(text, key)
        if kind == "blob":
            # A raw client may leave `+` unencoded (it arrives as a space); base64 has no spaces.
            compact = text.replace(" ", "+").replace("\r", "").replace("\n", "")
            try:
                return blobs.decoded(compact)
            except (binascii.Error, ValueError):
                raise _invalid(text[:64], key, "base64") from None
        return text

    def range(self, number: float, shape: Shape, path: str) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and number < low:
            self.violate(number, path, f"Member must have value greater than or equal to {low}")
        elif high is not None and number > high:
            self.violate(number, path, f"Member must have value less than or equal to {high}")


def _invalid(text: str, key: str, expected: str) -> InvalidParameterValue:
    shown = ILLEGAL_XML.sub("\ufffd", text)
    return InvalidParameterValue(
        f"Value ({shown}) for parameter {key} is invalid: expected {expected}."
    )


def _timestamp(text: str, key: str) -> datetime:
    """ISO 8601 (what botocore sends) or epoch seconds → aware UTC; naive means UTC (§3)."""
    try:
        if _INTEGER.match(text) or re.fullmatch(r"[0-9]+\.[0-9]+", text):
            return datetime.fromtimestamp(float(text), UTC)
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        raise _invalid(text, key, "an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
