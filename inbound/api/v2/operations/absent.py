"""Resources the simulated account has none of, because the operations that make them are not
implemented (they answer 501): Virtual Deliverability Manager recommendations. Their listings
are empty and anything named does not exist (`NotFoundException`, which the model lists for
each). When a Create* of these is implemented, its Get/List/Delete move out of this table to
work on what it made."""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations import Handler
from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import NotFound

Params = dict[str, Any]


def _empty(member: str) -> Handler:
    async def listing(ctx: OperationContext, p: Params) -> Params:
        return {member: []}

    return listing


def _missing(what: str, member: str) -> Handler:
    async def lookup(ctx: OperationContext, p: Params) -> Params:
        raise NotFound(f"{what} <{p[member]}> does not exist.")

    return lookup


OPERATIONS: dict[str, Handler] = {
    "ListRecommendations": _empty("Recommendations"),
}
