"""The open pixel and the click redirect of tracked mail (inbound/sending/tracking.py).

Routes:
  GET /track/open/I0/{messageId}                           the 1x1 GIF; publishes an Open event
  GET /track/click/L0/{link}/1/{messageId}/{number}        302 to the link; publishes a Click

They are what an email client or a browser opens, from any origin: GETs change no state the
guard protects (api/guard.py refuses cross-origin state-changing methods only). A message
without the pixel or the link is 404. `ipAddress` is the peer's address, `userAgent` the
request's User-Agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import web

from inbound.sending.tracking import CLICK_PATH, GIF

if TYPE_CHECKING:
    from inbound.api.services import Services

NO_CACHE = {"Cache-Control": "no-cache, no-store, must-revalidate"}  # every open reaches us


def _not_found() -> web.Response:
    return web.Response(status=404, text="no such tracked message or link\n")


def add_routes(app: web.Application, services: Services) -> None:
    def client(request: web.Request) -> tuple[str, str]:
        return request.remote or "", request.headers.get("User-Agent", "")

    async def pixel(request: web.Request) -> web.Response:
        assert services.tracker is not None
        if not await services.tracker.opened(request.match_info["id"], *client(request)):
            return _not_found()
        return web.Response(body=GIF, content_type="image/gif", headers=NO_CACHE)

    async def click(request: web.Request) -> web.Response:
        """The link is percent-encoded as one path segment (its slashes too), so the raw
        path is split, not the decoded one."""
        assert services.tracker is not None
        parts = request.rel_url.raw_path[len(CLICK_PATH) :].rsplit("/", 3)
        if len(parts) != 4 or parts[1] != "1" or not parts[3].isdigit():
            return _not_found()
        target, _, message_id, number = parts
        link = await services.tracker.clicked(
            unquote(message_id), int(number), unquote(target), *client(request)
        )
        if link is None:
            return _not_found()
        raise web.HTTPFound(link, headers=NO_CACHE)

    app.router.add_get("/track/open/I0/{id}", pixel)
    app.router.add_get(CLICK_PATH + "{tail:.+}", click)
