"""The SES v2 endpoint: `* /v2/{path}` → verify → route → decode → handler → JSON.

Every answer under `/v2/` is a REST-JSON one, errors included: the code in `X-Amzn-ErrorType`,
`{"message": ...}` as the body, the status from the error shape (`errors.for_v2`), and
`x-amzn-RequestId`. An unknown method and path is `UnknownOperationException` (404); an
operation of the model without a handler answers 501 `NotImplemented` naming it, as v1 does;
a crashed handler is logged and answered `InternalFailure` (500), as v1 (`api/endpoint.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from inbound.api import auth
from inbound.api.endpoint import caller, decoded, endpoint, origin, read_body
from inbound.api.faults import NotImplementedOperation
from inbound.api.query.operations import Handler
from inbound.api.v2 import codec, service
from inbound.api.v2.errors import for_v2
from inbound.errors import SesError

if TYPE_CHECKING:
    from inbound.api.services import Services

PREFIX = "/v2/"


def add_routes(app: web.Application, services: Services, operations: Mapping[str, Handler]) -> None:
    async def serve(request: web.Request, request_id: str) -> web.Response:
        return await _serve(request, request_id, services, operations)

    # `[\s\S]`, not `.`: a label may decode to a line break (`%0A`), still a v2 request
    app.router.add_route("*", PREFIX + r"{tail:[\s\S]*}", endpoint(serve, error_response, "SES v2"))


async def _serve(
    request: web.Request,
    request_id: str,
    services: Services,
    operations: Mapping[str, Handler],
) -> web.Response:
    body = await read_body(request)
    raw_path, _, raw_query = request.raw_path.partition("?")

    def decode() -> tuple[auth.Caller, Any, dict[str, Any]]:
        who = caller(services, request, body)
        routed = codec.route(request.method, raw_path)
        operation = routed.operation
        if operation.name not in operations:
            raise NotImplementedOperation(
                f"inbound does not implement the SES v2 operation {operation.name} "
                f"(API version {service.api_version()})."
            )
        query = parse_qsl(raw_query, keep_blank_values=True)
        return who, operation, codec.decode(routed, query, request.headers, body)

    who, operation, kwargs = await decoded(body, decode)
    context = services.operation_context(
        who.region or services.region, request_id, origin(request, who)
    )
    result = await operations[operation.name](context, kwargs)
    status, headers, payload = codec.encode(operation, result)
    return web.Response(
        status=status,
        body=payload,
        content_type="application/json",
        headers={**headers, "x-amzn-RequestId": request_id},
    )


def error_response(error: SesError, request_id: str) -> web.Response:
    code, status = for_v2(error)
    return web.Response(
        status=status,
        body=json.dumps({"message": error.message}).encode(),
        content_type="application/json",
        headers={"X-Amzn-ErrorType": code, "x-amzn-RequestId": request_id},
    )
