"""Import jobs into the account-level suppression list through boto3 `sesv2`: the data source
an object of the embedded S3 backend in SES's CSV and JSON formats, each job read back through
GetImportJob and ListImportJobs, and what it did through the list's own operations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error
from tests.api.v2.test_suppression import listed

PUT = {"SuppressionListDestination": {"SuppressionListImportAction": "PUT"}}
DELETE = {"SuppressionListDestination": {"SuppressionListImportAction": "DELETE"}}


def upload(server: RunningInbound, key: str, body: bytes) -> str:
    """`body` as the object `imports/<key>` of the embedded S3 backend; its s3:// URL."""
    backends = server.server.backends
    assert backends is not None
    server.call(backends.objects.put_object("imports", key, body, {}, "import"))
    return f"s3://imports/{key}"


def run(v2: Any, destination: dict, url: str, data_format: str) -> dict[str, Any]:
    job_id = v2.create_import_job(
        ImportDestination=destination,
        ImportDataSource={"S3Url": url, "DataFormat": data_format},
    )["JobId"]
    job = v2.get_import_job(JobId=job_id)
    assert job["JobId"] == job_id
    return job  # type: ignore[no-any-return]


def on_list(v2: Any) -> dict[str, str]:
    return {s["EmailAddress"]: s["Reason"] for s in listed(v2)}


def test_a_csv_puts_then_another_deletes(server: RunningInbound, v2: Any) -> None:
    csv = (
        b"emailAddress,reason\r\n"
        b"one@example.net,BOUNCE\r\n"
        b"Two@Example.NET,COMPLAINT\r\n"
        b"\r\n"
        b"not-an-address,BOUNCE\r\n"
        b"three@example.net,SPAM\r\n"
        b"four@example.net\r\n"
    )
    job = run(v2, PUT, upload(server, "put.csv", csv), "CSV")
    assert job["JobStatus"] == "COMPLETED"
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (5, 3)
    assert job["ImportDestination"] == PUT
    assert job["ImportDataSource"] == {"S3Url": "s3://imports/put.csv", "DataFormat": "CSV"}
    assert job["CreatedTimestamp"] <= job["CompletedTimestamp"]
    assert "FailureInfo" not in job
    assert on_list(v2) == {"one@example.net": "BOUNCE", "Two@example.net": "COMPLAINT"}
    job = run(
        v2, DELETE, upload(server, "delete.csv", b"one@example.net\nnobody@example.net\n"), "CSV"
    )
    assert (job["JobStatus"], job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (
        "COMPLETED",
        2,
        0,
    )
    assert on_list(v2) == {"Two@example.net": "COMPLAINT"}


def test_newline_delimited_json(server: RunningInbound, v2: Any) -> None:
    lines = [
        {"emailAddress": "a@example.net", "reason": "BOUNCE"},
        {"emailAddress": "b@example.net", "reason": "COMPLAINT"},
        {"emailAddress": "c@example.net"},
        ["not", "an", "object"],
    ]
    body = "\n".join(json.dumps(x) for x in lines).encode() + b"\n{broken\n"
    job = run(v2, PUT, upload(server, "put.json", body), "JSON")
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (5, 3)
    assert on_list(v2) == {"a@example.net": "BOUNCE", "b@example.net": "COMPLAINT"}
    body = json.dumps({"emailAddress": "a@example.net"}).encode()
    run(v2, DELETE, upload(server, "delete.json", body), "JSON")
    assert on_list(v2) == {"b@example.net": "COMPLAINT"}


def test_a_missing_object_fails_the_job(v2: Any) -> None:
    job = run(v2, PUT, "s3://imports/nothing-here.csv", "CSV")
    assert job["JobStatus"] == "FAILED"
    assert job["FailureInfo"] == {
        "ErrorMessage": "Failed to read the data source s3://imports/nothing-here.csv."
    }
    assert (job["ProcessedRecordsCount"], job["FailedRecordsCount"]) == (0, 0)


def test_more_than_ten_thousand_deletions_fail_the_job(server: RunningInbound, v2: Any) -> None:
    v2.put_suppressed_destination(EmailAddress="kept@example.net", Reason="BOUNCE")
    body = b"".join(b"a%d@example.net\n" % i for i in range(10_000)) + b"kept@example.net\n"
    job = run(v2, DELETE, upload(server, "many.csv", body), "CSV")
    assert job["JobStatus"] == "FAILED"
    assert job["FailureInfo"]["ErrorMessage"] == "More than 10000 records in one job."
    assert on_list(v2) == {"kept@example.net": "BOUNCE"}  # nothing done


def test_jobs_are_listed_oldest_first_a_page_at_a_time(server: RunningInbound, v2: Any) -> None:
    url = upload(server, "one.csv", b"x@example.net,BOUNCE\n")
    made = [run(v2, PUT, url, "CSV")["JobId"] for _ in range(3)]
    found, token = [], None
    for _ in range(5):
        page = v2.list_import_jobs(PageSize=2, **({"NextToken": token} if token else {}))
        found.extend(page["ImportJobs"])
        token = page.get("NextToken")
        if not token:
            break
    assert [j["JobId"] for j in found] == made
    summary = v2.meta.service_model.shape_for("ImportJobSummary").members
    assert set(found[0]) == set(summary)  # every member of the model's summary
    assert len(v2.list_import_jobs(ImportDestinationType="SUPPRESSION_LIST")["ImportJobs"]) == 3
    assert v2.list_import_jobs(ImportDestinationType="CONTACT_LIST")["ImportJobs"] == []


@pytest.mark.parametrize(
    ("destination", "source", "message"),
    [
        (
            {"ContactListDestination": {"ContactListName": "l", "ContactListImportAction": "PUT"}},
            {"S3Url": "s3://imports/a.csv", "DataFormat": "CSV"},
            "ContactListDestination is not supported: import jobs import into the suppression"
            " list (SuppressionListDestination) only.",
        ),
        (
            {},
            {"S3Url": "s3://imports/a.csv", "DataFormat": "CSV"},
            "ImportDestination must contain a SuppressionListDestination.",
        ),
        (
            PUT,
            {"S3Url": "https://imports.s3.amazonaws.com/a.csv", "DataFormat": "CSV"},
            "Invalid S3 URL: https://imports.s3.amazonaws.com/a.csv. Use s3://<bucket>/<key>.",
        ),
        (
            PUT,
            {"S3Url": "s3://imports/a.csv", "DataFormat": "XML"},
            "1 validation error detected: Value 'XML' at 'importDataSource.dataFormat' failed to"
            " satisfy constraint: Member must satisfy enum value set: [CSV, JSON]",
        ),
    ],
    ids=["contact-list", "no-destination", "not-s3", "format"],
)
def test_refused_jobs(
    server: RunningInbound, destination: dict, source: dict, message: str
) -> None:
    raw = client(server, validate=False)
    assert error(raw.create_import_job, ImportDestination=destination, ImportDataSource=source) == (
        "BadRequestException",
        400,
        message,
    )
    assert raw.list_import_jobs()["ImportJobs"] == []


def test_an_unknown_job_is_not_found(v2: Any) -> None:
    assert error(v2.get_import_job, JobId="0b6e8d1c-0000-4000-8000-000000000000") == (
        "NotFoundException",
        404,
        "Import job <0b6e8d1c-0000-4000-8000-000000000000> does not exist.",
    )
