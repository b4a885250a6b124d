"""Export jobs through boto3 `sesv2`, after real sends: CreateExportJob writes VDM's metrics or
message insights as CSV or JSON through the embedded S3 backend, read back with the stdlib's
csv and json parsers; Get/List/Cancel and their errors."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest

from inbound.testing import RunningInbound
from tests.api.v2.conftest import client, error
from tests.api.v2.vdm import SIM, VDM_ON, end_of_today, send, settled, today


def _file(server: RunningInbound, url: str) -> bytes:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    found = server.get(f"/api/s3/{bucket}/{key}")
    return found if isinstance(found, bytes) else json.dumps(found).encode()


def _span() -> dict[str, Any]:
    return {"StartDate": today() - timedelta(days=1), "EndDate": end_of_today()}


def _sent(server: RunningInbound) -> Any:
    v2 = client(server)
    v2.create_configuration_set(ConfigurationSetName="news")
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    send(v2, "someone@elsewhere.test", ConfigurationSetName="news")
    send(v2, "friend@gmail.com")
    send(v2, "gone@example.com")  # bounced by its receipt rule
    send(v2, f"complaint@{SIM}")
    send(v2, f"bounce@{SIM}")
    settled(server)
    return v2


def test_a_metrics_export_is_a_csv_file_of_daily_rows(vdm_server: RunningInbound) -> None:
    v2 = _sent(vdm_server)
    source = {
        "MetricsDataSource": {
            "Namespace": "VDM",
            "Dimensions": {"ISP": ["*"]},
            "Metrics": [
                {"Name": "SEND", "Aggregation": "VOLUME"},
                {"Name": "PERMANENT_BOUNCE", "Aggregation": "VOLUME"},
                {"Name": "PERMANENT_BOUNCE", "Aggregation": "RATE"},
            ],
            **_span(),
        }
    }
    job_id = v2.create_export_job(ExportDataSource=source, ExportDestination={"DataFormat": "CSV"})[
        "JobId"
    ]
    job = v2.get_export_job(JobId=job_id)
    assert (job["JobStatus"], job["ExportSourceType"]) == ("COMPLETED", "METRICS_DATA")
    assert job["ExportDataSource"]["MetricsDataSource"]["Dimensions"] == {"ISP": ["*"]}
    assert job["CompletedTimestamp"] >= job["CreatedTimestamp"]
    url = job["ExportDestination"]["S3Url"]
    assert url == f"s3://ses-export-jobs/{vdm_server.settings.region}/{job_id}.csv"
    rows = list(csv.DictReader(io.StringIO(_file(vdm_server, url).decode())))
    day, before = today().date().isoformat(), (today() - timedelta(days=1)).date().isoformat()
    assert [(r["Timestamp"], r["ISP"], r["SEND_VOLUME"]) for r in rows] == [
        (before, "Gmail", "0"),
        (before, "Other", "0"),
        (day, "Gmail", "1"),
        (day, "Other", "2"),  # the simulator is left out
    ]
    other = rows[-1]
    assert (other["PERMANENT_BOUNCE_VOLUME"], other["PERMANENT_BOUNCE_RATE"]) == ("1", "0.5")
    assert job["Statistics"] == {"ProcessedRecordsCount": 5, "ExportedRecordsCount": 4}


def test_a_message_insights_export_is_a_json_file_filtered(vdm_server: RunningInbound) -> None:
    v2 = _sent(vdm_server)
    source = {
        "MessageInsightsDataSource": {
            **_span(),
            "Exclude": {"Isp": ["Gmail"]},
            "Include": {"LastDeliveryEvent": ["DELIVERY", "PERMANENT_BOUNCE", "COMPLAINT"]},
        }
    }
    job_id = v2.create_export_job(
        ExportDataSource=source, ExportDestination={"DataFormat": "JSON"}
    )["JobId"]
    job = v2.get_export_job(JobId=job_id)
    assert job["JobStatus"] == "COMPLETED"
    rows = json.loads(_file(vdm_server, job["ExportDestination"]["S3Url"]))
    assert [(r["Destination"], r["Isp"], r["LastDeliveryEvent"]) for r in rows] == [
        ("someone@elsewhere.test", "Other", "DELIVERY"),
        ("gone@example.com", "Other", "DELIVERY"),  # "BOUNCE < DELIVERY": delivered here first
        (f"complaint@{SIM}", "Other", "COMPLAINT"),
        (f"bounce@{SIM}", "Other", "PERMANENT_BOUNCE"),
    ]
    assert rows[0]["Subject"] == "Hello" and rows[0]["FromEmailAddress"] == "sender@example.com"
    assert job["Statistics"] == {"ProcessedRecordsCount": 5, "ExportedRecordsCount": 4}
    limited = {"MessageInsightsDataSource": {**_span(), "MaxResults": 1}}
    job_id = v2.create_export_job(
        ExportDataSource=limited, ExportDestination={"DataFormat": "JSON"}
    )["JobId"]
    url = v2.get_export_job(JobId=job_id)["ExportDestination"]["S3Url"]
    assert len(json.loads(_file(vdm_server, url))) == 1


def test_an_s3_url_given_is_where_the_file_goes(vdm_server: RunningInbound) -> None:
    v2 = _sent(vdm_server)
    source = {"MessageInsightsDataSource": _span()}
    job_id = v2.create_export_job(
        ExportDataSource=source,
        ExportDestination={"DataFormat": "CSV", "S3Url": "s3://reports/vdm/"},
    )["JobId"]
    url = v2.get_export_job(JobId=job_id)["ExportDestination"]["S3Url"]
    assert url == f"s3://reports/vdm/{job_id}.csv"
    header = _file(vdm_server, url).decode().split("\r\n")[0]
    assert header == (
        "MessageId,Timestamp,FromEmailAddress,Subject,Destination,Isp,LastDeliveryEvent,"
        "LastEngagementEvent,EmailTags"
    )


def test_jobs_are_listed_filtered_and_paged(vdm_server: RunningInbound) -> None:
    v2 = _sent(vdm_server)
    metrics = {
        "MetricsDataSource": {
            "Namespace": "VDM",
            "Dimensions": {"CONFIGURATION_SET": ["news"]},
            "Metrics": [{"Name": "SEND", "Aggregation": "VOLUME"}],
            **_span(),
        }
    }
    insights = {"MessageInsightsDataSource": _span()}
    ids = [
        v2.create_export_job(ExportDataSource=s, ExportDestination={"DataFormat": "CSV"})["JobId"]
        for s in (metrics, insights, insights)
    ]
    listed = v2.list_export_jobs()["ExportJobs"]
    assert [j["JobId"] for j in listed] == ids
    assert {j["JobStatus"] for j in listed} == {"COMPLETED"}
    only = v2.list_export_jobs(ExportSourceType="MESSAGE_INSIGHTS")["ExportJobs"]
    assert [j["JobId"] for j in only] == ids[1:]
    assert v2.list_export_jobs(JobStatus="CANCELLED")["ExportJobs"] == []
    first = v2.list_export_jobs(PageSize=2)
    second = v2.list_export_jobs(PageSize=2, NextToken=first["NextToken"])
    assert [j["JobId"] for j in first["ExportJobs"] + second["ExportJobs"]] == ids


def test_without_vdm_a_job_fails(vdm_server: RunningInbound) -> None:
    v2 = client(vdm_server)
    job_id = v2.create_export_job(
        ExportDataSource={"MessageInsightsDataSource": _span()},
        ExportDestination={"DataFormat": "CSV"},
    )["JobId"]
    job = v2.get_export_job(JobId=job_id)
    assert job["JobStatus"] == "FAILED"
    assert job["FailureInfo"] == {
        "ErrorMessage": "Virtual Deliverability Manager is not enabled for this account."
    }
    assert "S3Url" not in job["ExportDestination"]


def test_a_finished_job_cannot_be_cancelled_and_a_missing_one_does_not_exist(
    vdm_server: RunningInbound,
) -> None:
    v2 = _sent(vdm_server)
    job_id = v2.create_export_job(
        ExportDataSource={"MessageInsightsDataSource": _span()},
        ExportDestination={"DataFormat": "CSV"},
    )["JobId"]
    assert error(v2.cancel_export_job, JobId=job_id) == (
        "BadRequestException",
        400,
        f"Export job <{job_id}> is COMPLETED and can no longer be cancelled.",
    )
    for call in (v2.get_export_job, v2.cancel_export_job):
        assert error(call, JobId="nope") == (
            "NotFoundException",
            404,
            "Export job <nope> does not exist.",
        )


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({}, "ExportDataSource must contain exactly one of"),
        (
            {
                "MessageInsightsDataSource": {
                    "StartDate": today(),
                    "EndDate": today() - timedelta(days=1),
                }
            },
            "EndDate must be later than StartDate.",
        ),
    ],
)
def test_a_bad_data_source_is_refused(v2: Any, source: dict[str, Any], message: str) -> None:
    code, status, text = error(
        v2.create_export_job, ExportDataSource=source, ExportDestination={"DataFormat": "CSV"}
    )
    assert (code, status) == ("BadRequestException", 400)
    assert text.startswith(message)
    assert v2.list_export_jobs()["ExportJobs"] == []
