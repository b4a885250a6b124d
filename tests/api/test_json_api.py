"""The JSON API as a whole: every route's answer after mail went every way (received into S3,
SNS, Lambda and WorkMail, bounced through the outbox, sent through SES), camelCase throughout,
and described by the OpenAPI document the server serves (docs/json-api.md)."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.rulesets import ACCOUNT, FUNCTION, TOPIC, bounce, lambda_, message, rule, rules, s3, sns

ORGANIZATION = f"arn:aws:workmail:us-east-1:{ACCOUNT}:organization/m-1"
EVERY_WAY = rules(
    rule("nobody", bounce(), recipients=["nobody@example.com"]),
    rule(
        "all",
        s3("b", "in/"),
        sns(TOPIC),
        lambda_(),
        {"WorkmailAction": {"OrganizationArn": ORGANIZATION}},
    ),
)
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
# Members whose keys are not the API's own names: user data (S3 metadata, message tags),
# and documents in another service's shape (rules.json is SES's; a Lambda event is SES's).
PASSTHROUGH = {"metadata", "tags", "payload", "response", "event", "dimensions", "detail"}


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server that received, bounced and sent mail: every listing has something in it."""
    from inbound.app import seed_keys
    from inbound.testing import make_settings

    data = tmp_path_factory.mktemp("json-api") / "data"
    seed_keys(data)
    settings = make_settings(data, EVERY_WAY, lambda_handlers={FUNCTION: lambda e, c: {"ok": 1}})
    server = RunningInbound(settings, None, None)
    server.send("s@sender.test", ["user@example.com"], message())
    server.send("s@sender.test", ["nobody@example.com"], message())
    ses = server.ses()
    ses.send_email(
        Source="me@example.com",
        Destination={"ToAddresses": ["success@simulator.amazonses.com"]},
        Message={"Subject": {"Data": "hi"}, "Body": {"Text": {"Data": "hello"}}},
    )
    request = urllib.request.Request(
        server.api_url + "/api/verdicts/spam-fail",
        data=json.dumps({"spam": "FAIL"}).encode(),
        method="PUT",
    )
    urllib.request.urlopen(request, timeout=10).close()
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
        "identity": "me@example.com",
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
        if "/dkim" in template:
            continue  # needs a domain set up for Easy DKIM: tests/api/test_identities.py
        answers[template] = server.get(path)
    return answers


def test_every_json_api_answer_is_camel_case(busy: RunningInbound) -> None:
    answers = json_routes(busy)
    assert answers.get("/api/notifications")
    assert answers["/api/lambda"] and answers["/api/workmail"] and answers["/api/outbox"]
    offending = {
        route: snake_keys(body)
        for route, body in answers.items()
        if route != "/api/rules" and snake_keys(body)
    }
    assert offending == {}
