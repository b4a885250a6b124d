"""Failed actions: PublishFailure, retried with backoff, PublishExpired + the 451 4.3.0 DSN
(issue 6 item 7; spec receiving.md §8, §3.5; inbound/retries.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from inbound import config, dsn
from inbound.backends import BackendError
from inbound.backends.factory import local_backends
from inbound.config import RetrySettings
from inbound.errors import ConfigError
from inbound.testing import RunningInbound
from tests.rulesets import FUNCTION, add_header, lambda_, message, rule, rules, s3, sns

DIAGNOSTIC = (
    "451 4.3.0 This message could not be delivered due to a recipient error. "
    "Please try again later."
)
FAST = RetrySettings(initial_seconds=0.02, max_seconds=0.05)


class FlakyObjects:
    """An S3 backend that fails its first `failures` writes (None: every one), then stores
    through the embedded backend. Shared across restarts: it counts every call."""

    def __init__(self, failures: int | None) -> None:
        self.failures = failures
        self.calls = 0
        self.stored: list[tuple[str, str, bytes]] = []
        self.inner: Any = None

    def factory(self, store: Any, settings: config.Settings, http_url: str) -> Any:
        backends = local_backends(store, settings, http_url)
        self.inner = backends.objects
        return dataclasses.replace(backends, objects=self)

    async def put_object(
        self,
        bucket: str,
        key: str,
        body: bytes,
        metadata: Mapping[str, str],
        message_id: str,
        prefix: bytes = b"",
    ) -> None:
        self.calls += 1
        if self.failures is None or self.calls <= self.failures:
            raise BackendError(f"NoSuchBucket: {bucket} (call {self.calls})")
        self.stored.append((bucket, key, prefix + body))
        await self.inner.put_object(bucket, key, body, metadata, message_id, prefix)

    async def put_setup_object(self, bucket: str, key: str, body: bytes, message_id: str) -> None:
        """A rule saved through the API writes here too, counted as any write."""
        await self.put_object(bucket, key, body, {}, message_id)


def start(inbound_factory, flaky: FlakyObjects, the_rules, **changes) -> RunningInbound:
    changes.setdefault("retries", FAST)
    return inbound_factory(the_rules, make_backends=flaky.factory, **changes)  # type: ignore[no-any-return]


def send(server: RunningInbound, sender: str = "sender@sender.test") -> str:
    server.send(sender, ["user@example.com"], message())
    [received] = server.messages()
    return received["messageId"]  # type: ignore[no-any-return]


def until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, "condition not met in time"
            return value
        time.sleep(0.02)


def retries(server: RunningInbound, query: str = "") -> list[dict[str, Any]]:
    return server.get(f"/api/retries{query}")  # type: ignore[no-any-return]


def post(server: RunningInbound, path: str) -> tuple[int, Any]:
    request = urllib.request.Request(server.api_url + path, data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def settle(server: RunningInbound) -> None:
    assert server.server.engine is not None
    server.call(server.server.engine.retries.settle())


# ── retried until delivered ─────────────────────────────────────────────────────────────────
def test_failure_then_retry_delivers_once(inbound_factory) -> None:
    flaky = FlakyObjects(failures=2)
    server = start(
        inbound_factory,
        flaky,
        rules(rule("r", add_header("X-Added", "yes"), s3("b", "in/"), sns())),
    )
    message_id = send(server)
    until(lambda: retries(server, "?status=delivered"))
    assert len(flaky.stored) == 1 and flaky.calls == 3
    body = flaky.stored[0][2]
    assert body.startswith(b"X-Added: yes\r\n")  # the AddHeader before it, re-applied once
    assert body.count(b"X-Added: yes") == 1
    assert len(server.get("/api/s3")) == 1

    trace = server.trace(message_id)
    steps = [(t["kind"], t["action"], t["detail"].get("status")) for t in trace[2:]]
    assert steps == [
        ("action", "AddHeader", None),
        ("action", "S3", "PublishFailure"),
        ("action", "SNS", None),  # the next action ran at once (spec §8)
        ("retry", "S3", "PublishFailure"),
        ("retry", "S3", "Delivered"),
    ]
    first = trace[3]
    assert "NoSuchBucket" in first["error"]
    assert first["detail"]["retry"]["status"] == "pending"
    assert [t["detail"]["attempt"] for t in trace[5:]] == [2, 3]
    assert trace[-1]["error"] is None and trace[-1]["detail"]["key"] == f"in/{message_id}"

    [entry] = server.get(f"/api/messages/{message_id}")["retries"]
    assert (entry["status"], entry["attempts"], entry["dsn"]) == ("delivered", 3, None)
    assert server.get("/api/messages?retries=pending") == []
    assert server.get("/api/outbox") == []


def test_lambda_error_is_retried_and_its_disposition_changes_nothing(inbound_factory) -> None:
    calls: list[str] = []

    def handler(event: Any, context: Any) -> Any:
        calls.append(event["Records"][0]["ses"]["mail"]["messageId"])
        if len(calls) == 1:
            raise RuntimeError("boom")
        return {"disposition": "STOP_RULE_SET"}

    flaky = FlakyObjects(failures=0)
    server = start(
        inbound_factory,
        flaky,
        rules(rule("a", lambda_("RequestResponse"), s3("b")), rule("z", s3("c"))),
        lambda_handlers={FUNCTION: handler},
    )
    message_id = send(server)
    until(lambda: retries(server, "?status=delivered"))
    trace = server.trace(message_id)
    retry = [t for t in trace if t["kind"] == "retry"]
    assert [(t["action"], t["outcome"], t["detail"]["status"]) for t in retry] == [
        ("Lambda", "STOP_RULE_SET", "Delivered")
    ]
    # Both S3 actions ran once, in the first run; the retry's STOP_RULE_SET stopped nothing.
    assert sorted(b for b, _, _ in flaky.stored) == ["b", "c"]
    assert calls == [message_id, message_id]


# ── expiry and the 451 4.3.0 DSN ────────────────────────────────────────────────────────────
def test_permanent_failure_expires_with_one_dsn_per_message(inbound_factory) -> None:
    flaky = FlakyObjects(failures=None)
    window = RetrySettings(window_seconds=0.4, initial_seconds=0.05, max_seconds=0.1)
    server = start(inbound_factory, flaky, rules(rule("r", s3("one"), s3("two"))), retries=window)
    message_id = send(server)

    def both_expired() -> list[dict[str, Any]]:
        found = retries(server, "?status=expired")
        return found if len(found) == 2 and all(e["dsn"] for e in found) else []

    expired = until(both_expired)
    assert len(expired) == 2 and all(e["attempts"] >= 2 for e in expired)
    assert server.get("/api/messages?retries=expired")[0]["messageId"] == message_id

    [queued] = server.get("/api/outbox")  # once per message, not once per action
    raw = server.get(f"/api/outbox/{queued['id']}/raw")
    report = dsn.parse_dsn(raw)
    [recipient] = report.recipients
    assert recipient.final_recipient == "user@example.com"
    assert recipient.status == "4.3.0"
    assert recipient.diagnostic_code == DIAGNOSTIC
    parsed = email.message_from_bytes(raw)
    assert parsed["To"] == "sender@sender.test"
    assert {e["dsn"] for e in expired} == {queued["id"]}

    trace = server.trace(message_id)
    final = [t for t in trace if t["detail"].get("status") == "PublishExpired"]
    assert [t["detail"]["dsn"] for t in final] == [
        queued["id"],
        f"already sent for this message: {queued['id']}",
    ]


def test_fail_fast_sends_the_dsn_at_once(inbound_factory) -> None:
    flaky = FlakyObjects(failures=None)
    server = start(
        inbound_factory, flaky, rules(rule("r", s3("b"))), retries=RetrySettings(fail_fast=True)
    )
    message_id = send(server)  # messages() waits for idle: processed, and retries settled
    [entry] = retries(server)
    assert (entry["status"], entry["attempts"]) == ("expired", 1)
    assert flaky.calls == 1  # never retried
    [queued] = server.get("/api/outbox")
    assert entry["dsn"] == queued["id"]
    [status] = dsn.parse_dsn(server.get(f"/api/outbox/{queued['id']}/raw")).recipients
    assert (status.status, status.diagnostic_code) == ("4.3.0", DIAGNOSTIC)
    action, expiry = [t for t in server.trace(message_id) if t["action"] == "S3"]
    assert action["detail"]["status"] == "PublishFailure"
    assert action["detail"]["retry"] == {"status": "PublishExpired", "reason": "fail_fast"}
    assert (expiry["kind"], expiry["detail"]["status"]) == ("retry", "PublishExpired")


def test_no_dsn_for_a_null_sender(inbound_factory) -> None:
    flaky = FlakyObjects(failures=None)
    server = start(
        inbound_factory, flaky, rules(rule("r", s3("b"))), retries=RetrySettings(fail_fast=True)
    )
    send(server, sender="")
    [entry] = retries(server)
    assert entry["status"] == "expired"
    assert entry["dsn"].startswith("not sent")
    assert server.get("/api/outbox") == []


def test_size_limit_failure_is_final_not_retried(inbound_factory) -> None:
    flaky = FlakyObjects(failures=0)
    server = start(inbound_factory, flaky, rules(rule("r", sns())))
    server.send(
        "sender@sender.test", ["user@example.com"], message(body=("x" * 98 + "\r\n") * 1600)
    )
    [received] = server.messages()
    [step] = [t for t in server.trace(received["messageId"]) if t["kind"] == "action"]
    assert step["detail"]["status"] == "PublishFailure" and step["detail"]["final"] is True
    assert retries(server) == []
    [bounce] = server.get("/api/outbox")  # the 552 5.2.3 one, only
    [status] = dsn.parse_dsn(server.get(f"/api/outbox/{bounce['id']}/raw")).recipients
    assert status.status == "5.2.3"


# ── restart ─────────────────────────────────────────────────────────────────────────────────
def test_pending_retry_survives_a_restart(inbound_factory, tmp_path: Path) -> None:
    failing, working = FlakyObjects(failures=None), FlakyObjects(failures=0)
    slow = RetrySettings(initial_seconds=0.3, max_seconds=0.3)
    the_rules = rules(rule("r", s3("b")))
    data = tmp_path / "restart"
    first = start(inbound_factory, failing, the_rules, retries=slow, data_dir=data)
    message_id = send(first)
    first.stop()
    assert [e["status"] for e in first_entries(data)] == ["pending"]

    second = start(inbound_factory, working, the_rules, retries=slow, data_dir=data)
    until(lambda: retries(second, "?status=delivered"))
    time.sleep(0.4)  # a second delivery would be due by now
    assert len(working.stored) == 1 and working.calls == 1
    assert len(second.get("/api/s3")) == 1
    delivered = [t for t in second.trace(message_id) if t["detail"].get("status") == "Delivered"]
    assert len(delivered) == 1


def first_entries(data: Path) -> list[dict[str, Any]]:
    import sqlite3

    with sqlite3.connect(data / "inbound.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM retries")]


# ── the JSON API ────────────────────────────────────────────────────────────────────────────
def test_listing_and_manual_retry(inbound_factory) -> None:
    flaky = FlakyObjects(failures=1)
    later = RetrySettings(initial_seconds=3600, max_seconds=3600)
    server = start(inbound_factory, flaky, rules(rule("r", s3("b"))), retries=later)
    message_id = send(server)
    [pending] = server.get("/api/messages?retries=pending")
    assert pending["messageId"] == message_id
    assert server.get("/api/messages?retries=expired") == []
    [entry] = retries(server, "?status=pending")
    assert (entry["messageId"], entry["action"], entry["attempts"]) == (message_id, "S3", 1)
    assert "NoSuchBucket" in entry["lastError"]

    assert post(server, "/api/messages/nope/retry")[0] == 404
    status, body = post(server, f"/api/messages/{message_id}/retry")
    assert status == 202 and body["retries"][0]["status"] == "pending"
    settle(server)
    [entry] = retries(server)
    assert (entry["status"], entry["attempts"]) == ("delivered", 2)
    assert len(flaky.stored) == 1
    assert post(server, f"/api/messages/{message_id}/retry")[0] == 409

    with pytest.raises(urllib.error.HTTPError) as bad:
        server.get("/api/messages?retries=sometimes")
    assert bad.value.code == 400


def test_manual_retry_of_an_expired_action_sends_no_second_dsn(inbound_factory) -> None:
    flaky = FlakyObjects(failures=1)
    server = start(
        inbound_factory, flaky, rules(rule("r", s3("b"))), retries=RetrySettings(fail_fast=True)
    )
    message_id = send(server)
    assert len(server.get("/api/outbox")) == 1
    assert post(server, f"/api/messages/{message_id}/retry")[0] == 202
    settle(server)
    [entry] = retries(server)
    assert entry["status"] == "delivered"
    assert len(flaky.stored) == 1 and len(server.get("/api/outbox")) == 1


# ── configuration ───────────────────────────────────────────────────────────────────────────
def _load(tmp_path: Path, retries_table: str) -> config.Settings:
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    path = tmp_path / "inbound.toml"
    path.write_text(f"[retries]\n{retries_table}")
    return config.load(path)


def test_retries_config(tmp_path: Path) -> None:
    assert config.Settings().retries == RetrySettings()
    assert RetrySettings().window_seconds == 4 * 3600  # SES's four hours (spec §8)
    settings = _load(tmp_path, "window_seconds = 60\ninitial_seconds = 1\nmax_seconds = 5\n"
                     "fail_fast = true\n")  # fmt: skip
    assert settings.retries == RetrySettings(60.0, 1.0, 5.0, True)


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("window_seconds = 0\n", "retries.window_seconds"),
        ("initial_seconds = -1\n", "retries.initial_seconds"),
        ("initial_seconds = 10\nmax_seconds = 5\n", "retries.max_seconds"),
        ("fail_fast = 1\n", "retries.fail_fast"),
        ("attempts = 3\n", "retries.attempts"),
    ],
    ids=["window", "initial", "max-below-initial", "fail-fast-type", "unknown"],
)
def test_retries_config_errors(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, table)
    assert error.value.key == key


def test_concurrent_failures_do_not_block_each_other(inbound_factory) -> None:
    """Several messages failing at once are all retried and each delivered exactly once."""
    flaky = FlakyObjects(failures=3)
    server = start(inbound_factory, flaky, rules(rule("r", s3("b"))))
    threads = [threading.Thread(target=server.send, args=("s@sender.test", ["user@example.com"],
               message(subject=f"m{i}"))) for i in range(3)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Which message fails how often depends on timing: 3 failures in all, then none.
    until(lambda: len(flaky.stored) == 3 and not retries(server, "?status=pending"))
    assert all(e["status"] == "delivered" for e in retries(server))
    assert sorted(k for _, k, _ in flaky.stored) == sorted(
        m["messageId"] for m in server.messages()
    )


def test_retry_uses_the_snapshot_the_message_was_received_under(inbound_factory) -> None:
    flaky = FlakyObjects(failures=1)
    later = RetrySettings(initial_seconds=3600, max_seconds=3600)
    the_rules = rules(rule("r", add_header("X-Old", "1"), s3("b"), add_header("X-After", "1")))
    server = start(inbound_factory, flaky, the_rules, retries=later)
    message_id = send(server)
    ses = server.ses()  # a new active rule set: later mail only
    ses.create_receipt_rule_set(RuleSetName="new")
    ses.create_receipt_rule(
        RuleSetName="new",
        Rule={"Name": "n", "Enabled": True, "Actions": [add_header("X-New", "1"), s3("b")]},
    )
    ses.set_active_receipt_rule_set(RuleSetName="new")
    assert post(server, f"/api/messages/{message_id}/retry")[0] == 202
    settle(server)
    [body] = [b for _, key, b in flaky.stored if key == message_id]  # not the setup object
    head = body.split(b"\r\n\r\n")[0]
    assert b"X-Old: 1" in head and b"X-New" not in head and b"X-After" not in head


HANDLERS = """
import pathlib, time
HERE = pathlib.Path(__file__).parent

