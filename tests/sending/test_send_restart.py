"""A message whose Send* call got its MessageId survives a kill -9 right after the reply."""

from __future__ import annotations

import os
import signal
import urllib.request
from email import message_from_bytes, policy
from pathlib import Path

import boto3
from botocore.config import Config

from tests.receiving.test_restart import _get, _start


def test_sent_message_survives_kill_after_the_reply(tmp_path: Path) -> None:
    config = tmp_path / "inbound.toml"
    config.write_text('[identities]\nverified = ["example.com"]\n')
    (tmp_path / "rules.json").write_text('{"RuleSets": []}')
    data = tmp_path / "data"
    process, _, http_url = _start(config, data)
    try:
        ses = boto3.client(
            "ses",
            endpoint_url=http_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        message_id = ses.send_email(
            Source="sender@example.com",
            Destination={"ToAddresses": ["user@example.com"]},
            Message={"Subject": {"Data": "durable"}, "Body": {"Text": {"Data": "kept"}}},
        )["MessageId"]
    finally:
        os.kill(process.pid, signal.SIGKILL)  # no shutdown: only what was fsynced remains
        process.wait()

    process, _, http_url = _start(config, data)
    try:
        [sent] = _get(f"{http_url}/api/sent")
        assert (sent["messageId"], sent["status"]) == (message_id, "accepted")
        with urllib.request.urlopen(f"{http_url}/api/sent/{message_id}/raw", timeout=10) as got:
            message = message_from_bytes(got.read(), policy=policy.default)
        assert message["Subject"] == "durable"
        assert message["Message-ID"] == f"<{message_id}@email.amazonses.com>"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
