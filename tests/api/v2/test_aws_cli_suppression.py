"""The AWS CLI's `sesv2` suppression-list commands, typed as the Developer Guide's "Using the
Amazon SES account-level suppression list" types them, signatures verified."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.conftest import KEY, SECRET
from tests.api.test_aws_cli import run_aws
from tests.api.v2.test_import_jobs import upload


def test_the_guide_s_commands(inbound_factory: Any, tmp_path: Path) -> None:
    running = inbound_factory(api_auth="verify", api_credentials={KEY: SECRET})

    def aws(*args: str) -> Any:
        done = run_aws(running.api_url, tmp_path, "sesv2", *args, "--output", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    aws("put-account-suppression-attributes", "--suppressed-reasons", "BOUNCE", "COMPLAINT")
    reasons = aws("get-account")["SuppressionAttributes"]["SuppressedReasons"]
    assert reasons == ["BOUNCE", "COMPLAINT"]
    aws(
        "put-suppressed-destination",
        "--email-address",
        "recipient@example.com",
        "--reason",
        "BOUNCE",
    )
    got = aws("get-suppressed-destination", "--email-address", "recipient@example.com")
    assert got["SuppressedDestination"]["Reason"] == "BOUNCE"

    url = upload(
        running, "bulk.csv", b"recipient1@example.com,BOUNCE\nrecipient2@example.com,COMPLAINT\n"
    )
    job = aws(
        "create-import-job",
        "--import-destination",
        "SuppressionListDestination={SuppressionListImportAction=PUT}",
        "--import-data-source",
        f"S3Url={url},DataFormat=CSV",
    )
    assert aws("get-import-job", "--job-id", job["JobId"])["JobStatus"] == "COMPLETED"
    summaries = aws("list-suppressed-destinations")["SuppressedDestinationSummaries"]
    assert sorted(s["EmailAddress"] for s in summaries) == [
        "recipient1@example.com",
        "recipient2@example.com",
        "recipient@example.com",
    ]
    aws("delete-suppressed-destination", "--email-address", "recipient@example.com")
    done = run_aws(
        running.api_url,
        tmp_path,
        "sesv2",
        "get-suppressed-destination",
        "--email-address",
        "recipient@example.com",
    )
    assert done.returncode == 255
    assert (
        "An error occurred (NotFoundException) when calling the GetSuppressedDestination "
        "operation: Email address recipient@example.com does not exist on your suppression list."
    ) in done.stderr
