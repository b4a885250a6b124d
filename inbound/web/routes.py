"""Mount the UI on the API's application, and send a browser's visit to `/` there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler

from inbound.web import events, pages

if TYPE_CHECKING:
    from inbound.api.services import Services

HOME = "/ui/received"


def add_routes(app: web.Application, services: Services) -> None:
    pages.add_routes(app, services)
    events.add_routes(app, services.store)
    app.middlewares.append(front_door)


def is_browser_visit(request: web.Request) -> bool:
    """A GET of `/` that asks for HTML and names no SES operation: an SES client's GET always
    has `Action=` (and its POSTs are never visits), so the Query API answers it as before."""
    return (
        request.method in ("GET", "HEAD")
        and request.path == "/"
        and "Action" not in request.query
        and "text/html" in request.headers.get("Accept", "")
    )


@web.middleware
async def front_door(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_browser_visit(request):
        raise web.HTTPSeeOther(HOME)
    return await handler(request)
