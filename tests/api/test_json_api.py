"""The JSON API as a whole: every route's answer after mail went every way (received into S3,
SNS, Lambda and WorkMail, bounced through the outbox, sent through SES), camelCase throughout,
and described by the OpenAPI document the server serves (docs/json-api.md)."""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inbound.api import OPENAPI_PATH, openapi, openapi_doc
from inbound.backends import BackendError, BusEntry, MetricDatum
from inbound.backends.factory import local_backends
from inbound.testing import RunningInbound
from tests.rulesets import ACCOUNT, FUNCTION, TOPIC, bounce, lambda_, message, rule, rules, s3, sns

STREAM = f"arn:aws:firehose:us-east-1:{ACCOUNT}:deliverystream/events"
BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
APPLICATION = f"arn:aws:mobiletargeting:us-east-1:{ACCOUNT}:apps/app"
ORGANIZATION = f"arn:aws:workmail:us-east-1:{ACCOUNT}:organization/m-1"
BROKEN = f"arn:aws:sns:us-east-1:{ACCOUNT}:broken"
EVERY_WAY = rules(
    rule("nobody", bounce(), recipients=["nobody@example.com"]),
    rule("retried", sns(BROKEN), recipients=["retried@example.com"]),
    rule(
        "all",
        s3("b", "in/"),
        sns(TOPIC),
        lambda_(),
        {"WorkmailAction": {"OrganizationArn": ORGANIZATION}},
    ),
)
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# Members whose keys are not the API's own names: user data (S3 metadata, message tags, metric
# dimensions, a trace step's `why` by recipient address), and documents in another service's
# shape (rules.json is SES's; a Lambda event is SES's, its response the handler's).
PASSTHROUGH = {"metadata", "tags", "payload", "response", "event", "dimensions", "why"}


class FailingTopic:
    """The embedded SNS, but publishing to BROKEN fails: the action is retried."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def publish(self, topic_arn: str, subject: str, message: str, message_id: str) -> str:
        if topic_arn == BROKEN:
            raise BackendError("NotFound: Topic does not exist")
        return await self.inner.publish(topic_arn, subject, message, message_id)  # type: ignore[no-any-return]


def failing_topic(store: Any, settings: Any, http_url: str) -> Any:
    backends = local_backends(store, settings, http_url)
    return dataclasses.replace(backends, publisher=FailingTopic(backends.publisher))


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server that received, bounced and sent mail: every listing has something in it."""
    from inbound.app import seed_keys
    from inbound.testing import make_settings

    data = tmp_path_factory.mktemp("json-api") / "data"
    seed_keys(data)
    settings = make_settings(data, EVERY_WAY, lambda_handlers={FUNCTION: lambda e, c: {"ok": 1}})
    server = RunningInbound(settings, None, failing_topic)
    server.send("s@sender.test", ["user@example.com"], message())
    server.send("s@sender.test", ["retried@example.com"], message())
    server.send("s@sender.test", ["nobody@example.com"], message())
    ses = server.ses()
    ses.verify_domain_dkim(Domain="example.com")
    ses.send_email(
        Source="me@example.com",
        Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
        Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}},
    )
    request = urllib.request.Request(
        server.api_url + "/api/verdicts/spam-fail",
        data=json.dumps(
            {"spam": "FAIL", "ruleSet": "test", "sender": "x@sender.test", "dmarcPolicy": "none"}
        ).encode(),
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=10).close()
    backends = server.server.backends
    moment = datetime(2026, 12, 4, tzinfo=UTC)
    server.call(backends.metrics.put_metric_data("AWS/SES", [MetricDatum("Send", (), moment)], ""))
    server.call(backends.streams.put_record(STREAM, b"{}\n", "m-1"))
    entry = BusEntry("aws.ses", "Email Sent", "{}", moment)
    server.call(backends.bus.put_bus_event(BUS, entry, "m-1"))
    server.call(backends.pinpoint.put_pinpoint_event(APPLICATION, {"event_type": "x"}, "m-1"))
    server.call(server.server.store.flush(durable=False))
    server.wait_idle()
    yield server
    server.stop()


