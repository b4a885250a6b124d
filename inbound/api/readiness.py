"""Requests that arrive while the server starts or stops: 503, in each endpoint's own format.

The HTTP port is bound before the engine, the backends and the sending side exist (the SNS
envelope's certificate URL needs the bound address); a request that came early reached parts
not built yet and got a 500. Until `Services.ready` the SES Query API answers AWS's common
error `ServiceUnavailable` (503, "The request has failed due to a temporary failure of the
server.", SES API Reference, Common Errors) in its XML, SES v2 the same in its JSON
(`X-Amzn-ErrorType`), the JSON inspection API `{"error": ...}`; all with `Retry-After: 1`.
botocore retries a 503 (3 attempts in about a second, by default), so an SDK client that
arrives just before the engine is up is served.
The SNS certificate (`/sns/`) is always served: notifications of resumed mail go out while
the server is still starting, and their subscribers fetch it to check the signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from inbound.api.faults import ServiceUnavailable
from inbound.api.query import routes as query_routes
from inbound.api.services import Services
from inbound.api.v2 import routes as v2_routes

_ALWAYS = "/sns/"
MESSAGE = "The request has failed due to a temporary failure of the server."


def until_ready(services: Services) -> Middleware:
    @web.middleware
    async def ready(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if services.ready or request.path.startswith(_ALWAYS):
            return await handler(request)
        error, request_id = ServiceUnavailable(MESSAGE), str(uuid.uuid4())
        if request.path.startswith(v2_routes.PREFIX):
            response = v2_routes.error_response(error, request_id)
        elif request.path.startswith(query_routes.OWN_ERROR_PREFIXES):
            response = web.json_response({"error": MESSAGE}, status=error.status)
        else:
            response = query_routes.error_response(error, request_id)
        response.headers["Retry-After"] = "1"
        return response

    return ready
