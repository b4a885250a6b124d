"""Smoke test: `aws ses send-email` (the real AWS CLI v1) against the running server."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from inbound.testing import RunningInbound
from tests.api.test_aws_cli import aws


def test_aws_cli_send_email(server: RunningInbound, tmp_path: Path) -> None:
    done = aws(
        SimpleNamespace(url=server.api_url),  # type: ignore[arg-type]
        tmp_path,
        "send-email",
        "--from", "sender@example.com",
        "--destination", "ToAddresses=user@example.com",
        "--message", "Subject={Data=From the CLI},Body={Text={Data=Hello}}",
        "--region", "us-east-1",
        "--output", "json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    message_id = json.loads(done.stdout)["MessageId"]
    [sent] = server.sent()
    assert sent["messageId"] == message_id
    assert sent["message"]["Subject"] == "From the CLI"
    assert sent["message"].get_content() == "Hello\r\n"
