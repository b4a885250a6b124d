"""Forced verdicts through the JSON API (receiving/forced.py; docs/authentication.md):

GET    /api/verdicts          every override in force (inbound.toml's, the markers', the API's)
GET    /api/verdicts/{name}   the API's override of that name (404: none)
PUT    /api/verdicts/{name}   set it from a JSON object (400: a bad field), kept in the store
DELETE /api/verdicts/{name}   remove it (404: none)
DELETE /api/verdicts          remove every API override
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from inbound.receiving.forced import Override, OverrideError

if TYPE_CHECKING:
    from inbound.api.services import Services

MAX_BODY = 16 * 1024  # an override is a few short fields


def _error(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def add_routes(app: web.Application, services: Services) -> None:
    book = services.overrides

    async def listing(request: web.Request) -> web.Response:
        return web.json_response([o.to_json() for o in book.current()])

    async def one(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [o for o in book.api() if o.name == name]
        return web.json_response(found[0].to_json()) if found else _error("no such override", 404)

    async def put(request: web.Request) -> web.Response:
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return _error(f"the body is over {MAX_BODY} bytes")
        try:
            fields = json.loads(body)
            if not isinstance(fields, dict):
                raise OverrideError("the body must be a JSON object")
            override = Override.parse(request.match_info["name"], "api", fields)
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError and OverrideError too
            return _error(str(exc) if isinstance(exc, OverrideError) else f"invalid JSON: {exc}")
        await book.put(override)  # durable before the reply
        return web.json_response(override.to_json())

    async def delete(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not await book.delete(name):
            return _error("no such override", 404)
        return web.json_response({"deleted": name})

    async def clear(request: web.Request) -> web.Response:
        return web.json_response({"deleted": await book.clear()})

    app.router.add_get("/api/verdicts", listing)
    app.router.add_delete("/api/verdicts", clear)
    app.router.add_get("/api/verdicts/{name}", one)
    app.router.add_put("/api/verdicts/{name}", put)
    app.router.add_delete("/api/verdicts/{name}", delete)
