"""JSON inspection API: what happened to each message, and what each backend received.

Routes (all JSON unless noted):
  GET    /api/stats                      {"messages": n, "pending": n, "sent": n, "sentPending": n}
  GET    /api/messages[?status=pending]  received messages, oldest first
         /api/messages?retries=pending   ... those with a failed action still being retried
         /api/messages?retries=expired   ... those with a PublishExpired action (spec §8)
  DELETE /api/messages                   reset all state (between tests)
  GET    /api/messages/{id}              the message, its trace and its retries
  POST   /api/messages/{id}/retry        retry its pending and expired actions now (202;
                                         404 unknown message; 409 nothing to retry)
  GET    /api/retries[?status=pending|delivered|expired]   retry entries, oldest first
  GET    /api/messages/{id}/raw          the message as received (message/rfc822)
  GET    /api/s3                         stored objects;  GET /api/s3/{bucket}/{key} the bytes
  GET    /api/notifications              SNS publications (actions and alerts)
  GET    /api/lambda                     Lambda invocations with event and response
  GET    /api/outbox                     outbox messages with relay status, attempts,
                                         lastError, nextAttempt; GET /api/outbox/{id}/raw
  POST   /api/outbox/{id}/retry          relay a deferred or failed message now
  GET    /api/workmail                   WorkMail deliveries
  GET    /api/metrics                    CloudWatch data points (event destinations)
  GET    /api/firehose                   Kinesis Data Firehose records (event destinations)
  GET    /api/eventbridge                EventBridge events (event destinations)
  GET    /api/pinpoint                   Amazon Pinpoint events (event destinations)

Every listing answers one page (`?limit=`, `?next=`, `X-Total-Count`, `Link: rel="next"`):
inbound/api/pages.py.
"""

from __future__ import annotations

import dataclasses
import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inbound.api import pages
from inbound.backends.errors import BackendError
from inbound.backends.sns_envelope import CERT_ROUTE, signing_paths
from inbound.datadir import under
from inbound.records import (
    Listing,
    MessageRecord,
    MessageStatus,
    OutboxStatus,
    RetryEntry,
    RetryStatus,
)

if TYPE_CHECKING:
    from inbound.api.services import Services
    from inbound.store import Store


def rfc822(path: Path | None, read: Callable[[], bytes | None]) -> web.StreamResponse | None:
    """A stored message's bytes (message/rfc822): streamed from `path` when it is kept as a
    file (a large one is not read into memory), else `read()`; None when there are none."""
    if path is not None:
        return web.FileResponse(path, headers={"Content-Type": "message/rfc822"})
    body = read()
    return None if body is None else web.Response(body=body, content_type="message/rfc822")


def _not_found(what: str) -> web.Response:
    return web.json_response({"error": f"{what} not found"}, status=404)


_MESSAGE_STATES = frozenset(MessageStatus)
_RETRY_STATES = frozenset(RetryStatus)  # `in RetryStatus` refuses a str before Python 3.12


def _messages(store: Store, status: str | None, at: pages.Window) -> Listing[MessageRecord]:
    if status and status not in _MESSAGE_STATES:
        return Listing([], 0)  # no message has it
    return store.messages(
        status=MessageStatus(status) if status else None, limit=at.limit, offset=at.offset
    )


def _bad_retry_status(key: str, value: str) -> web.Response:
    return web.json_response(
        {"error": f"{key} must be one of {', '.join(RetryStatus)}, not {value!r}"}, status=400
    )


