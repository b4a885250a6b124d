"""Smoke test: the real AWS CLI v1 (`python -m awscli`), signatures verified (§7, §10.15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from inbound.errors import RuleSetDoesNotExist
from tests.api.conftest import KEY, SECRET, Ses


def run_aws(url: str, home: Path, service: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m awscli <service> <args> --endpoint-url <url>` with the test's credentials
    and nothing of the user's configuration."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": str(home / "config"),  # absent: nothing of the user's leaks in
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    command = [sys.executable, "-m", "awscli", service, *args, "--endpoint-url", url]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def aws(ses: Ses, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_aws(ses.url, home, "ses", *args)


def test_aws_cli_v1_success_error_and_binary_upload(ses: Ses, tmp_path: Path) -> None:
    ses.handle("GetSendQuota", {"Max24HourSend": 200, "MaxSendRate": 1, "SentLast24Hours": 0})
    ses.handle(
        "DescribeReceiptRuleSet", RuleSetDoesNotExist("Rule set does not exist: nope", Name="nope")
    )
    ses.handle("SendRawEmail", {"MessageId": "0000014a-f4d4-4f89-93b9-00c2f7d12345-000000"})

    done = aws(ses, tmp_path, "get-send-quota", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "Max24HourSend": 200.0,
        "MaxSendRate": 1.0,
        "SentLast24Hours": 0.0,
    }
    assert ses.calls[0][1].region == "eu-west-1"

    done = aws(ses, tmp_path, "describe-receipt-rule-set", "--rule-set-name", "nope")
    assert done.returncode == 255
    assert (
        "An error occurred (RuleSetDoesNotExist) when calling the DescribeReceiptRuleSet "
        "operation: Rule set does not exist: nope"
    ) in done.stderr

    # CLI v1 takes a blob inside a structure as text (its shorthand `Data=fileb://…` sends the
    # literal string): the UTF-8 bytes must arrive as bytes, unchanged.
    raw = "Subject: café\r\n\r\nbody & <b>\r\n"
    done = aws(ses, tmp_path, "send-raw-email", "--raw-message", json.dumps({"Data": raw}))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["MessageId"].endswith("-000000")
    assert ses.calls[-1][2]["RawMessage"]["Data"] == raw.encode()
