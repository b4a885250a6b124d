"""Forced verdicts (docs/authentication.md, "Forced verdicts"): from inbound.toml, the JSON API
and the pytest marker, seen where a user's code sees them: the SNS action's `receipt` and the
headers of the message it carries, received over real SMTP; and marked in the trace."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from inbound import config
from inbound.receiving.forced import UNASKED, Forced, Override, OverrideError
from inbound.receiving.verdicts import Status
from inbound.testing import RunningInbound
from tests.rulesets import FUNCTION, lambda_, message, rule, rules, s3, sns

SCANNED = rules(rule("r", sns(), ScanEnabled=True))


def _received(server: RunningInbound, sender: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Send one message From `sender`; its notification's `receipt`, its headers by name,
    and its trace's verdicts row."""
    server.reset()
    server.send(sender, ["user@example.com"], message(sender=sender))
    [note] = server.notifications()
    body = note["message"]
    headers = {h["name"]: h["value"] for h in body["mail"]["headers"]}
    [row] = [t for t in server.trace(body["mail"]["messageId"]) if t["kind"] == "verdicts"]
    return {**body["receipt"], "trace": row["detail"]}, headers


def _statuses(receipt: dict[str, Any]) -> dict[str, str]:
    return {k: v["status"] for k, v in receipt.items() if k.endswith("Verdict")}


def test_forced_by_the_config_file(inbound_factory, tmp_path: Path) -> None:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    (tmp_path / "inbound.toml").write_text(
        '[verdicts.partner]\nsender = "partner.example"\nspf = "PASS"\ndmarc = "FAIL"\n'
        'dmarc_policy = "reject"\n\n[verdicts.everything]\nspam = "FAIL"\n'
    )
    overrides = config.load(tmp_path / "inbound.toml").verdicts
    server = inbound_factory(SCANNED, verdicts=overrides)

    receipt, headers = _received(server, "news@partner.example")
    assert _statuses(receipt) == {
        "spamVerdict": "FAIL",
        "virusVerdict": "PASS",
        "spfVerdict": "PASS",
        "dkimVerdict": "GRAY",  # not forced: the message has no signature
        "dmarcVerdict": "FAIL",
    }
    assert receipt["dmarcPolicy"] == "reject"
    assert headers["X-SES-Spam-Verdict"] == "FAIL"
    forced_spf = "pass (spfCheck: verdict forced by inbound override config:partner)"
    assert headers["Received-SPF"].startswith(f"{forced_spf} client-ip=127.0.0.1;")
    assert headers["Authentication-Results"].startswith(f"amazonses.com; spf={forced_spf} ")
    assert headers["Authentication-Results"].endswith(" dmarc=fail header.from=partner.example;")
    assert receipt["trace"]["forced"] == {
        "spamVerdict": "config:everything",
        "spfVerdict": "config:partner",
        "dmarcVerdict": "config:partner",
        "dmarcPolicy": "config:partner",
    }
    assert _statuses(receipt["trace"]) == _statuses(receipt)

    receipt, headers = _received(server, "someone@elsewhere.example")
    assert receipt["trace"]["forced"] == {"spamVerdict": "config:everything"}
    assert receipt["dmarcVerdict"] == {"status": "PROCESSING_FAILED"}  # not forced: no DNS
    assert "dmarcPolicy" not in receipt


# ── which override wins ─────────────────────────────────────────────────────────────────────
def _override(name: str, source: str = "config", **fields: Any) -> Override:
    return Override.parse(name, source, fields)


PRECEDENCE = [
    _override("all", dmarc="PASS"),
    _override("set", ruleSet="main", dmarc="GRAY"),
    _override("domain", sender="x.example", dmarc="FAIL", dkim="FAIL"),
    _override("domain-api", "api", sender="x.example", dkim="PASS"),
    _override("address", sender="a@x.example", dmarc="PROCESSING_FAILED"),
]


