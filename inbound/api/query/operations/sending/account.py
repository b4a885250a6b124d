"""The account's sending: whether it may send, its quota (`[sending]`) and the statistics of
the last two weeks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext

Params = dict[str, Any]


async def get_account_sending_enabled(ctx: OperationContext, p: Params) -> Params:
    return {"Enabled": ctx.sending.account_sending_enabled(ctx.region)}


async def update_account_sending_enabled(ctx: OperationContext, p: Params) -> None:
    """`Enabled` is optional in the model; omitted reads as false (UNCONFIRMED)."""
    await ctx.sending.set_account_sending_enabled(ctx.region, bool(p.get("Enabled", False)))


async def get_send_quota(ctx: OperationContext, p: Params) -> Params:
    """`[sending] max_24_hour_send` and `max_send_rate` (the sandbox's "maximum of 200 messages
    per 24-hour period" and "maximum of 1 message per second" by default); SentLast24Hours
    counts the recipients sent to in the last 24 hours (DeliveryAttempts)."""
    return ctx.sender.send_quota(ctx.region)


async def get_send_statistics(ctx: OperationContext, p: Params) -> Params:
    """ "The result is a list of data points, representing the last two weeks of sending
    activity. Each data point in the list contains statistics for a 15-minute period": one per
    bucket with activity: DeliveryAttempts counts the recipients of the sent messages (not
    the mailbox simulator's)."""
    return {"SendDataPoints": ctx.sending.data_points(ctx.region)}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "GetAccountSendingEnabled": get_account_sending_enabled,
    "UpdateAccountSendingEnabled": update_account_sending_enabled,
    "GetSendQuota": get_send_quota,
    "GetSendStatistics": get_send_statistics,
}
