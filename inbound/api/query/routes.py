"""The SES v1 Query endpoint: `GET|POST /` → verify → decode → handler → XML.

Every answer from the Query side is XML with the same RequestId in the body and in
`x-amzn-RequestId` (query-api.md §10 items 7 to 10), including 404 (unknown path), 405 (method),
413 (body over `MAX_BODY`) and 500 (a handler crashed: logged, answered `InternalFailure`).
An operation of the model without a handler answers 501 `NotImplemented` naming it (not
retried by botocore, unlike 500/502/503/504). Paths under `/api/` and `/sns/` keep their own
(JSON) error bodies.

The operation registry is passed in when mounting, so each server (and each test) has its own.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inbound.api import auth
from inbound.api.faults import (
    InternalFailure,
    MethodNotAllowed,
    NotFound,
    NotImplementedOperation,
    RequestEntityTooLarge,
)
from inbound.api.query import codec as query
from inbound.api.query import service, xml
from inbound.api.query.operations import Handler
from inbound.errors import SesError

if TYPE_CHECKING:
    from inbound.api.services import Services

log = logging.getLogger("inbound.api")

OWN_ERROR_PREFIXES = ("/api/", "/sns/", "/v2/")  # JSON routes: their errors are not the Query API's
FORM = "application/x-www-form-urlencoded"
_OFFLOAD = 1024 * 1024  # decode/verify bodies bigger than this off the event loop (SMTP shares it)


def add_routes(app: web.Application, services: Services, operations: Mapping[str, Handler]) -> None:
    async def endpoint(request: web.Request) -> web.Response:
        request_id = str(uuid.uuid4())
        try:
            return await _serve(request, request_id, services, operations)
        except SesError as error:
            return error_response(error, request_id)
        except Exception:
            log.exception("SES Query request %s failed", request_id)
            return error_response(
                InternalFailure("The request processing has failed because of an unknown error."),
                request_id,
            )

    app.router.add_route("*", "/", endpoint)
    app.middlewares.append(_xml_http_errors)


async def _serve(
    request: web.Request,
    request_id: str,
    services: Services,
    operations: Mapping[str, Handler],
) -> web.Response:
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed(
            f"The HTTP method {request.method} is not allowed: the SES Query API takes GET or POST."
        )
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise RequestEntityTooLarge(
            f"The request body exceeds the maximum size of {request.client_max_size} bytes."
        ) from None
    body_is_form = request.content_type == FORM or "Content-Type" not in request.headers

    def decode() -> tuple[auth.Caller, Any, dict[str, Any]]:
        if services.api_auth == "verify":
            caller = auth.verify(
                request.method, request.raw_path, request.headers, body, services.api_credentials
            )
        else:
            caller = auth.caller_of(request.headers)
        params = query.form_params(
            request.rel_url.raw_query_string, body, body_is_form=body_is_form
        )
        operation = query.operation_for(params)
        if operation.name not in operations:
            raise NotImplementedOperation(
                f"inbound does not implement the SES operation {operation.name} "
                f"(API version {service.api_version()})."
            )
        return caller, operation, query.decode(operation, params)

    if len(body) > _OFFLOAD:
        caller, operation, kwargs = await asyncio.to_thread(decode)
    else:
        caller, operation, kwargs = decode()
    context = services.operation_context(caller.region or services.region, request_id)
    result = await operations[operation.name](context, kwargs)
    return _xml_response(200, xml.result_document(operation, result, request_id), request_id)


def error_response(error: SesError, request_id: str) -> web.Response:
    status, body = xml.error_document(error, request_id)
    return _xml_response(status, body, request_id)


def _xml_response(status: int, body: bytes, request_id: str) -> web.Response:
    return web.Response(
        status=status,
        body=body,
        content_type="text/xml",
        headers={"x-amzn-RequestId": request_id},
    )


@web.middleware
async def _xml_http_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """aiohttp's own 404/405/413… (plain text) → XML, outside the JSON prefixes."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or request.path.startswith(OWN_ERROR_PREFIXES):
            raise
        error: SesError
        if exc.status == 404:
            error = NotFound(f"No SES endpoint at {request.path}: the Query API is served at /.")
        elif exc.status == 405:
            error = MethodNotAllowed(f"The HTTP method {request.method} is not allowed here.")
        elif exc.status == 413:
            error = RequestEntityTooLarge("The request body is too large.")
        else:
            error = SesError(exc.reason)
            error.status = exc.status
            error.code = exc.reason.replace(" ", "")
        return error_response(error, str(uuid.uuid4()))
