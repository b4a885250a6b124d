"""Pages of the JSON API's listings: `?limit=` (1 to 1,000, default 1,000) and `?next=`.

The body stays the JSON array it always was; the response says the rest in headers, as
RFC 8288 and most HTTP APIs do: `X-Total-Count` (rows in the whole listing when it was read)
and, while rows remain, `Link: <same URL with next=...>; rel="next"`. So nothing is cut off
without the response saying so, and clients that read the array keep working.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from inbound.records import Listing

MAX_LIMIT = 1000
_WORD_START = re.compile(r"_([a-z0-9])")


@dataclass(frozen=True)
class Window:
    limit: int
    offset: int


def window(request: web.Request) -> Window:
    """The page a request asks for; a bad `limit` or `next` is a 400 naming it."""
    raw_limit = request.query.get("limit", str(MAX_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT):
        raise _bad(f"limit must be an integer from 1 to {MAX_LIMIT}, not {raw_limit!r}")
    token = request.query.get("next")
    return Window(int(raw_limit), 0 if token is None else _offset(token))


def respond(
    request: web.Request, at: Window, listing: Listing[Any], to_json: Callable[[Any], Any]
) -> web.Response:
    headers = {"X-Total-Count": str(listing.total)}
    following = at.offset + len(listing)
    if listing and following < listing.total:
        url = request.rel_url.update_query(limit=str(at.limit), next=offset_token(following))
        headers["Link"] = f'<{url}>; rel="next"'
    return web.json_response([to_json(item) for item in listing], headers=headers)


def camel(body: Mapping[str, Any]) -> dict[str, Any]:
    """A record kept with Python's snake_case names, as the JSON API spells every member:
    camelCase (`topic_arn` → `topicArn`). Only the record's own members: values (S3 metadata,
    tags, events in another service's shape) are data and stay as they are."""
    return {_WORD_START.sub(lambda m: m.group(1).upper(), k): v for k, v in body.items()}


def offset_token(offset: int) -> str:
    """An opaque token for the entry at `offset` (also ListReceiptRuleSets' NextToken)."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def token_offset(token: str) -> int | None:
    """The offset `offset_token` made `token` from, or None for anything else."""
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return int(text) if text.isascii() and text.isdigit() else None


def _offset(token: str) -> int:
    offset = token_offset(token)
    if offset is None:
        raise _bad(f"next is not a token this API gave: {token!r}")
    return offset


def _bad(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")
