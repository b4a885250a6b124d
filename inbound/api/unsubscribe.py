"""The unsubscribe link of mail sent with ListManagementOptions (sending/list_management.py).

Routes:
  GET  /unsubscribe/{messageId}    the link of the footer (and of List-Unsubscribe for a client
                                   without one-click): unsubscribes, answers a short HTML page
  POST /unsubscribe/{messageId}    RFC 8058 one-click, body `List-Unsubscribe=One-Click`:
                                   unsubscribes, answers 200 with no body

Either one unsubscribes the message's recipient from its topic (from the list without one) and
publishes a Subscription event (source `UnsubscribeLink` for the GET, `UnsubscribeHeader` for
the one-click POST). A message without a link is 404; a POST without the one-click body is 400
(RFC 8058: "The POST request MUST contain the key/value pair List-Unsubscribe=One-Click"). The
one-click POST comes from the mailbox provider's servers, without an Origin: the guard lets it
through (api/guard.py refuses only what says it comes from another origin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web

from inbound.sending.list_management import FROM_HEADER, FROM_LINK, ONE_CLICK, PATH

if TYPE_CHECKING:
    from inbound.api.services import Services

MAX_BODY = 1024  # a one-click body is 26 bytes
PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Unsubscribed</title></head>"
    "<body><p>You have been unsubscribed.</p></body></html>\n"
)


def _not_found() -> web.Response:
    return web.Response(status=404, text="no such unsubscribe link\n")


def add_routes(app: web.Application, services: Services) -> None:
    async def link(request: web.Request) -> web.Response:
        assert services.unsubscriber is not None
        if not await services.unsubscriber.unsubscribe(request.match_info["id"], FROM_LINK):
            return _not_found()
        return web.Response(text=PAGE, content_type="text/html")

    async def one_click(request: web.Request) -> web.Response:
        assert services.unsubscriber is not None
        body = await request.content.read(MAX_BODY + 1)
        fields = dict(parse_qsl(body[:MAX_BODY].decode("latin-1")))
        if (
            len(body) > MAX_BODY
            or f"List-Unsubscribe={fields.get('List-Unsubscribe')}" != ONE_CLICK
        ):
            return web.Response(status=400, text=f"the body must be {ONE_CLICK}\n")
        if not await services.unsubscriber.unsubscribe(request.match_info["id"], FROM_HEADER):
            return _not_found()
        return web.Response()

    app.router.add_get(PATH + "{id}", link)
    app.router.add_post(PATH + "{id}", one_click)
