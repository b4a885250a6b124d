"""Hypothesis strategies generated from botocore shapes: valid boto3-shaped values.

Strings mix hostile samples (CR/LF, `&<>"'`, non-ASCII, `+%=`, dots, `]]>`) with random
XML-legal text; structures nested in others are never empty, because the Query protocol
cannot carry an empty structure (botocore sends nothing for it).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from inbound.api.query import service

HOSTILE = (
    "a&b<c>\"d' e+f%g=h",
    "ü\r\nline2\ttab",
    "\r",
    "+%=&",
    "x.member.1",
    "]]>",
    "日本語 🚀",
    "",
)
_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Cn"))
_MOMENTS = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
)


def _text(shape: Any) -> st.SearchStrategy[str]:
    if shape.enum:
        return st.sampled_from(shape.enum)
    low = shape.metadata.get("min", 0)
    high = shape.metadata.get("max", low + 24)
    fits = [s for s in HOSTILE if low <= len(s) <= high]
    random = st.text(_CHARS, min_size=low, max_size=min(high, low + 24))
    return st.one_of(st.sampled_from(fits), random) if fits else random


def _int(shape: Any) -> st.SearchStrategy[int]:
    bits = 63 if shape.type_name == "long" else 31
    return st.integers(
        shape.metadata.get("min", -(2**bits)), shape.metadata.get("max", 2**bits - 1)
    )


@functools.cache
def value(shape: Any, output: bool, nested: bool = True) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        required = {m.name: value(m.shape, output) for m in service.members(shape) if m.required}
        optional = {
            m.name: value(m.shape, output) for m in service.members(shape) if not m.required
        }
        structure = st.fixed_dictionaries(required, optional=optional)
        return structure.filter(bool) if nested else structure
    if kind == "list":
        low = shape.metadata.get("min", 0)
        return st.lists(value(shape.member, output), min_size=low, max_size=max(low, 3))
    if kind == "map":
        return st.dictionaries(_text(shape.key), value(shape.value, output), max_size=3)
    if kind == "string":
        return _text(shape)
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "long"):
        return _int(shape)
    if kind in ("double", "float"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "timestamp":
        if output:  # AWS sends milliseconds
            return _MOMENTS.map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
        return _MOMENTS
    if kind == "blob":
        return st.binary(max_size=64)
    raise AssertionError(f"no strategy for {kind}")


def operation_input(operation: Any) -> st.SearchStrategy[dict[str, Any]]:
    shape = operation.input_shape
    return st.just({}) if shape is None else value(shape, False, nested=False)


def operation_output(operation: Any) -> st.SearchStrategy[dict[str, Any]]:
    shape = operation.output_shape
    return st.just({}) if shape is None else value(shape, True, nested=False)
