"""The account-level suppression list: PutSuppressedDestination, GetSuppressedDestination,
ListSuppressedDestinations, DeleteSuppressedDestination and PutAccountSuppressionAttributes,
on the list delivery holds recipients back by and adds bounces and complaints to
(sending/suppression.py). SES Developer Guide, "Using the Amazon SES account-level suppression
list"; docs/behaviour.md "Account-level suppression list" has the decisions."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.errors import SesClientError
from inbound.records import SuppressedDestination, SuppressionReason
from inbound.sending import checks, suppression
from inbound.sending.configuration import page_size
from inbound.timestamps import now_iso, to_wire

Params = dict[str, Any]
MAX_PAGE = 1000  # PageSize has no documented bound: DECIDED, as ListEmailIdentities'
MAX_ADDRESS = 320  # RFC 5321's 64 + 1 + 255


class InvalidNextToken(SesClientError):
    code = "InvalidNextTokenException"


def reasons(given: Iterable[str]) -> list[SuppressionReason]:
    """The model's `SuppressionListReason` values (the codec refuses any other)."""
    return [SuppressionReason(r) for r in given]


def valid_address(address: str) -> bool:
    """Whether the list takes `address` (canonical already): a bare address of at most 320
    characters that the Send operations would take."""
    try:
        return len(address) <= MAX_ADDRESS and checks.address(address) == address
    except SesClientError:
        return False


def _missing(address: str) -> NotFound:
    return NotFound(f"Email address {address} does not exist on your suppression list.")


async def put_suppressed_destination(ctx: OperationContext, p: Params) -> None:
    """Adds the address, or replaces its reason and time. A malformed address is refused as
    the Send operations refuse one ("Illegal address"), as BadRequestException."""
    [reason] = reasons([p["Reason"]])
    address = suppression.canonical(p["EmailAddress"])
    if not valid_address(address):
        checks.address(address)  # SES's words for what is malformed
        raise BadRequest("Illegal address")
    entry = SuppressedDestination(address, reason, now_iso())
    await ctx.store.put_suppressed(ctx.region, [entry])


async def get_suppressed_destination(ctx: OperationContext, p: Params) -> Params:
    address = suppression.canonical(p["EmailAddress"])
    found = ctx.store.suppressed(ctx.region, [address]).get(address)
    if found is None:
        raise _missing(address)
    attributes = {"MessageId": found.message_id, "FeedbackId": found.feedback_id}
    return {
        "SuppressedDestination": {
            **_summary(found),
            "Attributes": {k: v for k, v in attributes.items() if v is not None} or None,
        }
    }


async def delete_suppressed_destination(ctx: OperationContext, p: Params) -> None:
    address = suppression.canonical(p["EmailAddress"])
    if not await ctx.store.delete_suppressed(ctx.region, [address]):
        raise _missing(address)


async def list_suppressed_destinations(ctx: OperationContext, p: Params) -> Params:
    """In the order entries were last updated (then by address), `PageSize` (up to 1,000) a
    page; `Reasons` filters (none: both), `StartDate` is inclusive and `EndDate` exclusive.
    The token names the last entry given, so an entry updated meanwhile moves to a later
    page instead of being given twice on one."""
    chosen = reasons(p.get("Reasons") or list(SuppressionReason))
    size = page_size(p.get("PageSize"), MAX_PAGE, MAX_PAGE, "PageSize")
    start, end = p.get("StartDate"), p.get("EndDate")
    found = ctx.store.suppressed_page(
        ctx.region,
        reasons=chosen,
        start=None if start is None else to_wire(start),
        end=None if end is None else to_wire(end),
        after=_after(p.get("NextToken")),
        limit=size + 1,
    )
    listed = found[:size]
    token = None
    if len(found) > size:
        last = listed[-1]
        token = base64.urlsafe_b64encode(json.dumps([last.updated, last.address]).encode())
    return {
        "SuppressedDestinationSummaries": [_summary(e) for e in listed],
        "NextToken": None if token is None else token.decode(),
    }


async def put_account_suppression_attributes(ctx: OperationContext, p: Params) -> None:
    """The reasons given replace the account's; none (or an empty list) turns the list's
    automatic additions and its holding back off."""
    chosen = reasons(p.get("SuppressedReasons") or ())
    await suppression.set_account_reasons(ctx.store, ctx.region, chosen)


def suppression_attributes(ctx: OperationContext) -> Params:
    """GetAccount's SuppressionAttributes."""
    return {"SuppressedReasons": list(suppression.account_reasons(ctx.store, ctx.region))}


def _summary(entry: SuppressedDestination) -> Params:
    return {
        "EmailAddress": entry.address,
        "Reason": str(entry.reason),
        "LastUpdateTime": entry.updated,
    }


def _after(token: str | None) -> tuple[str, str] | None:
    if not token:
        return None
    try:
        updated, address = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(updated, str) and isinstance(address, str):
            return updated, address
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidNextToken("The specified request includes an invalid or expired token.")
