"""What a web page in the user's browser must not do through the HTTP port (issue 18).

* DNS rebinding: a page at `http://evil.example:4525` whose name the attacker then points at
  127.0.0.1 reads the API as its own origin; its requests carry `Host: evil.example:4525`. The
  server answers only to the names it is known by: loopback names, the host it is bound to,
  `[server] allowed_hosts`, IP literals (a rebinding page has a name, never our address) and
  `*.localhost` (the S3 API's virtual-host style: browsers resolve those names to loopback
  themselves, RFC 6761 §6.3, so no attacker's DNS answers for them).
* Cross-site writes: any page can POST a form anywhere, without a CORS preflight. A request
  that changes state and says it comes from another origin (`Origin`; without it,
  `Sec-Fetch-Site`, then `Referer`) is refused. SDKs and the AWS CLI send none of these.

Refusals are SES-style XML on the Query API, REST-JSON errors on SES v2 (`/v2/`) and
`{"error", "code"}` JSON on the JSON routes, as their other errors are, and logged one line
each.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from inbound.api.faults import AccessDenied, MisdirectedRequest
from inbound.api.query.routes import OWN_ERROR_PREFIXES, error_response
from inbound.api.v2 import routes as v2_routes
from inbound.config import Settings
from inbound.errors import SesError

log = logging.getLogger("inbound.api")

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(authority: str) -> str:
    """The host of a `Host` header or URL authority: no port, lower-case, IPv6 in brackets."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[: authority.find("]") + 1]
    return authority.partition(":")[0].rstrip(".")


def _is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def _foreign_origin(request: web.Request) -> str | None:
    """The other origin a request says it comes from, or None when it is ours or unsaid."""
    own = f"{request.scheme}://{request.headers.get('Host', '')}".lower()
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if origin.lower() == own else origin
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"a {site} page"
    referer = request.headers.get("Referer")
    if referer is None:
        return None
    parts = urlsplit(referer)
    return None if f"{parts.scheme}://{parts.netloc}".lower() == own else referer


def guard(settings: Settings) -> Middleware:
    """The middleware, outermost: nothing else runs for a refused request."""
    allowed = LOOPBACK_NAMES | {host_name(str(settings.http))} | set(settings.allowed_hosts)

    def served(host: str | None) -> bool:
        if host is None or "*" in allowed:  # no Host: HTTP/1.0, never a browser
            return True
        name = host_name(host)
        return name in allowed or name.endswith(".localhost") or _is_ip_literal(name)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        host = request.headers.get("Host")
        if not served(host):
            return _refuse(request, MisdirectedRequest(f"This server does not answer to {host}."))
        if request.method in STATE_CHANGING:
            foreign = _foreign_origin(request)
            if foreign is not None:
                return _refuse(
                    request, AccessDenied(f"Cross-origin request refused: it comes from {foreign}.")
                )
        return await handler(request)

    return middleware


def _refuse(request: web.Request, error: SesError) -> web.Response:
    log.warning(
        "refused %s %s from %s: %s", request.method, request.path, request.remote, error.message
    )
    if request.path.startswith(v2_routes.PREFIX):
        return v2_routes.error_response(error, str(uuid.uuid4()))
    if request.path.startswith(OWN_ERROR_PREFIXES):
        return web.json_response({"error": error.message, "code": error.code}, status=error.status)
    return error_response(error, str(uuid.uuid4()))
