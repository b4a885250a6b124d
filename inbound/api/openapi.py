"""The JSON API's OpenAPI 3.1 description: served at `GET /api/openapi.json` (`api/__init__.py`,
which imports this module with the first request for it), and the source of the reference in
docs/json-api.md (written by `openapi_doc.py`).

Built here from the routes' table and the records the routes answer with: the embedded
backends' records and identities are listed as their dataclass fields (`pages.camel`), so
their schemas come from the same fields; the records with a hand-written `to_json` are
described by hand. tests/api/test_json_api.py checks that every `/api/*` route registered in
aiohttp is described, and that each described response has exactly the fields a real one has.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from inbound import records
from inbound.api.pages import MAX_LIMIT, camel
from inbound.identities.rules import Identity
from inbound.receiving.forced import SOURCES

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_NULLABLE_STRING: Schema = {"type": ["string", "null"]}
_ANY: Schema = {}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: Mapping[str, Schema], description: str = "") -> Schema:
    body: Schema = {
        "type": "object",
        "properties": dict(properties),
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        body["description"] = description
    return body


def _type_schema(annotation: Any) -> Schema:
    """A JSON schema for a record field's Python type, as `json.dumps` writes its value."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        members = [_type_schema(a) for a in typing.get_args(annotation) if a is not type(None)]
        nullable = type(None) in typing.get_args(annotation)
        if len(members) == 1 and "type" in members[0]:
            kind = members[0]["type"]
            return {**members[0], "type": [kind, "null"] if nullable else kind}
        return {"anyOf": [*members, *([{"type": "null"}] if nullable else [])]}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return {"type": "string", "enum": [m.value for m in annotation]}
    if origin in (tuple, list, frozenset, set):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        return {"type": "array", "items": _type_schema(args[0]) if args else _ANY}
    if origin in (dict, Mapping) or annotation in (dict, Mapping):
        pair = typing.get_args(annotation)
        return {"type": "object", "additionalProperties": _type_schema(pair[1]) if pair else {}}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return {"type": simple[annotation]} if annotation in simple else _ANY


