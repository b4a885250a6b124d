"""The logs docs/running.md describes: one line per received and per sent message once it is
finished (rules, actions with ✓/✗, milliseconds), the access log at -v only, JSON objects with
the same fields behind --log-format json."""

from __future__ import annotations

import json
import logging
import re
import smtplib
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest

from inbound.actions import Result
from inbound.testing import RunningInbound
from tests.rulesets import message, rule, rules, s3
from tests.serving import Serve

ROOT = Path(__file__).resolve().parent.parent
CONNECT = {
    "ConnectAction": {
        "InstanceARN": "arn:aws:connect:us-east-1:123456789012:instance/"
        "11111111-2222-3333-4444-555555555555",
        "IAMRoleARN": "arn:aws:iam::123456789012:role/connect",
    }
}


def test_a_received_message_is_one_line_once_its_rules_have_run(
    inbound_factory, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(ctx: object) -> Result:
        return Result(error="the contact center is down")

    server: RunningInbound = inbound_factory(
        rules(rule("keep", s3("bucket")), rule("call", CONNECT)),
        executors={"ConnectAction": failing},
    )
    caplog.set_level(logging.INFO, logger="inbound.mail")
    server.send("sender@sender.test", ["user@example.com", "b@example.com"], message())
    [received] = server.messages()
    [line] = [r for r in caplog.records if r.name == "inbound.mail"]
    text = line.getMessage()
    assert text.startswith(
        f"received {received['messageId']} sender@sender.test → user@example.com, b@example.com  "
    )
    assert "  rules: keep, call  actions: S3 ✓, Connect ✗  " in text
    assert re.search(r"  \d+ ms$", text)
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["size"] == received["size"]
    assert fields["actions"] == [
        {"rule": "keep", "action": "S3", "ok": True},
        {"rule": "call", "action": "Connect", "ok": False},
    ]


def test_an_embedded_server_builds_no_line_when_nobody_listens(
    inbound_factory, caplog: pytest.LogCaptureFixture
) -> None:
    server: RunningInbound = inbound_factory(rules(rule("keep", s3("bucket"))))
    caplog.set_level(logging.WARNING)
    server.send("sender@sender.test", ["user@example.com"], message())
    server.messages()
    assert not [r for r in caplog.records if r.name == "inbound.mail"]


class _Serve(Serve):
    def lines(self, pattern: str, count: int) -> list[str]:
        """Stop the server once it logged `count` lines matching `pattern`; all its lines."""
        for _ in range(200):
            text = self.log.read_text(encoding="utf-8")
            if len(re.findall(pattern, text)) >= count:
                break
            subprocess.run(["sleep", "0.05"], check=True)
        self.process.terminate()
        self.process.wait(timeout=30)
        return self.log.read_text(encoding="utf-8").splitlines()


def _traffic(server: _Serve) -> None:
    with smtplib.SMTP("127.0.0.1", server.smtp_port) as client:
        client.sendmail("a@sender.test", ["hello@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
    urllib.request.urlopen(server.http_url + "/api/stats", timeout=30).read()
    ses = boto3.client("ses", endpoint_url=server.http_url, region_name="us-east-1",
                       aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="secret")  # fmt: skip
    ses.send_email(
        Source="me@example.com",
        Destination={"ToAddresses": ["bounce@simulator.amazonses.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}},
    )


def test_json_logs_carry_the_same_fields_and_the_access_log_comes_with_v(tmp_path: Path) -> None:
    server = _Serve(tmp_path, "-v", "--log-format", "json")
    _traffic(server)
    lines = [json.loads(line) for line in server.lines('"event":"sent"', 1)]  # each is JSON
    [received] = [e for e in lines if e.get("event") == "received" and e["from"] == "a@sender.test"]
    assert received["to"] == ["hello@example.com"]
    assert received["rules"] == ["catch-all"]
    assert [a["ok"] for a in received["actions"]] == [True, True, True]
    assert received["logger"] == "inbound.mail" and received["level"] == "info"
    assert isinstance(received["ms"], float) and received["size"] > 0
    [sent] = [e for e in lines if e.get("event") == "sent"]
    assert sent["from"] == "me@example.com" and sent["operation"] == "SendEmail"
    assert sent["delivery"] == [
        {"recipient": "bounce@simulator.amazonses.com", "route": "simulator", "events": ["Bounce"]}
    ]
    [stats] = [e for e in lines if e.get("event") == "http" and e["path"] == "/api/stats"]
    assert stats["method"] == "GET" and stats["status"] == 200 and stats["remote"] == "127.0.0.1"


def test_the_default_level_shows_message_lines_and_no_access_log(tmp_path: Path) -> None:
    server = _Serve(tmp_path)
    _traffic(server)
    lines = server.lines(r"INFO inbound\.mail: sent ", 1)
    assert [line for line in lines if "inbound.mail: received" in line]
    assert not [line for line in lines if "inbound.access" in line]
    [sent] = [line for line in lines if "inbound.mail: sent" in line]
    assert "SendEmail done  bounce@simulator.amazonses.com: Bounce  " in sent


def _stderr_of_logging(statements: str) -> str:
    """What a process set up as `inbound serve` logs (logs.setup, text) writes to stderr
    while it runs `statements`, with `w` the warning method of the logger `inbound.x`."""
    script = (
        "import logging; from inbound import logs; logs.setup(verbose=False, form='text'); "
        f"w = logging.getLogger('inbound.x').warning; {statements}"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stderr


def test_every_line_is_written_in_order_before_the_process_ends() -> None:
    """Lines are written by a thread of their own (logs.setup): none is lost at exit."""
    stderr = _stderr_of_logging("[w('line %d', n) for n in range(2000)]")
    numbers = [int(line.rpartition(" ")[2]) for line in stderr.splitlines()]
    assert numbers == list(range(2000))


def test_a_line_that_cannot_be_formatted_does_not_take_the_others_with_it() -> None:
    """The writing thread formats what has gathered and writes it at once (logs._HandOver):
    a record whose arguments do not fit its format is reported as logging reports it, and the
    lines queued before and after it are written."""
    stderr = _stderr_of_logging("w('before'); w('broken %d', 'x'); w('after')")
    lines = stderr.splitlines()
    assert [line.rpartition(": ")[2] for line in lines if "inbound.x:" in line] == [
        "before",
        "after",
    ]
    assert "--- Logging error ---" in stderr
    assert "%d format: a real number is required, not str" in stderr