def snake_keys(value: Any, path: str = "$") -> list[str]:
    """Paths of keys that are not camelCase, outside the PASSTHROUGH members."""
    found = []
    if isinstance(value, dict):
        for key, inner in value.items():
            if not CAMEL.match(key):
                found.append(f"{path}.{key}")
            if key not in PASSTHROUGH:
                found += snake_keys(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += snake_keys(inner, f"{path}[{i}]")
    return found


def json_routes(server: RunningInbound) -> dict[str, Any]:
    """Every GET route under /api/ that answers JSON, with a real id in its path."""
    messages = server.get("/api/messages")
    ids = {
        "id": messages[0]["messageId"],
        "identity": "example.com",
        "name": "spam-fail",
    }
    answers = {}
    for resource in server.server._runner.app.router.resources():  # type: ignore[union-attr]
        info = resource.get_info()
        template = info.get("formatter") or info.get("path", "")
        if not template.startswith("/api/") or template.endswith("/raw"):
            continue
        if not any(r.method == "GET" for r in resource):
            continue
        if "{bucket}" in template:
            continue  # the object's bytes, not JSON
        path = template.format(**ids)
        if "{id}" in template and template.startswith("/api/sent"):
            path = template.format(id=server.sent()[0]["messageId"])
        answers[template] = server.get(path)
    return answers


def registered(server: RunningInbound) -> set[tuple[str, str]]:
    """(method, path) of every route under /api/ that aiohttp serves."""
    found = set()
    for route in server.server._runner.app.router.routes():  # type: ignore[union-attr]
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("formatter") or info.get("path", "")
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method, path))
    return found


def test_every_api_route_is_described_and_every_description_is_a_route(busy) -> None:
    described = {(r.method, r.path) for r in openapi.ROUTES}
    assert registered(busy) == described


def test_the_description_is_served_and_is_valid_openapi_3_1(busy) -> None:
    from openapi_spec_validator import validate

    served = busy.get(OPENAPI_PATH)
    assert served == json.loads(json.dumps(openapi.document()))
    validate(served)


def members(schema: dict[str, Any]) -> tuple[set[str], bool]:
    """A described object's members, and whether it may have others."""
    if "$ref" in schema:
        schema = openapi.SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return set(schema.get("properties", {})), schema.get("additionalProperties") is not False


def test_every_described_member_is_in_a_real_answer_and_no_other(busy) -> None:
    """For each GET route answering JSON: the members the description gives are exactly those
    of the real answer (every item of a listing has no other; together they have them all)."""
    answers = json_routes(busy)
    unchecked = []
    for route in openapi.ROUTES:
        if route.method != "GET" or route.answer is None:
            continue
        if route.path not in answers:
            unchecked.append(route.path)
            continue
        described, open_ended = members(openapi.ref(route.answer))
        body = answers[route.path]
        items = body if route.listing else [body]
        assert items, route.path
        seen = set().union(*(set(item) for item in items))
        assert described <= seen, (route.path, described - seen)
        if not open_ended:
            assert seen <= described, (route.path, seen - described)
    assert unchecked == []


def test_the_reference_in_the_docs_is_current(tmp_path) -> None:
    page = Path(__file__).parents[2] / "docs" / "json-api.md"
    copy = tmp_path / "json-api.md"
    copy.write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    assert not openapi_doc.rewrite(copy), "run: python -m inbound.api.openapi_doc docs/json-api.md"


def test_every_json_api_answer_is_camel_case(busy: RunningInbound) -> None:
    answers = json_routes(busy)
    assert answers.get("/api/notifications")
    assert answers["/api/lambda"] and answers["/api/workmail"] and answers["/api/outbox"]
    offending = {
        route: snake_keys(body)
        for route, body in answers.items()
        if route not in ("/api/rules", OPENAPI_PATH) and snake_keys(body)
    }
    assert offending == {}
