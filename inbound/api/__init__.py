"""The HTTP side: the SES Query API on `/`, the JSON inspection API under `/api/` (the UI too)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from inbound.api import inspect, rules
from inbound.api.guard import guard
from inbound.api.query import routes as ses_routes
from inbound.api.query.operations import identities

if TYPE_CHECKING:
    from inbound.app import InboundServer

SERVER_KEY = web.AppKey("server", object)
MAX_BODY = 64 * 1024 * 1024  # SES SendRawEmail-sized bodies (query-api.md §10 item 11)


def make_app(server: InboundServer) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard(server.settings)])
    app[SERVER_KEY] = server
    inspect.add_routes(app, server)
    rules.add_routes(app, server)
    identities.add_routes(app, server)
    ses_routes.add_routes(app, server, server.operations)
    return app
