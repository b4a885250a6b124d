"""Export jobs through the AWS S3 backend (a moto server): the file is written with
`put_object` where the job says, and a bucket that does not exist fails the job."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from inbound.config import SendingSettings
from inbound.testing import RunningInbound
from tests.api.v2.conftest import FAST, client
from tests.api.v2.vdm import VDM_ON, end_of_today, send, settled, today
from tests.aws.conftest import Moto


def test_an_export_file_is_put_to_s3(
    inbound_factory: Callable[..., RunningInbound], moto_server: Moto
) -> None:
    server = inbound_factory(
        verified=["example.com"],
        sending=SendingSettings(**{**FAST.__dict__, "production": True}),
        backends=moto_server.backends("s3"),
    )
    bucket = moto_server.bucket()
    v2 = client(server)
    v2.put_account_vdm_attributes(VdmAttributes=VDM_ON)
    message_id = send(v2, "someone@elsewhere.test")
    settled(server)
    span = {"StartDate": today(), "EndDate": end_of_today()}
    job_id = v2.create_export_job(
        ExportDataSource={"MessageInsightsDataSource": span},
        ExportDestination={"DataFormat": "CSV", "S3Url": f"s3://{bucket}/exports/vdm.csv"},
    )["JobId"]
    job = v2.get_export_job(JobId=job_id)
    assert job["JobStatus"] == "COMPLETED"
    assert job["ExportDestination"]["S3Url"] == f"s3://{bucket}/exports/vdm.csv"
    body = moto_server.client("s3").get_object(Bucket=bucket, Key="exports/vdm.csv")["Body"]
    [row] = csv.DictReader(io.StringIO(body.read().decode()))
    assert (row["MessageId"], row["Destination"], row["LastDeliveryEvent"]) == (
        message_id,
        "someone@elsewhere.test",
        "DELIVERY",
    )
    # the managed bucket does not exist on this S3: the job fails and says why
    job_id = v2.create_export_job(
        ExportDataSource={"MessageInsightsDataSource": span},
        ExportDestination={"DataFormat": "JSON"},
    )["JobId"]
    job = v2.get_export_job(JobId=job_id)
    assert job["JobStatus"] == "FAILED"
    assert "NoSuchBucket" in job["FailureInfo"]["ErrorMessage"]