def _record(cls: type, description: str) -> Schema:
    """The schema of a dataclass listed as `camel(asdict(record))`."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: _type_schema(hints[f.name]) for f in dataclasses.fields(cls)}
    return _object(camel(fields), description)


def _enum(values: type[enum.Enum], nullable: bool = False) -> Schema:
    kind: Any = ["string", "null"] if nullable else "string"
    return {"type": kind, "enum": [m.value for m in values] + ([None] if nullable else [])}


_MESSAGE = {
    "messageId": _STRING,
    "receivedAt": _STRING,
    "mailFrom": _STRING,
    "recipients": {"type": "array", "items": _STRING},
    "clientIp": _STRING,
    "helo": _STRING,
    "tls": {"type": "boolean"},
    "size": {"type": "integer"},
    "status": _enum(records.MessageStatus),
    "finishedAt": _NULLABLE_STRING,
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": _STRING}, "What was wrong with the request."),
    "Stats": _object(
        {k: {"type": "integer"} for k in ("messages", "pending", "sent", "sentPending")},
        "Received messages (all, still pending) and sent ones (all, still being delivered).",
    ),
    "Message": _object(_MESSAGE, "A received message (`MessageRecord`)."),
    "MessageDetail": _object(
        {
            **_MESSAGE,
            "trace": {"type": "array", "items": ref("TraceStep")},
            "retries": {"type": "array", "items": ref("Retry")},
        },
        "A received message with its path through the rules and its retries.",
    ),
    "TraceStep": _object(
        {
            "seq": {"type": "integer"},
            "kind": _enum(records.TraceKind),
            "rule": _NULLABLE_STRING,
            "action": _NULLABLE_STRING,
            "outcome": _NULLABLE_STRING,
            "ms": {"type": ["number", "null"]},
            "detail": {"type": "object", "description": "what the step saw or did"},
            "error": _NULLABLE_STRING,
        },
        "One step of a message's processing: its verdicts, a rule matched, an action run.",
    ),
    "Retry": _object(
        {
            "messageId": _STRING,
            "rule": _STRING,
            "ruleIndex": {"type": "integer"},
            "actionIndex": {"type": "integer"},
            "action": _STRING,
            "status": _enum(records.RetryStatus),
            "attempts": {"type": "integer"},
            "deadline": _STRING,
            "nextAttempt": _NULLABLE_STRING,
            "lastError": _NULLABLE_STRING,
            "dsn": _NULLABLE_STRING,
            "created": _STRING,
            "updated": _STRING,
        },
        "A failed action retried until its deadline (docs/behaviour.md, retries).",
    ),
    "RetryStarted": _object(
        {"messageId": _STRING, "retries": {"type": "array", "items": ref("Retry")}}
    ),
    "Reset": _object({"reset": {"type": "boolean", "const": True}}),
    "SentMessage": _object(
        {
            "messageId": _STRING,
            "operation": _STRING,
            "created": _STRING,
            "source": _STRING,
            "mailFrom": _STRING,
            "recipients": {"type": "array", "items": _STRING},
            "returnPath": _STRING,
            "configurationSet": _NULLABLE_STRING,
            "tags": {"type": "object", "additionalProperties": _STRING},
            "status": _enum(records.SentStatus),
            "size": {"type": "integer"},
            "trace": {"type": "array", "items": {"type": "object"}},
        },
        "A message a Send* operation accepted, with what the sending path did.",
    ),
    "StoredObject": _record(records.StoredObject, "An object the embedded S3 stored."),
    "Notification": _record(
        records.Notification, "An SNS publication and what each HTTP subscriber answered."
    ),
    "LambdaInvocation": _record(
        records.LambdaInvocation, "A Lambda invocation: the event and the handler's response."
    ),
    "OutboxMessage": _record(
        records.OutboxMessage, "A message queued for the relay (bounces, forwarded feedback)."
    ),
    "OutboxRetry": _object(
        {"id": _STRING, "status": _enum(records.OutboxStatus), "was": _enum(records.OutboxStatus)}
    ),
    "MailboxDelivery": _record(
        records.MailboxDelivery, "A message the embedded WorkMail added to a Maildir."
    ),
    "MetricPoint": _record(records.MetricPoint, "A CloudWatch data point (event destinations)."),
    "StreamRecord": _record(records.StreamRecord, "A Kinesis Data Firehose record."),
    "RecordedEvent": _record(records.RecordedEvent, "An EventBridge or Pinpoint event."),
    "Identity": _record(Identity, "A sending identity as stored (verified or not)."),
    "IdentityConfirmed": _object({"identity": _STRING, "verificationStatus": _STRING}),
    "DkimRecord": _object(
        {
            "identity": _STRING,
            "domain": _STRING,
            "dkimEnabled": {"type": "boolean"},
            "dkimVerificationStatus": _STRING,
            "selector": _STRING,
            "recordName": _STRING,
            "recordType": {"type": "string", "const": "TXT"},
            "recordValue": _STRING,
        },
        "The DNS TXT record that publishes an identity's DKIM key.",
    ),
    "Override": {
        "type": "object",
        "description": "A forced verdict (docs/authentication.md, 'Forced verdicts'); the "
        "verdict members (`spam`, `virus`, `spf`, `dkim`, `dmarc`) are present when forced.",
        "properties": {
            "name": _STRING,
            "source": {"type": "string", "enum": list(SOURCES)},
            "ruleSet": _STRING,
            "sender": _STRING,
            "dmarcPolicy": _STRING,
        },
        "required": ["name", "source"],
        "additionalProperties": {"type": "string"},
    },
    "Deleted": {
        "type": "object",
        "properties": {"deleted": {"type": ["string", "array"], "items": _STRING}},
        "required": ["deleted"],
        "additionalProperties": False,
    },
    "Rules": {
        "type": "object",
        "description": "rules.json: SES's own shapes (ListReceiptFilters' `Filters`, "
        "DescribeReceiptRuleSet's `Metadata` and `Rules`), so the members are PascalCase.",
        "properties": {
            "Filters": {"type": "array", "items": {"type": "object"}},
            "ActiveRuleSet": _NULLABLE_STRING,
            "RuleSets": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["Filters", "ActiveRuleSet", "RuleSets"],
        "additionalProperties": False,
    },
    "RulesError": _object({"error": _STRING, "code": _STRING}),
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    answer: str | None  # a schema name; None: not JSON (`content`)
    listing: bool = False  # a JSON array of `answer`, in pages
    status: int = 200
    content: str = "application/json"
    body: str | None = None  # the request body's schema
    errors: tuple[int, ...] = ()
    query: tuple[tuple[str, str], ...] = ()


ROUTES = (
    Route("GET", "/api/stats", "Counts of received and sent messages.", "Stats"),
    Route(
        "GET",
        "/api/messages",
        "Received messages, oldest first.",
        "Message",
        listing=True,
        query=(
            ("status", "`pending` or `done`"),
            ("retries", "`pending`, `delivered` or `expired`: those with such a retry"),
        ),
        errors=(400,),
    ),
    Route(
        "DELETE",
        "/api/messages",
        "Reset: every message, sent message, object and record.",
        "Reset",
    ),
    Route(
        "GET",
        "/api/messages/{id}",
        "A message, its trace and its retries.",
        "MessageDetail",
        errors=(404,),
    ),
    Route(
        "GET",
        "/api/messages/{id}/raw",
        "The message as received.",
        None,
        content="message/rfc822",
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/messages/{id}/retry",
        "Retry its pending and expired actions now.",
        "RetryStarted",
        status=202,
        errors=(404, 409),
    ),
    Route(
        "GET",
        "/api/retries",
        "Retry entries, oldest first.",
        "Retry",
        listing=True,
        query=(("status", "`pending`, `delivered` or `expired`"),),
        errors=(400,),
    ),
    Route("GET", "/api/s3", "Objects the embedded S3 stored.", "StoredObject", listing=True),
    Route(
        "GET",
        "/api/s3/{bucket}/{key}",
        "An object's bytes (its metadata as `x-amz-meta-*` headers).",
        None,
        content="application/octet-stream",
        errors=(400, 404),
    ),
    Route("GET", "/api/notifications", "SNS publications.", "Notification", listing=True),
    Route("GET", "/api/lambda", "Lambda invocations.", "LambdaInvocation", listing=True),
    Route("GET", "/api/outbox", "The outbox, with relay state.", "OutboxMessage", listing=True),
    Route(
        "GET",
        "/api/outbox/{id}/raw",
        "An outbox message's bytes.",
        None,
        content="message/rfc822",
        errors=(404,),
    ),
    Route(
        "POST",
        "/api/outbox/{id}/retry",
        "Relay a deferred or failed message now.",
        "OutboxRetry",
        errors=(404, 409),
    ),
    Route("GET", "/api/workmail", "WorkMail deliveries.", "MailboxDelivery", listing=True),
    Route("GET", "/api/metrics", "CloudWatch data points.", "MetricPoint", listing=True),
    Route("GET", "/api/firehose", "Firehose records.", "StreamRecord", listing=True),
    Route("GET", "/api/eventbridge", "EventBridge events.", "RecordedEvent", listing=True),
    Route("GET", "/api/pinpoint", "Pinpoint events.", "RecordedEvent", listing=True),
    Route("GET", "/api/sent", "Sent messages, oldest first.", "SentMessage", listing=True),
    Route("GET", "/api/sent/{id}", "A sent message.", "SentMessage", errors=(404,)),
    Route(
        "GET",
        "/api/sent/{id}/raw",
        "A sent message as built.",
        None,
        content="message/rfc822",
        errors=(404,),
    ),
    Route("GET", "/api/rules", "The receipt state in use, as rules.json.", "Rules"),
    Route(
        "PUT",
        "/api/rules",
        "Replace the receipt state (the API's validation, all-or-nothing).",
        "Rules",
        body="Rules",
        errors=(400,),
    ),
    Route("GET", "/api/verdicts", "Every forced verdict in force.", "Override", listing=True),
    Route("DELETE", "/api/verdicts", "Remove every API override.", "Deleted"),
    Route(
        "GET", "/api/verdicts/{name}", "The API's override of that name.", "Override", errors=(404,)
    ),
    Route(
        "PUT",
        "/api/verdicts/{name}",
        "Set an override.",
        "Override",
        body="Override",
        errors=(400,),
    ),
    Route("DELETE", "/api/verdicts/{name}", "Remove an override.", "Deleted", errors=(404,)),
    Route("GET", "/api/identities", "Every identity, as stored.", "Identity", listing=True),
    Route(
        "POST",
        "/api/identities/{identity}/confirm",
        "Click an address's verification link.",
        "IdentityConfirmed",
        errors=(400, 404),
    ),
    Route(
        "GET",
        "/api/identities/{identity}/dkim",
        "The DKIM key's DNS record.",
        "DkimRecord",
        errors=(404,),
    ),
    Route("GET", "/api/openapi.json", "This description (OpenAPI 3.1).", None),
)

_PAGES = (
    ("limit", f"rows per page, 1 to {MAX_LIMIT} (default {MAX_LIMIT})"),
    ("next", "the token of the next page (from the `Link` header)"),
)


def _operation(route: Route) -> Schema:
    answer: Schema
    if route.answer is None:
        answer = {"description": route.summary, "content": {route.content: {}}}
    else:
        schema = ref(route.answer)
        if route.listing:
            schema = {"type": "array", "items": schema}
        answer = {"description": "OK", "content": {"application/json": {"schema": schema}}}
        if route.listing:
            answer["headers"] = {
                "X-Total-Count": {"schema": {"type": "integer"}},
                "Link": {"schema": _STRING, "description": '`<url>; rel="next"` while rows remain'},
            }
    error = "RulesError" if route.path == "/api/rules" else "Error"
    responses = {str(route.status): answer} | {
        str(code): {
            "description": "refused",
            "content": {"application/json": {"schema": ref(error)}},
        }
        for code in route.errors
    }
    operation: Schema = {"summary": route.summary, "responses": responses}
    names = re.findall(r"{(\w+)}", route.path)
    query = (*route.query, *(_PAGES if route.listing else ()))
    parameters = [{"name": n, "in": "path", "required": True, "schema": _STRING} for n in names] + [
        {"name": n, "in": "query", "description": d, "schema": _STRING} for n, d in query
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(route.body)}},
        }
    return operation


@cache
def document() -> Schema:
    from inbound import __version__

    paths: dict[str, Schema] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "inbound JSON API",
            "version": __version__,
            "description": "What inbound received, sent and did (docs/json-api.md). Under "
            '`[api] auth = "verify"` every route needs a SigV4 signature or the bearer token.',
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer"},
                "sigv4": {"type": "apiKey", "name": "Authorization", "in": "header"},
            },
        },
    }