def add_routes(app: web.Application, services: Services) -> None:
    store = services.store

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({**store.counts(), **store.sent_counts()})

    async def messages(request: web.Request) -> web.Response:
        at = pages.window(request)
        retries = request.query.get("retries")
        if retries is not None:
            if retries not in _RETRY_STATES:
                return _bad_retry_status("retries", retries)
            found = store.messages_with_retries(RetryStatus(retries), at.limit, at.offset)
        else:
            found = _messages(store, request.query.get("status"), at)
        return pages.respond(request, at, found, MessageRecord.to_json)

    async def retries(request: web.Request) -> web.Response:
        at = pages.window(request)
        status = request.query.get("status")
        if status is not None and status not in _RETRY_STATES:
            return _bad_retry_status("status", status)
        entries = store.retries(
            status=None if status is None else RetryStatus(status),
            limit=at.limit,
            offset=at.offset,
        )
        return pages.respond(request, at, entries, RetryEntry.to_json)

    async def retry(request: web.Request) -> web.Response:
        assert services.engine is not None
        message_id = request.match_info["id"]
        if store.message(message_id) is None:
            return _not_found("message")
        await store.flush()  # its failures may be submitted but not yet committed
        count = await services.engine.retries.retry_now(message_id)
        if not count:
            return web.json_response(
                {"error": "the message has no pending or expired action"}, status=409
            )
        entries = [e.to_json() for e in store.retries(message_id=message_id)]
        return web.json_response({"messageId": message_id, "retries": entries}, status=202)

    async def reset(request: web.Request) -> web.Response:
        assert services.engine is not None
        await services.engine.drain()
        await store.reset()
        for folder in ("s3", "s3-keyed", "workmail"):
            shutil.rmtree(under(services.data_dir, folder), ignore_errors=True)
        return web.json_response({"reset": True})

    async def message(request: web.Request) -> web.Response:
        record = store.message(request.match_info["id"])
        if record is None:
            return _not_found("message")
        trace = [r.to_json() for r in store.trace(record.id)]
        retries = [e.to_json() for e in store.retries(message_id=record.id)]
        return web.json_response({**record.to_json(), "trace": trace, "retries": retries})

    async def raw(request: web.Request) -> web.StreamResponse:
        message_id = request.match_info["id"]
        found = rfc822(store.body_file(message_id), lambda: store.raw(message_id))
        return _not_found("message") if found is None else found

    def listing(records: Callable[[int, int], Listing[Any]]) -> Any:
        """The embedded backends' records, their fields in camelCase in column order."""

        async def handler(request: web.Request) -> web.Response:
            at = pages.window(request)
            found = records(at.limit, at.offset)
            return pages.respond(request, at, found, lambda r: pages.camel(dataclasses.asdict(r)))

        return handler

    async def s3_object(request: web.Request) -> web.Response:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        found = store.stored_object(bucket, key)
        if found is None:
            return _not_found("object")
        assert services.s3 is not None
        try:  # a record of a key that would leave the data dir is refused, not followed
            path = services.s3.file(found)
        except BackendError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        headers = {f"x-amz-meta-{k}": v for k, v in found.metadata.items()}
        return web.Response(body=path.read_bytes(), headers=headers)

    async def outbox_raw(request: web.Request) -> web.Response:
        body = store.outbox_raw(request.match_info["id"])
        if body is None:
            return _not_found("outbox message")
        return web.Response(body=body, content_type="message/rfc822")

    async def outbox_retry(request: web.Request) -> web.Response:
        if services.relay is None:
            return web.json_response(
                {"error": "no relay: [relay] smarthost is not configured"}, status=409
            )
        outbox_id = request.match_info["id"]
        before = await services.relay.retry(outbox_id)
        if before is None:
            return _not_found("outbox message")
        if before not in (OutboxStatus.DEFERRED, OutboxStatus.FAILED):
            return web.json_response(
                {"error": f"outbox message is {before}, not deferred or failed"}, status=409
            )
        return web.json_response({"id": outbox_id, "status": OutboxStatus.QUEUED, "was": before})

    async def signing_cert(request: web.Request) -> web.Response:
        path = signing_paths(services.data_dir)[0]
        return web.Response(body=path.read_bytes(), content_type="application/x-pem-file")

    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/messages", messages)
    app.router.add_delete("/api/messages", reset)
    app.router.add_get("/api/messages/{id}", message)
    app.router.add_get("/api/messages/{id}/raw", raw)
    app.router.add_post("/api/messages/{id}/retry", retry)
    app.router.add_get("/api/retries", retries)
    app.router.add_get("/api/s3", listing(store.objects))
    app.router.add_get("/api/s3/{bucket}/{key:.+}", s3_object)
    app.router.add_get("/api/notifications", listing(store.notifications))
    app.router.add_get("/api/lambda", listing(store.invocations))
    app.router.add_get("/api/outbox", listing(store.outbox))
    app.router.add_get("/api/outbox/{id}/raw", outbox_raw)
    app.router.add_post("/api/outbox/{id}/retry", outbox_retry)
    app.router.add_get("/api/workmail", listing(store.mailbox_deliveries))
    app.router.add_get("/api/metrics", listing(store.metric_points))
    app.router.add_get("/api/firehose", listing(store.stream_records))
    app.router.add_get(
        "/api/eventbridge", listing(functools.partial(store.recorded_events, "eventbridge"))
    )
    app.router.add_get(
        "/api/pinpoint", listing(functools.partial(store.recorded_events, "pinpoint"))
    )

    app.router.add_get(CERT_ROUTE, signing_cert)
