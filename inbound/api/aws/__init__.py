"""The AWS APIs of the embedded services on the HTTP port, beside SES's, so code written for
AWS reaches them with nothing but `endpoint_url` (docs/aws-endpoints.md): SNS (Query, `sns.py`,
claimed on `/` through the Query route), S3 (REST-XML, `s3/`) and KMS (JSON, `kms.py`).

S3 and KMS requests are handed over by a middleware before any route (an S3 path can be any
path); which service a request is for is `routing.py`'s to tell.

Each endpoint's modules load with the first request for its service (`lazy`), not at start: a
server nobody asks for S3, KMS or SNS holds none of them (issue 16: the default server keeps its
idle memory; docs/aws-endpoints.md, "Memory"; tests/test_idle_imports.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbound.api.aws.routing import signing_service, sns_claims
from inbound.api.query.routes import Claim
from inbound.api.services import Services

R = TypeVar("R", bound=web.StreamResponse)
Endpoint = Callable[[web.Request], Awaitable[R]]


def lazy(make: Callable[[], Endpoint[R]]) -> Endpoint[R]:
    """The endpoint `make` returns, made (its modules imported) with the first request."""
    made: list[Endpoint[R]] = []

    async def handle(request: web.Request) -> R:
        if not made:
            made.append(make())
        return await made[0](request)

    return handle


def _s3(services: Services) -> Endpoint[web.StreamResponse]:
    from inbound.api.aws.s3 import routes

    return routes.handler(services)


def _kms(services: Services) -> Endpoint[web.StreamResponse]:
    from inbound.api.aws import kms

    return kms.handler(services)


def _sns(services: Services) -> Endpoint[web.Response]:
    from inbound.api.aws import sns

    return sns.handler(services)


def dispatch(services: Services) -> Middleware:
    """The middleware that hands S3 and KMS requests to their endpoints, before the routes."""
    endpoints = {"s3": lazy(lambda: _s3(services)), "kms": lazy(lambda: _kms(services))}

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = endpoints.get(signing_service(request) or "")
        return await (endpoint or handler)(request)

    return middleware


def sns_claim(services: Services) -> Claim:
    """The SNS Query API's claim on `/` (api/query/routes.py)."""
    return sns_claims, lazy(lambda: _sns(services))
