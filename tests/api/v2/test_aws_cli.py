"""The real AWS CLI (`python -m awscli sesv2`), signatures verified: a v2 client unchanged.

AWS CLI 1.x carries its own copy of the sesv2 model, one where ListEmailIdentities is still
`GET /v2/email/identities`: the earlier route must answer too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.conftest import KEY, SECRET
from tests.api.test_aws_cli import run_aws


def test_aws_cli_sesv2(inbound_factory: Any, tmp_path: Path) -> None:
    running = inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})
    url = running.api_url
    done = run_aws(url, tmp_path, "sesv2", "create-email-identity", "--email-identity", "cli.test")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["IdentityType"] == "DOMAIN"

    done = run_aws(url, tmp_path, "sesv2", "list-email-identities", "--output", "json")
    assert done.returncode == 0, done.stderr
    names = [i["IdentityName"] for i in json.loads(done.stdout)["EmailIdentities"]]
    assert "cli.test" in names

    done = run_aws(url, tmp_path, "sesv2", "get-email-identity", "--email-identity", "nope.test")
    assert done.returncode == 255
    assert (
        "An error occurred (NotFoundException) when calling the GetEmailIdentity operation: "
        "Email identity <nope.test> does not exist."
    ) in done.stderr
