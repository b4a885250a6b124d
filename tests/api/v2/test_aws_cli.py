"""The real AWS CLI (`python -m awscli sesv2`), signatures verified: a v2 client unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from inbound.testing import RunningInbound

KEY, SECRET = "AKIDCLI", "cli-secret"


def aws(running: RunningInbound, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_PAGER": "",
    }
    env.pop("AWS_PROFILE", None)
    command = [
        sys.executable, "-m", "awscli", "sesv2", *args, "--endpoint-url", running.api_url,
    ]  # fmt: skip
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_aws_cli_sesv2(inbound_factory: Any, tmp_path: Path) -> None:
    running = inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})
    done = aws(running, tmp_path, "create-email-identity", "--email-identity", "cli.test")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["IdentityType"] == "DOMAIN"

    done = aws(running, tmp_path, "list-email-identities", "--output", "json")
    assert done.returncode == 0, done.stderr
    names = [i["IdentityName"] for i in json.loads(done.stdout)["EmailIdentities"]]
    assert "cli.test" in names

    done = aws(running, tmp_path, "get-email-identity", "--email-identity", "nope.test")
    assert done.returncode == 255
    assert (
        "An error occurred (NotFoundException) when calling the GetEmailIdentity operation: "
        "Email identity <nope.test> does not exist."
    ) in done.stderr
