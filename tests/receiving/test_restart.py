"""Accepted mail survives a kill -9 between `250` and the end of processing (issue item 7)."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.rulesets import FUNCTION, lambda_, message, rule, rules, s3, sns

HANDLER = """
import pathlib, time
MARKER = pathlib.Path(__file__).with_name("started")

def handle(event, context):
    if not MARKER.exists():
        # renamed into place: the test reads the marker as soon as it exists
        written = MARKER.with_name("started.tmp")
        written.write_text(event["Records"][0]["ses"]["mail"]["messageId"])
        written.rename(MARKER)
        time.sleep(60)  # killed here, mid-action
    return {"disposition": "CONTINUE"}
"""


def _start(config: Path, data: Path) -> tuple[subprocess.Popen[str], int, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "inbound", "serve", "--config", str(config),
         "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--submission", "127.0.0.1:0",
         "--data", str(data)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    smtp_port = http_url = None
    assert process.stdout is not None
    while smtp_port is None or http_url is None:
        line = process.stdout.readline()
        assert line, "server exited before printing its addresses"
        if found := re.search(r"SMTP on 127\.0\.0\.1:(\d+)", line):
            smtp_port = int(found.group(1))
        if found := re.search(r"HTTP on (http://\S+)", line):
            http_url = found.group(1)
    return process, smtp_port, http_url


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.parametrize(
    "body",
    ["Hello there.\r\n", ("x" * 998 + "\r\n") * 3000],  # the second, 3 MB: spooled as a file
    ids=["in-the-spool-table", "spooled-to-a-file"],
)
def test_kill_after_250_resumes_without_repeating_completed_actions(
    tmp_path: Path, body: str, store_url: str
) -> None:
    """On both stores (`store_url`): SQLite in the data dir, and PostgreSQL, which keeps the
    large body in its row too."""
    (tmp_path / "handler.py").write_text(HANDLER)
    (tmp_path / "rules.json").write_text(
        json.dumps(rules(rule("r", s3("b", "mail/"), lambda_("RequestResponse"), sns())))
    )
    config = tmp_path / "inbound.toml"
    config.write_text(
        '[identities]\nverified = ["example.com"]\n'
        f'[lambda.functions]\n"{FUNCTION}" = "handler.py:handle"\n'
        f'[store]\nurl = "{store_url}"\n'
    )
    data = tmp_path / "data"
    process, smtp_port, _ = _start(config, data)
    try:
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.sendmail("sender@sender.test", ["user@example.com"], message(body=body))
        marker = tmp_path / "started"
        for _ in range(600):  # 30 s: a busy machine starts the Lambda worker process slowly
            if marker.exists():
                break
            time.sleep(0.05)
        message_id = marker.read_text()
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    process, _, http_url = _start(config, data)
    try:
        for _ in range(600):
            if _get(f"{http_url}/api/stats")["pending"] == 0:
                break
            time.sleep(0.05)
        detail = _get(f"{http_url}/api/messages/{message_id}")
        steps = [t["action"] for t in detail["trace"] if t["kind"] == "action"]
        assert detail["status"] == "done"
        assert steps == ["S3", "Lambda", "SNS"]  # S3 was done before the kill: not repeated
        [stored] = _get(f"{http_url}/api/s3")
        written = (data / "s3" / stored["bucket"] / stored["key"]).read_bytes()
        assert written.endswith(b"\r\n" + message(body=body))
        as_file = len(body) > 2 * 1024 * 1024 and not store_url
        assert (data / "spool" / message_id).exists() == as_file
        notified = _get(f"{http_url}/api/notifications")
        assert len(notified) == (len(body) < 150 * 1024)  # SNS bounces the big one
        invocations = _get(f"{http_url}/api/lambda")
        assert len(invocations) == 2  # the killed one never answered; the resumed one did
        assert [i["response"] for i in invocations].count({"disposition": "CONTINUE"}) == 1
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0  # SIGTERM stops cleanly
