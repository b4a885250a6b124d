"""The HTTP port refuses DNS rebinding and cross-site writes (issue 18; inbound/api/guard.py).

A web page in the user's browser can POST a form to 127.0.0.1:4525, and a page whose name is
rebound to 127.0.0.1 can read the API as its own origin. Each test replays what such a page
sends, with raw HTTP, and checks both the refusal and that nothing changed.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from inbound import config
from inbound.testing import RunningInbound
from tests.api.test_http import NS, send

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CREATE = b"Action=CreateReceiptRuleSet&RuleSetName=x"
LIST = "/?Action=ListReceiptRuleSets"
EVIL = "http://evil.example"


def rule_sets(server: RunningInbound) -> list[str]:
    return [s["Name"] for s in server.ses().list_receipt_rule_sets()["RuleSets"]]


def xml_code(body: bytes) -> str:
    root = ElementTree.fromstring(body)
    assert root.tag == f"{NS}ErrorResponse"
    return root.findtext(f"{NS}Error/{NS}Code") or ""


def port(server: RunningInbound) -> int:
    return int(server.api_url.rpartition(":")[2])


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},  # a sandboxed page or a file: URL
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # another port of localhost is another origin
        {"Referer": f"{EVIL}/page.html"},
    ],
    ids=["origin", "origin-null", "fetch-cross-site", "fetch-same-site", "referer"],
)
def test_cross_origin_form_post_is_refused_and_changes_nothing(
    inbound_server: RunningInbound, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="inbound.api"):
        status, response_headers, body = send(
            inbound_server.api_url, body=CREATE, **FORM, **headers
        )
    assert status == 403
    assert response_headers["Content-Type"].startswith("text/xml")
    assert xml_code(body) == "AccessDenied"
    assert "x" not in rule_sets(inbound_server)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "inbound.api"]
    assert line.startswith("refused POST / from 127.0.0.1: Cross-origin request refused")


def test_cross_origin_writes_to_the_json_api_are_refused(inbound_server: RunningInbound) -> None:
    before = inbound_server.get("/api/rules")
    status, headers, body = send(
        inbound_server.api_url, "/api/rules", json.dumps({}).encode(), "PUT", Origin=EVIL
    )
    assert (status, json.loads(body)["code"]) == (403, "AccessDenied")
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = send(inbound_server.api_url, "/api/messages", None, "DELETE", Origin=EVIL)
    assert (status, json.loads(body)["code"]) == (403, "AccessDenied")
    assert inbound_server.get("/api/rules") == before


def test_cross_origin_reads_are_not_refused(inbound_server: RunningInbound) -> None:
    """Reads change nothing; the browser keeps their answers from another origin's page."""
    status, _, _ = send(inbound_server.api_url, "/api/messages", method="GET", Origin=EVIL)
    assert status == 200


@pytest.mark.parametrize(
    ("path", "kind"), [(LIST, "xml"), ("/api/messages", "json")], ids=["query", "json"]
)
def test_rebinding_host_is_refused(
    inbound_server: RunningInbound, path: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="inbound.api"):
        status, _, body = send(
            inbound_server.api_url, path, method="GET", Host=f"evil.example:{port(inbound_server)}"
        )
    assert status == 421
    code = xml_code(body) if kind == "xml" else json.loads(body)["code"]
    assert code == "MisdirectedRequest"
    assert len([r for r in caplog.records if r.name == "inbound.api"]) == 1


def test_rebinding_host_cannot_write(inbound_server: RunningInbound) -> None:
    host = f"evil.example:{port(inbound_server)}"
    origin = f"http://{host}"  # same-origin for the rebound page: the Host check stops it
    status, _, _ = send(inbound_server.api_url, body=CREATE, Host=host, Origin=origin, **FORM)
    assert status == 421
    assert "x" not in rule_sets(inbound_server)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # SDKs and the CLI: no Origin, no Sec-Fetch-*, no Referer
        {"Origin": "{url}"},
        {"Origin": "{url}", "Referer": f"{EVIL}/"},  # Origin decides when present
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked by the user
        {"Referer": "{url}/ui/rules"},
        {"Host": "localhost:{port}", "Origin": "http://localhost:{port}"},
        {"Host": "LOCALHOST.:{port}"},
        {"Host": "[::1]:{port}"},
        {"Host": "192.0.2.7:{port}"},  # an IP literal is never a rebound name
    ],
    ids=[
        "no-origin",
        "same-origin",
        "origin-over-referer",
        "fetch-same-origin",
        "fetch-none",
        "same-referer",
        "localhost",
        "localhost-dot-upper",
        "ipv6-loopback",
        "ip-literal",
    ],
)
def test_same_origin_and_sdk_requests_work(
    inbound_server: RunningInbound, headers: dict[str, str]
) -> None:
    filled = {
        k: v.format(url=inbound_server.api_url, port=port(inbound_server))
        for k, v in headers.items()
    }
    status, _, body = send(inbound_server.api_url, body=CREATE, **FORM, **filled)
    assert status == 200, body
    assert "x" in rule_sets(inbound_server)


def test_allowed_hosts_setting(inbound_factory: Any) -> None:
    server = inbound_factory(allowed_hosts=("inbound.test",))
    served = f"inbound.test:{port(server)}"
    status, _, _ = send(server.api_url, LIST, method="GET", Host=served)
    assert status == 200
    status, _, _ = send(server.api_url, body=CREATE, Host=served, Origin=f"http://{served}", **FORM)
    assert status == 200
    status, _, _ = send(server.api_url, LIST, method="GET", Host="other.test")
    assert status == 421


def test_any_host_with_a_star(inbound_factory: Any) -> None:
    server = inbound_factory(allowed_hosts=("*",))
    status, _, _ = send(server.api_url, LIST, method="GET", Host="evil.example")
    assert status == 200
    status, _, _ = send(server.api_url, body=CREATE, Origin=EVIL, **FORM)  # still cross-origin
    assert status == 403


def test_allowed_hosts_in_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text('{"Filters": [], "RuleSets": []}')
    path = tmp_path / "inbound.toml"
    path.write_text('[server]\nallowed_hosts = ["Inbound.Test.", "::1", "*"]\n')
    assert config.load(path).allowed_hosts == ("inbound.test", "[::1]", "*")
