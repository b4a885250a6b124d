"""Export jobs: CreateExportJob writes VDM's metrics or message insights (`sending/exports.py`)
as a CSV or JSON file through the engine's S3 backend (embedded or AWS), and Get/List/Cancel
read the jobs, kept per Region in store documents (`sending.export-jobs`).

SES runs a job asynchronously; here the file is written before CreateExportJob answers (the
job is stored CREATED first, so a kill midway leaves a job that never completed), so a job is
COMPLETED (or FAILED, with `FailureInfo`) by the time its id is returned. SES writes the file
"to a location that it manages"; here that is the bucket `EXPORT_BUCKET`, unless the request
names an `S3Url` as earlier versions of the API took it. Decisions: docs/behaviour.md."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest
from inbound.api.v2.operations import insights as vdm
from inbound.backends import BackendError
from inbound.backends.local_s3 import EXPORT_BUCKET  # the "location that it manages" (DECIDED)
from inbound.sending import configuration as state
from inbound.sending import exports, insights
from inbound.timestamps import to_wire

Params = dict[str, Any]
JOBS = state.EXPORT_JOBS
MAX_JOBS = 1000  # kept per Region (DECIDED); older ones are not deleted for you
MAX_PAGE = 100  # ListExportJobs PageSize (DECIDED)


def _location(job_id: str, region: str, destination: Params) -> tuple[str, str]:
    """(bucket, key) of the file: the request's `s3://bucket/key` (a key ending in `/` is a
    prefix for `<JobId>.<format>`), else the managed bucket."""
    name = f"{job_id}.{destination['DataFormat'].lower()}"
    url = destination.get("S3Url")
    if not url:
        return EXPORT_BUCKET, f"{region}/{name}"
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key + name if key.endswith("/") else key


def _source(p: Params) -> tuple[str, Params]:
    source = p["ExportDataSource"]
    given = [k for k in ("MetricsDataSource", "MessageInsightsDataSource") if source.get(k)]
    if len(given) != 1:
        raise BadRequest(
            "ExportDataSource must contain exactly one of MetricsDataSource and "
            "MessageInsightsDataSource."
        )
    kind = "METRICS_DATA" if given[0] == "MetricsDataSource" else "MESSAGE_INSIGHTS"
    found = source[given[0]]
    vdm.check_span(found["StartDate"], found["EndDate"])
    return kind, found


def _subject(ctx: OperationContext, message_id: str) -> str | None:
    raw = ctx.store.sent_raw(message_id) or b""
    found = BytesHeaderParser(policy=default).parsebytes(raw)["Subject"]
    return None if found is None else str(found)


def _rows(
    ctx: OperationContext, kind: str, source: Params, messages: list[insights.Tracked]
) -> tuple[list[exports.Row], list[str], int]:
    """The file's rows, its columns and how many records were processed."""
    start, end = source["StartDate"], source["EndDate"]
    if kind == "METRICS_DATA":
        metrics = [
            exports.ExportMetric(insights.Metric(m["Name"]), m["Aggregation"])
            for m in source["Metrics"]
        ]
        dimensions: Mapping[str, list[str]] = source["Dimensions"]
        rows = exports.metric_rows(messages, dimensions, metrics, start, end)
        columns = ["Timestamp", *dimensions, *(m.column for m in metrics)]
        return rows, columns, len(messages)
    sent = [
        (m, _subject(ctx, m.record.id))
        for m in messages
        if start <= datetime.fromisoformat(m.record.created) <= end
    ]
    every = exports.insight_rows(sent)
    limit = source.get("MaxResults") or exports.DEFAULT_MAX_RESULTS
    rows = exports.filtered(every, source.get("Include") or {}, source.get("Exclude") or {}, limit)
    return rows, list(exports.INSIGHT_COLUMNS), len(every)


