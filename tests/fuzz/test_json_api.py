"""Fuzz the JSON API and the other routes that are not SES's (`/api/...`, `/sns/...`,
`/track/...`, `/unsubscribe/...`) of a running server: every route of its own router but the
SES endpoints, with path parameters that name real messages and objects or hostile text,
random query parameters (`limit`, `next`, `status`, ...), and for `PUT /api/rules` the current
rules mutated or random JSON. Whatever arrives, the answer is not a 5xx and the server logs no
traceback."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inbound.testing import RunningInbound
from tests.api.strategies import HOSTILE
from tests.fuzz import budget
from tests.fuzz.http import Http
from tests.rulesets import message

TARGET = "json_api"
_TEXT = st.sampled_from(HOSTILE) | st.text(max_size=30)
_PLACEHOLDER = re.compile(r"\{[^}]*\}")
_QUERY_NAMES = st.sampled_from(["limit", "next", "status", "retries", "u", "x"]) | _TEXT
_QUERY_VALUES = (
    st.sampled_from(["0", "1", "1000", "1001", "-1", "pending", "done", "expired", "MQ=="])
    | st.integers().map(str)
    | _TEXT
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=10,
)


STREAM = "/ui/events"  # the web UI's live updates: a response that never ends (tests/web)


@pytest.fixture
def known(fuzzed: RunningInbound) -> dict[str, Any]:
    """Routes of the server's own router (not the SES endpoints, fuzzed elsewhere), names that
    exist (a message, its S3 object), and the rules document as exported."""
    fuzzed.send("sender@sender.test", ["user@example.com"], message())
    [received] = fuzzed.messages()
    router = fuzzed.server._runner.app.router  # type: ignore[union-attr]  # the real route table
    routes = sorted(
        {
            (route.method, route.resource.canonical)
            for route in router.routes()
            if route.resource is not None
            and route.resource.canonical not in ("/", STREAM)
            and not route.resource.canonical.startswith("/v2/")
        }
    )
    return {
        "routes": routes,
        "names": [received["messageId"], "b", received["messageId"], "example.com"],
        "rules": fuzzed.get("/api/rules"),
    }


@st.composite
def requests(draw: st.DrawFn, known: dict[str, Any]) -> tuple[str, str, bytes]:
    method, pattern = draw(st.sampled_from(known["routes"]))
    names = st.sampled_from(known["names"]) | _TEXT.filter(bool)
    path = _PLACEHOLDER.sub(lambda _: quote(draw(names), safe=""), pattern)
    query = draw(st.lists(st.tuples(_QUERY_NAMES, _QUERY_VALUES), max_size=3))
    target = path + ("?" + urlencode(query) if query else "")
    body = b""
    if method == "PUT":
        document = json.loads(json.dumps(known["rules"]))
        kind = draw(st.sampled_from(["rules", "mutated", "random", "bytes"]))
        if kind == "mutated" and isinstance(document, dict) and document:
            document[draw(st.sampled_from(sorted(document)))] = draw(_JSON)
        elif kind == "random":
            document = draw(_JSON)
        body = draw(st.binary(max_size=200)) if kind == "bytes" else json.dumps(document).encode()
    elif method == "POST":
        body = draw(st.binary(max_size=50))
    return method, target, body


@budget.examples(ci=60, deep=15_000)
@given(data=st.data())
def test_any_request_is_answered_without_a_server_error(api: Http, known, data) -> None:
    method, target, body = data.draw(requests(known), label="request")
    budget.case(TARGET)
    with budget.tracebacks() as logged:
        answer = api.request(method, target, body, {"Content-Type": "application/json"})
        crashed = logged.take()
    if crashed or answer.status >= 500:
        raise budget.server_error(TARGET, f"{answer.status} {answer.body[:500]!r} {crashed}")
