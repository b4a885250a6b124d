"""The HTTP side: the SES Query API on `/` (the embedded SNS's too, told apart by the request's
signature), SES API v2 under `/v2/`, the JSON inspection API under `/api/` (the UI too), and
the embedded S3 and KMS APIs wherever a request is signed for them (`aws/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Middleware

from inbound.api import (
    access,
    aws,
    inspect,
    readiness,
    rules,
    sent,
    tracking,
    unsubscribe,
    verdicts,
)
from inbound.api.query import routes as ses_routes
from inbound.api.query.operations import Handler, identities
from inbound.api.services import Services
from inbound.api.v2 import routes as v2_routes
from inbound.web import routes as web_routes

MAX_BODY = 64 * 1024 * 1024  # SES SendRawEmail-sized bodies (query-api.md §10 item 11)
OPENAPI_PATH = "/api/openapi.json"  # described in openapi.py's table too (tests/api/test_json_api)


async def openapi_document(request: web.Request) -> web.Response:
    """The JSON API's description, built (`openapi.py` imported) with the first request for it:
    a server keeps none of it otherwise (docs/aws-endpoints.md, "Memory")."""
    from inbound.api import openapi

    return web.json_response(openapi.document())


def synced(services: Services) -> list[Middleware]:
    """On a store shared with other engines (PostgreSQL), a request sees every edit they
    committed before it (docs/cluster.md, "Live state"); on SQLite, nothing to add."""
    store = services.store
    if not store.shared:
        return []

    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        await store.synced()
        return await handler(request)

    return [middleware]


def make_app(
    services: Services,
    operations: Mapping[str, Handler],
    v2_operations: Mapping[str, Handler],
    guard: Middleware,
) -> web.Application:
    """`operations` and `v2_operations` are the server's own registries (tests plug fake
    handlers into them); `guard` (api/guard.py) runs outermost, then the 503 of a server that
    is not ready (api/readiness.py), which the S3 and KMS endpoints (api/aws) answer in their
    own words, then who may use the JSON API and the UI (api/access.py)."""
    app = web.Application(
        client_max_size=MAX_BODY,
        middlewares=[
            guard,
            aws.dispatch(services),
            readiness.until_ready(services),
            access.protect(services),
            *synced(services),
        ],
    )
    inspect.add_routes(app, services)
    sent.add_routes(app, services.store)
    tracking.add_routes(app, services)
    unsubscribe.add_routes(app, services)
    rules.add_routes(app, services)
    verdicts.add_routes(app, services)
    app.router.add_get(OPENAPI_PATH, openapi_document)
    identities.add_routes(app, services.identities, services.sender.dkim)
    v2_routes.add_routes(app, services, v2_operations)
    web_routes.add_routes(app, services)  # before the Query API: it takes browser visits to /
    ses_routes.add_routes(app, services, operations, others=[aws.sns_claim(services)])
    return app