def flaky(event, context):
    if not (HERE / "flaky-failed").exists():
        (HERE / "flaky-failed").write_text("1")
        raise RuntimeError("first call fails")
    with (HERE / "flaky-delivered").open("a") as f:
        f.write(event["Records"][0]["ses"]["mail"]["messageId"] + "\\n")

def slow(event, context):
    if not (HERE / "slow-started").exists():
        (HERE / "slow-started").write_text(event["Records"][0]["ses"]["mail"]["messageId"])
        time.sleep(60)  # killed here, after flaky's failure was recorded
"""


def test_kill_after_a_failure_then_resume_retries_it_once(tmp_path: Path) -> None:
    """kill -9 while the message is still being processed, after an action failed: the
    resumed message finishes, and its retry is delivered exactly once."""
    import os
    import signal
    import smtplib

    from tests.receiving.test_restart import _get, _start

    flaky_arn, slow_arn = FUNCTION + "-flaky", FUNCTION + "-slow"
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "rules.json").write_text(
        json.dumps(rules(rule("r", lambda_("RequestResponse", flaky_arn),
                              lambda_("RequestResponse", slow_arn))))
    )  # fmt: skip
    config_file = tmp_path / "inbound.toml"
    config_file.write_text(
        '[identities]\nverified = ["example.com"]\n'
        "[retries]\ninitial_seconds = 0.05\nmax_seconds = 0.1\n"
        f'[lambda.functions]\n"{flaky_arn}" = "handlers.py:flaky"\n'
        f'"{slow_arn}" = "handlers.py:slow"\n'
    )
    data = tmp_path / "data"
    process, smtp_port, _ = _start(config_file, data)
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.sendmail("sender@sender.test", ["user@example.com"], message())
        message_id = (
            until(lambda: (tmp_path / "slow-started").exists())
            and (tmp_path / "slow-started").read_text()
        )
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert not (tmp_path / "flaky-delivered").exists()

    process, _, http_url = _start(config_file, data)
    try:
        until(lambda: _get(f"{http_url}/api/retries?status=delivered"))
        detail = _get(f"{http_url}/api/messages/{message_id}")
        assert detail["status"] == "done"
        [entry] = detail["retries"]
        assert (entry["status"], entry["action"]) == ("delivered", "Lambda")
        time.sleep(0.3)  # a second delivery would be due by now
        assert (tmp_path / "flaky-delivered").read_text() == f"{message_id}\n"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0


def test_a_retry_holds_its_message_s_share_of_the_memory_budget(inbound_factory) -> None:
    """A retry reads the whole message again: it waits for its share of the processing memory
    budget as a message being processed does (issue 18 item 2), so retries of large messages
    cannot add up beyond it. The whole budget is asked for during the first attempt, which
    holds the message's share: granted in turn (the budget is first come, first served) when
    that attempt ends, before the retry asks."""
    held, release = threading.Event(), threading.Event()
    holding: list[asyncio.Task[None]] = []

    class HeldAfterTheFirstCall(FlakyObjects):
        async def put_object(self, *args: Any) -> None:
            if self.calls == 0:
                holding.append(asyncio.ensure_future(hold_all()))
            await super().put_object(*args)

    async def hold_all() -> None:
        async with budget.hold(budget.total):
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.01)

    flaky = HeldAfterTheFirstCall(failures=1)
    server = start(inbound_factory, flaky, rules(rule("r", s3("b", "in/"))))
    engine = server.server.engine
    assert engine is not None
    budget = engine._memory
    send(server)  # processed: its S3 action fails, a retry is due in 0.02-0.05 s
    assert held.wait(10)
    time.sleep(0.5)
    assert flaky.calls == 1  # due, but waiting for the memory its message needs
    release.set()
    until(lambda: retries(server, "?status=delivered"))
    assert flaky.calls == 2
