"""Import jobs into the account-level suppression list: CreateImportJob, GetImportJob and
ListImportJobs. The data source is an object of the S3 backend (embedded, or AWS's with
`kind = "aws"`), `s3://bucket/key`, in SES's formats (Developer Guide, "Using the Amazon SES
account-level suppression list", adding and removing addresses in bulk): CSV lines
`address,REASON` to put and `address` to delete, or newline-delimited JSON objects
`{"emailAddress": ..., "reason": ...}`.

A job runs to its end inside CreateImportJob, so it is COMPLETED (or FAILED) when its JobId
is returned and everything it changed is in the store. Contact-list destinations are refused
by name (BadRequestException): SES documents no file format for them. docs/behaviour.md
"Account-level suppression list" has the decisions."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.api.v2.operations.suppression import valid_address
from inbound.backends.errors import BackendError
from inbound.records import SuppressedDestination, SuppressionReason
from inbound.sending import suppression
from inbound.sending.configuration import page, page_size
from inbound.timestamps import now_iso

Params = dict[str, Any]
JOBS = "sesv2.import-jobs"  # documents; key: <Region>/<JobId> → {"job": ..., "order": ns}
MAX_PUT, MAX_DELETE = 100_000, 10_000  # the guide: "a bulk add limit of 100,000 addresses",
# "a bulk delete limit of 10,000 addresses in an Amazon S3 object per API call"
MAX_OBJECT = 64 * 1024 * 1024  # > 100,000 of the longest lines; a larger object fails the job
MAX_PAGE = 100  # ListImportJobs' PageSize has no documented bound: DECIDED
_S3_URL = re.compile(r"s3://([^/]+)/(.*?([^/]+)/?)")  # the model's pattern of S3Url
_HEADER = "emailaddress"  # a CSV first line naming its columns is skipped (DECIDED)


def _missing(job_id: str) -> NotFound:
    return NotFound(f"Import job <{job_id}> does not exist.")


@dataclass(frozen=True)
class _Outcome:
    """What running a job came to: how many records were read and how many of them failed (a
    malformed address or reason); `error` when the job failed as a whole and changed nothing.
    Deleting an address that is not on the list is no failure."""

    processed: int = 0
    failed: int = 0
    error: str | None = None


async def create_import_job(ctx: OperationContext, p: Params) -> Params:
    destination, source = p["ImportDestination"], p["ImportDataSource"]
    if "ContactListDestination" in destination:
        raise BadRequest(
            "ContactListDestination is not supported: import jobs import into the"
            " suppression list (SuppressionListDestination) only."
        )
    target = destination.get("SuppressionListDestination")
    if target is None:
        raise BadRequest("ImportDestination must contain a SuppressionListDestination.")
    action = target["SuppressionListImportAction"]  # the model's enums: the codec checks them
    data_format = source["DataFormat"]
    found = _S3_URL.fullmatch(source["S3Url"])
    if found is None:
        raise BadRequest(f"Invalid S3 URL: {source['S3Url']}. Use s3://<bucket>/<key>.")
    created = now_iso()
    outcome = await _run(ctx, action, data_format, found.group(1), found.group(2))
    job_id = str(uuid.uuid4())
    job: Params = {
        "JobId": job_id,
        "ImportDestination": {
            "SuppressionListDestination": {"SuppressionListImportAction": action}
        },
        "ImportDataSource": {"S3Url": source["S3Url"], "DataFormat": data_format},
        "JobStatus": "FAILED" if outcome.error is not None else "COMPLETED",
        "CreatedTimestamp": created,
        "CompletedTimestamp": now_iso(),
        "ProcessedRecordsCount": outcome.processed,
        "FailedRecordsCount": outcome.failed,
    }
    if outcome.error is not None:
        job["FailureInfo"] = {"ErrorMessage": outcome.error}
    # `order`: creation order, finer than CreatedTimestamp's milliseconds, for the listing
    await ctx.store.put_document(
        JOBS, f"{ctx.region}/{job_id}", {"job": job, "order": time.time_ns()}
    )
    return {"JobId": job_id}


async def get_import_job(ctx: OperationContext, p: Params) -> Params:
    found = ctx.store.document(JOBS, f"{ctx.region}/{p['JobId']}")
    if found is None:
        raise _missing(p["JobId"])
    return found["job"]  # type: ignore[no-any-return]


async def list_import_jobs(ctx: OperationContext, p: Params) -> Params:
    """Oldest first, PageSize (up to 100) a page; ImportDestinationType CONTACT_LIST lists
    none (no such job is ever made)."""
    size = page_size(p.get("PageSize"), MAX_PAGE, MAX_PAGE, "PageSize")
    kind = p.get("ImportDestinationType")
    prefix = f"{ctx.region}/"
    jobs = {
        f"{found['order']:020d}/{key}": found["job"]
        for key, found in ctx.store.documents(JOBS).items()
        if key.startswith(prefix) and kind in (None, "SUPPRESSION_LIST")
    }
    chosen, token = page(sorted(jobs), p.get("NextToken"), size)
    summary = (
        "JobId",
        "ImportDestination",
        "JobStatus",
        "CreatedTimestamp",
        "ProcessedRecordsCount",
        "FailedRecordsCount",
    )
    listed = [{k: jobs[n][k] for k in summary} for n in chosen]
    return {"ImportJobs": listed, "NextToken": token}


# ── running a job ──────────────────────────────────────────────────────────────────────────
async def _run(
    ctx: OperationContext, action: str, data_format: str, bucket: str, key: str
) -> _Outcome:
    try:
        body, _ = await ctx.backends.objects.get_object(bucket, key)
    except BackendError:
        return _Outcome(error=f"Failed to read the data source s3://{bucket}/{key}.")
    if len(body) > MAX_OBJECT:
        return _Outcome(error=f"The data source is larger than {MAX_OBJECT} bytes.")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Outcome(error="The data source is not UTF-8 text.")
    records = list(_records(text, data_format))
    limit = MAX_PUT if action == "PUT" else MAX_DELETE
    if len(records) > limit:
        return _Outcome(error=f"More than {limit} records in one job.")
    read = [(suppression.canonical(a), _REASONS.get(r or "")) for a, r in records]
    valid = [(a, r) for a, r in read if valid_address(a) and (action == "DELETE" or r)]
    if action == "PUT":
        now = now_iso()
        entries = {a: SuppressedDestination(a, r, now) for a, r in valid if r is not None}
        await ctx.store.put_suppressed(ctx.region, entries.values())
    else:
        await ctx.store.delete_suppressed(ctx.region, [a for a, _ in valid])
    return _Outcome(len(records), len(records) - len(valid))


_REASONS = {str(r): r for r in SuppressionReason}


def _records(text: str, data_format: str) -> Iterator[tuple[str, str | None]]:
    """(address, reason) of each record; a record that cannot be read is ("", None), which
    fails as an address."""
    if data_format == "JSON":
        for line in text.splitlines():
            if not line.strip():
                continue
            try:
                found = json.loads(line)
            except ValueError:
                yield "", None
                continue
            if not isinstance(found, dict):
                yield "", None
                continue
            address, reason = found.get("emailAddress"), found.get("reason")
            yield (
                address if isinstance(address, str) else "",
                reason if isinstance(reason, str) else None,
            )
        return
    for number, row in enumerate(csv.reader(io.StringIO(text))):
        if not row or not "".join(row).strip():
            continue
        if number == 0 and row[0].strip().lower() == _HEADER:
            continue
        yield row[0], row[1].strip() if len(row) > 1 else None
