"""What the two SES endpoints (v1's Query API on `/`, v2's REST-JSON under `/v2/`) do alike
around their codecs: a request id per request, SES errors answered in the endpoint's own
format, a crash logged and answered `InternalFailure` (a disk that cannot take the write:
`ServiceUnavailable`, in one log line, as receiving answers `451`), the body read with 413 as
an SES error, the caller identified (SigV4 under `[api] auth = "verify"`), big bodies decoded
off the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from aiohttp import web

from inbound.api import auth
from inbound.api.faults import InternalFailure, RequestEntityTooLarge, ServiceUnavailable
from inbound.errors import SesError
from inbound.ids import new_uuid
from inbound.sending.origin import LOCAL, Origin
from inbound.store import StorageError

if TYPE_CHECKING:
    from inbound.api.services import Services

log = logging.getLogger("inbound.api")

OFFLOAD = 1024 * 1024  # decode/verify bodies bigger than this off the event loop (SMTP shares it)
T = TypeVar("T")
Serve = Callable[[web.Request, str], Awaitable[web.Response]]
ErrorResponse = Callable[[SesError, str], web.Response]


def endpoint(
    serve: Serve, error_response: ErrorResponse, what: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        request_id = new_uuid()  # unique, not secret: no os.urandom per request (ids.py)
        try:
            return await serve(request, request_id)
        except SesError as error:
            return error_response(error, request_id)
        except StorageError as error:  # a full or failing disk: nothing of the request kept
            log.warning("%s request %s not served: %s", what, request_id, error)
            unavailable = ServiceUnavailable(
                "The request has failed due to a temporary failure of the server."
            )
            return error_response(unavailable, request_id)
        except Exception:
            log.exception("%s request %s failed", what, request_id)
            return error_response(
                InternalFailure("The request processing has failed because of an unknown error."),
                request_id,
            )

    return handle


async def read_body(request: web.Request) -> bytes:
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise RequestEntityTooLarge(
            f"The request body exceeds the maximum size of {request.client_max_size} bytes."
        ) from None


def caller(
    services: Services,
    request: web.Request,
    body: bytes,
    signing_names: tuple[str, ...] = auth.SIGNING_NAMES,
) -> auth.Caller:
    if services.api_auth == "verify":
        return auth.verify(
            request.method,
            request.raw_path,
            request.headers,
            body,
            services.api_credentials,
            signing_names=signing_names,
        )
    return auth.caller_of(request.headers)


def origin(request: web.Request, who: auth.Caller) -> Origin:
    """The request's client address and the access key id it was signed with (claimed and
    unchecked under `auth = "off"`); an unsigned request is the account's own ("root")."""
    return Origin(request.remote or LOCAL.source_ip, who.access_key or LOCAL.identity)


async def decoded(body: bytes, decode: Callable[[], T]) -> T:
    """`decode()` (which reads `body`), in a thread when the body is big."""
    if len(body) > OFFLOAD:
        return await asyncio.to_thread(decode)
    return decode()
