"""`store.rows.json_text` (orjson, with `json.dumps` where orjson would differ) stores what
`json.dumps` stored: read back with `json.loads`, a trace row's detail or a message's
recipients are the same values, for anything `json.dumps` takes, NaN and the infinities,
keys that are not text and integers past 64 bits included; what `json.dumps` refuses is
refused as before."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.records import Outcome, PublishStatus, TraceKind, TraceRow
from inbound.store.rows import json_text, trace_values

keys = st.text() | st.integers(-(2**70), 2**70) | st.booleans() | st.none()
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()  # NaN and the infinities too
    | st.text()  # lone surrogates too
    | st.sampled_from(list(PublishStatus))  # a StrEnum, as a failed step's `status`
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(keys, inner, max_size=4)
    ),
    max_leaves=20,
)


def _read_back(text: str) -> str:
    """What `json.loads` gives, in a form that compares NaN equal to itself."""
    return json.dumps(json.loads(text))


@given(values)
def test_reads_back_as_json_dumps_wrote_it(value: object) -> None:
    assert _read_back(json_text(value)) == _read_back(json.dumps(value))


def test_nan_and_the_infinities_stay() -> None:
    found = json.loads(json_text({"x": [math.nan, math.inf, -math.inf]}))["x"]
    assert math.isnan(found[0]) and found[1:] == [math.inf, -math.inf]


@dataclasses.dataclass
class _Thing:
    a: int


@pytest.mark.parametrize("value", [{"at": datetime.now(UTC)}, {"thing": _Thing(1)}, {1, 2}])
def test_what_json_dumps_refuses_is_refused(value: object) -> None:
    with pytest.raises(TypeError):
        json.dumps(value)
    with pytest.raises(TypeError):
        json_text(value)


def test_trace_values_are_plain_text() -> None:
    """The statuses go to the store's writer as `str`, not as their enums (pickled through a
    Python `__reduce_ex__`), with the same text."""
    row = TraceRow(
        seq=2, kind=TraceKind.ACTION, rule="r", outcome=Outcome.CONTINUE, detail={"k": "v"}
    )
    values = trace_values("m", row)
    assert values[2] == "action" and type(values[2]) is str
    assert values[7] == "CONTINUE" and type(values[7]) is str
    assert json.loads(values[9]) == {"k": "v"}
