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

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aiohttp import web

from inbound.api import auth
from inbound.api.endpoint import caller, decoded, endpoint, origin, read_body
from inbound.api.faults import (
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

OWN_ERROR_PREFIXES = ("/api/", "/sns/", "/v2/", "/ui/")  # not the Query API: own errors
FORM = "application/x-www-form-urlencoded"


Handle = Callable[[web.Request], Awaitable[web.Response]]
# Another API on `/` (the embedded SNS): whether a request is its, and what answers it.
Claim = tuple[Callable[[web.Request], bool], Handle]


def add_routes(
    app: web.Application,
    services: Services,
    operations: Mapping[str, Handler],
    others: Sequence[Claim] = (),
) -> None:
    async def serve(request: web.Request, request_id: str) -> web.Response:
        return await _serve(request, request_id, services, operations)

    ses = endpoint(serve, error_response, "SES Query")

    async def root(request: web.Request) -> web.Response:
        for claims, handle in others:
            if claims(request):
                return await handle(request)
        return await ses(request)

    app.router.add_route("*", "/", root)
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
    body = await read_body(request)
    body_is_form = request.content_type == FORM or "Content-Type" not in request.headers

    def decode() -> tuple[auth.Caller, Any, dict[str, Any]]:
        who = caller(services, request, body)
        params = query.form_params(
            request.rel_url.raw_query_string, body, body_is_form=body_is_form
        )
        operation = query.operation_for(params)
        if operation.name not in operations:
            raise NotImplementedOperation(
                f"inbound does not implement the SES operation {operation.name} "
                f"(API version {service.api_version()})."
            )
        return who, operation, query.decode(operation, params)

    who, operation, kwargs = await decoded(body, decode)
    context = services.operation_context(
        who.region or services.region, request_id, origin(request, who)
    )
    result = await operations[operation.name](context, kwargs)
    return xml_response(200, xml.result_document(operation, result, request_id), request_id)


def error_response(error: SesError, request_id: str) -> web.Response:
    status, body = xml.error_document(error, request_id)
    return xml_response(status, body, request_id)


def xml_response(status: int, body: bytes, request_id: str) -> web.Response:
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
