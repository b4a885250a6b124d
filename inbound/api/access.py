"""`[api] auth = "verify"` covers the JSON API (`/api/*`) and the web UI (`/ui*`) too.

What a user of each would expect (docs/json-api.md, "Authentication"):
* SDK-style clients sign: a request SigV4-signed by one of `[api] credentials` (the scope's
  service `ses` or `email`, as for the Query API; any Region) is let through, so the JSON API
  takes what already authenticates against the SES APIs (`curl --aws-sigv4`, botocore's
  signer).
* Scripts and people use the token: `Authorization: Bearer <[api] token>`.
* A browser cannot add either header to a page it opens, so the UI is opened once with
  `/ui/?token=<token>`: the answer sets the token as a cookie (HttpOnly, SameSite=Strict, so no
  other site's page sends it) and redirects to the same page without it, out of the history;
  the UI's own requests to `/api/*` carry the cookie.
Everything else under those paths is refused with 401: `{"error": ...}` with
`WWW-Authenticate: Bearer` on `/api/*`, a short HTML page on the UI. The SES APIs check their
signatures themselves (api/endpoint.py); the tracking and unsubscribe links stay open, as
they are for the recipients of sent mail.
"""

from __future__ import annotations

import hmac
import html
import logging

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbound.api import auth
from inbound.api.services import Services
from inbound.errors import SesError

log = logging.getLogger("inbound.api")

COOKIE = "inbound-token"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="inbound"'}
_API, _UI = "/api/", "/ui"
_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>inbound: token needed</title></head><body>"
    '<p>This server checks who uses it (<code>[api] auth = "verify"</code>). Open the UI '
    "with its token once: <code>/ui/?token=</code><em>the [api] token of inbound.toml</em>."
    "</p><p>{reason}</p></body></html>\n"
)


def protect(services: Services) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        api = path.startswith(_API)
        if services.api_auth != "verify" or not (api or _is_ui(path)):
            return await handler(request)
        given = request.query.get("token")
        if not api and given is not None and _is_token(services, given):
            return _remember(request)
        reason = await _refusal(services, request)
        if reason is None:
            return await handler(request)
        log.warning("refused %s %s: %s", request.method, path, reason)
        if api:
            return web.json_response(
                {"error": reason},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="inbound"'},
            )
        page = _PAGE.format(reason=html.escape(reason))
        return web.Response(text=page, status=401, content_type="text/html")

    return middleware


def _is_ui(path: str) -> bool:
    return path == _UI or path.startswith(_UI + "/")


def _is_token(services: Services, given: str) -> bool:
    expected = services.api_token
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def _refusal(services: Services, request: web.Request) -> str | None:
    """None when the request may pass, else why not."""
    authorization = request.headers.get("Authorization", "")
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return None if _is_token(services, credential.strip()) else "the bearer token is wrong"
    if scheme == auth.ALGORITHM:
        try:
            auth.verify(
                request.method,
                request.raw_path,
                request.headers,
                await request.read(),
                services.api_credentials,
            )
        except SesError as exc:
            return f"{exc.code}: {exc.message}"
        return None
    cookie = request.cookies.get(COOKIE)
    if cookie is not None:
        return None if _is_token(services, cookie) else "the token of the cookie is wrong"
    return "a SigV4 signature or the [api] token is needed (Authorization: Bearer <token>)"


def _remember(request: web.Request) -> web.Response:
    """The token as a cookie, and the same page again without it in the address."""
    query = {k: v for k, v in request.query.items() if k != "token"}
    response = web.Response(
        status=303, headers={"Location": str(request.rel_url.with_query(query))}
    )
    response.set_cookie(COOKIE, request.query["token"], httponly=True, samesite="Strict", path="/")
    return response
