"""The SNS Query API on `/`, beside SES v1's: same protocol, told apart by the SigV4 credential
scope's service (`sns`), or, unsigned, by an SNS-only action in the query string (a GET of a
SubscribeURL or an UnsubscribeURL, which SNS serves without a signature).

The Query codec is SES v1's (`api/query/codec.py`, `xml.py`) with botocore's `sns` model, so
requests decode and answers and errors encode exactly as for SES, in SNS's namespace and with
SNS's error codes and statuses. The operations work on the embedded SNS
(`backends/local_sns.py`); with `[backends.sns] kind = "aws"` there is none, and every
operation answers 501 saying so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from inbound.api import auth
from inbound.api.aws.routing import SNS_UNSIGNED
from inbound.api.aws.sns_operations import OPERATIONS, SnsContext
from inbound.api.endpoint import caller, decoded, endpoint, read_body
from inbound.api.faults import MethodNotAllowed, NotImplementedOperation
from inbound.api.query import codec as query
from inbound.api.query import xml
from inbound.api.query.routes import FORM, xml_response
from inbound.backends.local_sns import LocalSns
from inbound.errors import SesError

if TYPE_CHECKING:
    from inbound.api.services import Services

MODEL = "sns"
SIGNING_NAMES = ("sns",)


def handler(services: Services) -> Callable[[web.Request], Awaitable[web.Response]]:
    """What answers the requests `api.aws.sns_claims` takes."""

    async def serve(request: web.Request, request_id: str) -> web.Response:
        return await _serve(request, request_id, services)

    return endpoint(serve, error_response, "SNS Query")


async def _serve(request: web.Request, request_id: str, services: Services) -> web.Response:
    if request.method not in ("GET", "POST"):
        raise MethodNotAllowed(
            f"The HTTP method {request.method} is not allowed: the SNS Query API takes GET or POST."
        )
    body = await read_body(request)
    body_is_form = request.content_type == FORM or "Content-Type" not in request.headers
    params = query.form_params(request.rel_url.raw_query_string, body, body_is_form=body_is_form)
    signed = "Authorization" in request.headers
    who = auth.Caller()
    if signed or params.get("Action") not in SNS_UNSIGNED:
        who = caller(services, request, body, SIGNING_NAMES)
    operation = query.operation_for(params, MODEL)
    handler = OPERATIONS.get(operation.name)
    if handler is None:
        raise NotImplementedOperation(
            f"inbound does not implement the SNS operation {operation.name}."
        )
    sns = services.backends.publisher if services.backends is not None else None
    if not isinstance(sns, LocalSns):
        raise NotImplementedOperation(
            '[backends.sns] kind = "aws": the embedded SNS is off, its API with it.'
        )
    kwargs = await decoded(body, lambda: query.decode(operation, params))
    region = who.region or _arn_region(params) or services.region
    result = await handler(SnsContext(region, services.account_id, sns), kwargs)
    return xml_response(200, xml.result_document(operation, result, request_id), request_id)


def _arn_region(params: dict[str, str]) -> str | None:
    """An unsigned link's Region: its ARN's."""
    arn = params.get("TopicArn") or params.get("SubscriptionArn") or ""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


def error_response(error: SesError, request_id: str) -> web.Response:
    status, body = xml.error_document(error, request_id, MODEL)
    return xml_response(status, body, request_id)
