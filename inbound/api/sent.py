"""JSON inspection API of sent mail: what each Send* operation accepted.

Routes:
  GET /api/sent                  sent messages, oldest first (envelope, configuration set,
                                 tags, status, trace), in pages (inbound/api/pages.py)
  GET /api/sent/{messageId}      one of them
  GET /api/sent/{messageId}/raw  the message as built (message/rfc822); 404 for a rendering
                                 failure, which has no bytes
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from inbound.api import pages
from inbound.api.inspect import rfc822
from inbound.records import SentMessage

if TYPE_CHECKING:
    from inbound.store import Store


def _not_found() -> web.Response:
    return web.json_response({"error": "sent message not found"}, status=404)


def add_routes(app: web.Application, store: Store) -> None:
    async def listing(request: web.Request) -> web.Response:
        at = pages.window(request)
        return pages.respond(request, at, store.sent(at.limit, at.offset), SentMessage.to_json)

    async def one(request: web.Request) -> web.Response:
        found = store.sent_message(request.match_info["id"])
        return _not_found() if found is None else web.json_response(found.to_json())

    async def raw(request: web.Request) -> web.StreamResponse:
        message_id = request.match_info["id"]
        found = rfc822(store.sent_body_file(message_id), lambda: store.sent_raw(message_id))
        return _not_found() if found is None else found

    app.router.add_get("/api/sent", listing)
    app.router.add_get("/api/sent/{id}", one)
    app.router.add_get("/api/sent/{id}/raw", raw)
