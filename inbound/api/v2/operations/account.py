"""The account: GetAccount and PutAccountSendingAttributes, on the same sending state as v1's
GetSendQuota, GetAccountSendingEnabled and UpdateAccountSendingEnabled."""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations.context import OperationContext

Params = dict[str, Any]


async def get_account(ctx: OperationContext, p: Params) -> Params:
    """ProductionAccessEnabled is `[sending] production`; SendQuota is what GetSendQuota
    reports. No dedicated IPs (DedicatedIpAutoWarmupEnabled false), and an account in good
    standing ("HEALTHY": "the status of your account is healthy")."""
    return {
        "DedicatedIpAutoWarmupEnabled": False,
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": not ctx.sender.sandbox,
        "SendQuota": ctx.sender.send_quota(ctx.region),
        "SendingEnabled": ctx.sending.account_sending_enabled(ctx.region),
    }


async def put_account_sending_attributes(ctx: OperationContext, p: Params) -> None:
    """SendingEnabled: "Enables or disables your account's ability to send email." Without it
    the call changes nothing (the member is optional and has no documented default)."""
    if "SendingEnabled" in p:
        await ctx.sending.set_account_sending_enabled(ctx.region, p["SendingEnabled"])