@pytest.mark.parametrize(
    ("rule_set", "senders", "expected"),
    [
        ("other", ("b@y.example",), {"dmarc": "all"}),
        ("main", ("b@y.example",), {"dmarc": "set"}),
        ("main", ("b@x.example",), {"dmarc": "domain", "dkim": "domain-api"}),
        ("main", ("bounce@y.example", "a@x.example"), {"dmarc": "address", "dkim": "domain-api"}),
    ],
    ids=["everything", "rule-set", "domain-api-over-config", "address-from-header"],
)
def test_the_most_specific_override_wins(
    rule_set: str, senders: tuple[str, ...], expected: dict[str, str]
) -> None:
    forced = Forced.of(PRECEDENCE, rule_set, senders)
    assert {k: o.name for k, (_, o) in forced.verdicts.items()} == expected


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"dmarc": "fail"},
        {"spam": "DISABLED"},
        {"dmarcPolicy": "block"},
        {"dmarc": "FAIL", "sender": "@x.example"},
        {"dmarc": "FAIL", "sender": "a b@x.example"},
        {"dmarc": "FAIL", "ruleSet": ""},
        {"dmarc": "FAIL", "color": "red"},
    ],
    ids=lambda fields: ",".join(f"{k}={v}" for k, v in fields.items()) or "nothing",
)
def test_a_bad_override_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(OverrideError):
        Override.parse("x", "api", fields)


def test_forced_dkim_speaks_for_every_signature() -> None:
    signed = Forced.of([_override("d", dkim="FAIL")], "s", ())
    auth = signed.apply(replace(UNASKED, dkim_results=(("pass", "a.example"),)), "from.example")
    assert (auth.dkim, auth.dkim_results) == (Status.FAIL, (("fail", "a.example"),))
    unsigned = Forced.of([_override("d", dkim="PASS")], "s", ()).apply(UNASKED, "from.example")
    assert unsigned.dkim_results == (("pass", "from.example"),)
    gray = Forced.of([_override("d", dkim="GRAY")], "s", ()).apply(UNASKED, "from.example")
    assert gray.dkim_results == ()


