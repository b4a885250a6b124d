"""Mount the UI on the API's application, and send a browser's visit to `/` there.

The pages' code (`pages.py`, `events.py`, what they use) is imported with the first request
for a page, not at start (`Ui`): a server nobody browses keeps none of it (issue 16: the
default server keeps its memory; docs/aws-endpoints.md, "Memory"), as it never loads jinja2.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.typedefs import Handler

if TYPE_CHECKING:
    from inbound.api.services import Services

HOME = "/ui/received"
STATIC = Path(__file__).parent / "static"
# Each page's path and its handler's name in `pages.handlers` (`events` is `events.py`'s)
ROUTES = (
    ("/ui", "home"),
    ("/ui/", "home"),
    ("/ui/received", "received"),
    ("/ui/sent", "sent"),
    ("/ui/received/{id}", "received_message"),
    ("/ui/sent/{id}", "sent_message"),
    ("/ui/{direction:received|sent}/{id}/html", "html_part"),
    ("/ui/{direction:received|sent}/{id}/parts/{index:[0-9]{1,6}}", "download"),
    ("/ui/rules", "rules"),
    ("/ui/s3", "s3"),
    ("/ui/notifications", "notifications"),
    ("/ui/lambda", "lambda"),
    ("/ui/outbox", "outbox"),
    ("/ui/workmail", "workmail"),
    ("/ui/events", "events"),
)


class Ui:
    """The pages' handlers, made with the first request for one."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._handlers: dict[str, Handler] | None = None
        self._stop_digests: Callable[[], Awaitable[None]] | None = None
        self._end_streams: Callable[[], None] | None = None

    def _made(self) -> dict[str, Handler]:
        if self._handlers is None:
            from inbound.web import events, pages

            handlers, self._stop_digests = pages.handlers(self._services)
            stream, self._end_streams = events.handler(self._services.store)
            self._handlers = {**handlers, "events": stream}
        return self._handlers

    def route(self, name: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._made()[name](request)

        return handle

    async def stop(self, app: web.Application) -> None:
        if self._end_streams is not None:
            self._end_streams()
        if self._stop_digests is not None:
            await self._stop_digests()


def add_routes(app: web.Application, services: Services) -> None:
    ui = Ui(services)
    for path, name in ROUTES:
        app.router.add_get(path, ui.route(name))
    app.router.add_static("/ui/static", STATIC, append_version=False)
    app.on_shutdown.append(ui.stop)
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