async def create_export_job(ctx: OperationContext, p: Params) -> Params:
    kind, source = _source(p)
    destination = p["ExportDestination"]
    job_id = str(uuid.uuid4())
    stored = {
        "JobId": job_id,
        "ExportSourceType": kind,
        "JobStatus": "CREATED",
        "ExportDestination": {"DataFormat": destination["DataFormat"]},
        "ExportDataSource": _stored(p["ExportDataSource"]),
        "CreatedTimestamp": to_wire(datetime.now(UTC)),
    }
    await ctx.sending.create(
        JOBS,
        ctx.region,
        job_id,
        stored,
        exists=BadRequest(f"Export job <{job_id}> already exists."),
        limit=MAX_JOBS,
        what="export jobs",
    )
    outcome = await _run(ctx, job_id, kind, source, destination)
    async with ctx.sending.editing(JOBS, ctx.region, job_id) as found:
        found.update(outcome, CompletedTimestamp=to_wire(datetime.now(UTC)))
    return {"JobId": job_id}


async def _run(
    ctx: OperationContext, job_id: str, kind: str, source: Params, destination: Params
) -> Params:
    """The job's end: COMPLETED with the file's URL and counts, or FAILED and why."""
    messages = vdm.tracked_between(ctx, source["StartDate"], source["EndDate"])
    if messages is None:
        return {"JobStatus": "FAILED", "FailureInfo": {"ErrorMessage": vdm.VDM_OFF}}
    rows, columns, processed = _rows(ctx, kind, source, messages)
    bucket, key = _location(job_id, ctx.region, destination)
    body = exports.encode(rows, columns, destination["DataFormat"])
    try:
        await ctx.backends.objects.put_object(bucket, key, body, {}, job_id)
    except BackendError as error:
        return {"JobStatus": "FAILED", "FailureInfo": {"ErrorMessage": str(error)}}
    return {
        "JobStatus": "COMPLETED",
        "ExportDestination": {**destination, "S3Url": f"s3://{bucket}/{key}"},
        "Statistics": {"ProcessedRecordsCount": processed, "ExportedRecordsCount": len(rows)},
    }


def _stored(source: Params) -> Params:
    """The data source as a document keeps it: its dates as wire timestamps."""
    return {
        name: {k: to_wire(v) if isinstance(v, datetime) else v for k, v in (found or {}).items()}
        for name, found in source.items()
        if found
    }


async def get_export_job(ctx: OperationContext, p: Params) -> Params:
    return dict(ctx.sending.get(JOBS, ctx.region, p["JobId"]))


async def list_export_jobs(ctx: OperationContext, p: Params) -> Params:
    """Oldest first, filtered by ExportSourceType and JobStatus when given."""
    jobs = ctx.sending.in_region(JOBS, ctx.region)
    chosen = {
        f"{job['CreatedTimestamp']}/{job_id}": job
        for job_id, job in jobs.items()
        if p.get("ExportSourceType") in (None, job["ExportSourceType"])
        and p.get("JobStatus") in (None, job["JobStatus"])
    }
    size = state.page_size(p.get("PageSize"), MAX_PAGE, MAX_PAGE, "PageSize")
    keys, token = state.page(sorted(chosen), p.get("NextToken"), size)
    summary = ("JobId", "ExportSourceType", "JobStatus", "CreatedTimestamp", "CompletedTimestamp")
    return {
        "ExportJobs": [{k: chosen[key].get(k) for k in summary} for key in keys],
        "NextToken": token,
    }


async def cancel_export_job(ctx: OperationContext, p: Params) -> None:
    """Only a job still CREATED or PROCESSING can be cancelled; here every job has ended by
    the time its id is known, so this is `BadRequestException` for any job that exists."""
    job = ctx.sending.get(JOBS, ctx.region, p["JobId"])
    if job["JobStatus"] in ("CREATED", "PROCESSING"):
        async with ctx.sending.editing(JOBS, ctx.region, p["JobId"]) as found:
            found["JobStatus"] = "CANCELLED"
        return
    raise BadRequest(
        f"Export job <{p['JobId']}> is {job['JobStatus']} and can no longer be cancelled."
    )