# ── the JSON API ────────────────────────────────────────────────────────────────────────────
def _call(server: RunningInbound, method: str, path: str, body: bytes | None = None):
    request = urllib.request.Request(server.api_url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_forced_through_the_api_persists_and_reaches_the_headers(inbound_factory) -> None:
    server = inbound_factory(SCANNED)
    fields = {"sender": "Bad@Partner.Example", "dmarc": "FAIL", "dmarcPolicy": "quarantine",
              "dkim": "PASS", "virus": "FAIL"}  # fmt: skip
    status, body = _call(server, "PUT", "/api/verdicts/no-dmarc", json.dumps(fields).encode())
    assert status == 200
    assert body == {"name": "no-dmarc", "source": "api", **fields, "sender": "bad@partner.example"}

    receipt, headers = _received(server, "bad@partner.example")
    assert _statuses(receipt) | {"dmarcPolicy": receipt["dmarcPolicy"]} == {
        "spamVerdict": "PASS",
        "virusVerdict": "FAIL",
        "spfVerdict": "PROCESSING_FAILED",
        "dkimVerdict": "PASS",
        "dmarcVerdict": "FAIL",
        "dmarcPolicy": "quarantine",
    }
    assert headers["X-SES-Virus-Verdict"] == "FAIL"
    assert headers["Authentication-Results"].endswith(
        " dkim=pass header.i=@partner.example; dmarc=fail header.from=partner.example;"
    )
    marks = {k: "api:no-dmarc" for k in ("virusVerdict", "dkimVerdict", "dmarcVerdict")}
    assert receipt["trace"]["forced"] == marks | {"dmarcPolicy": "api:no-dmarc"}

    data_dir = server.settings.data_dir  # kept in the store: a restart still has it
    server.stop()
    again = inbound_factory(SCANNED, data_dir=data_dir)
    assert _call(again, "GET", "/api/verdicts/no-dmarc") == (200, body)
    assert again.get("/api/verdicts") == [body]
    assert _call(again, "DELETE", "/api/verdicts/no-dmarc") == (200, {"deleted": "no-dmarc"})
    assert _call(again, "DELETE", "/api/verdicts/no-dmarc")[0] == 404
    receipt, _ = _received(again, "bad@partner.example")
    assert receipt["trace"]["forced"] == {}
    assert receipt["dmarcVerdict"] == {"status": "PROCESSING_FAILED"}


@pytest.mark.parametrize(
    ("name", "body", "error"),
    [
        ("x", b"{", "invalid JSON"),
        ("x", b"[]", "JSON object"),
        ("x", b'{"dmarc": "fail"}', "dmarc must be one of"),
        ("x", b'{"spf": "PASS", "extra": 1}', "unknown field 'extra'"),
        ("x" * 65, b'{"spf": "PASS"}', "the name"),
        ("x", b'{"spf": "' + b"P" * 20000 + b'"}', "over 16384 bytes"),
    ],
    ids=["json", "not-object", "status", "field", "name", "size"],
)
def test_a_bad_api_override_is_refused(
    inbound_server: RunningInbound, name: str, body: bytes, error: str
) -> None:
    status, answer = _call(inbound_server, "PUT", f"/api/verdicts/{name}", body)
    assert status == 400 and error in answer["error"]
    assert inbound_server.get("/api/verdicts") == []


def test_delete_all_removes_the_api_overrides_only(inbound_factory) -> None:
    server = inbound_factory(verdicts=(Override.parse("kept", "config", {"spam": "FAIL"}),))
    for name in ("a", "b"):
        _call(server, "PUT", f"/api/verdicts/{name}", b'{"spf": "FAIL"}')
    assert _call(server, "DELETE", "/api/verdicts") == (200, {"deleted": 2})
    assert [o["name"] for o in server.get("/api/verdicts")] == ["kept"]


# ── the pytest marker ───────────────────────────────────────────────────────────────────────
@pytest.mark.inbound_rules(SCANNED)
@pytest.mark.inbound_verdicts(dmarc="FAIL", dmarc_policy="reject", sender="x@partner.example")
@pytest.mark.inbound_verdicts(spam="FAIL", rule_set="test")
def test_forced_by_the_marker(inbound_server: RunningInbound) -> None:
    receipt, headers = _received(inbound_server, "x@partner.example")
    assert (receipt["dmarcVerdict"], receipt["dmarcPolicy"]) == ({"status": "FAIL"}, "reject")
    assert receipt["spamVerdict"] == {"status": "FAIL"}
    assert headers["X-SES-Spam-Verdict"] == "FAIL"
    assert headers["Authentication-Results"].endswith(" dmarc=fail header.from=partner.example;")
    assert receipt["trace"]["forced"] == {
        "spamVerdict": "marker:marker-1",  # the closest marker first
        "dmarcVerdict": "marker:marker-2",
        "dmarcPolicy": "marker:marker-2",
    }


# ── the example: "my Lambda drops DMARC failures", with no DNS ──────────────────────
LAMBDA_EVENTS: list[dict[str, Any]] = []


def drop_dmarc_failures(event: dict[str, Any], context: Any) -> dict[str, str] | None:
    LAMBDA_EVENTS.append(event)
    receipt = event["Records"][0]["ses"]["receipt"]
    return {"disposition": "STOP_RULE_SET"} if receipt["dmarcVerdict"]["status"] == "FAIL" else None


@pytest.mark.inbound_rules(
    rules(rule("gate", lambda_("RequestResponse")), rule("keep", s3("b", "kept/"))),
    lambda_handlers={FUNCTION: drop_dmarc_failures},
)
@pytest.mark.inbound_verdicts(dmarc="FAIL", dmarc_policy="reject", sender="spoofed.example")
def test_a_lambda_that_drops_dmarc_failures(inbound_server: RunningInbound) -> None:
    LAMBDA_EVENTS.clear()
    for sender in ("ceo@spoofed.example", "friend@honest.example"):
        inbound_server.send(sender, ["user@example.com"], message(sender=sender))
    honest = [m for m in inbound_server.messages() if m["mailFrom"] == "friend@honest.example"]
    kept = [o["key"] for o in inbound_server.get("/api/s3")]
    assert kept == [f"kept/{honest[0]['messageId']}"]
    [spoofed] = [e["Records"][0]["ses"] for e in LAMBDA_EVENTS
                 if e["Records"][0]["ses"]["mail"]["source"] == "ceo@spoofed.example"]  # fmt: skip
    assert spoofed["receipt"]["dmarcPolicy"] == "reject"
    headers = {h["name"]: h["value"] for h in spoofed["mail"]["headers"]}
    assert headers["Authentication-Results"].endswith(" dmarc=fail header.from=spoofed.example;")
