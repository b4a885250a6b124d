"""The account: GetAccount and PutAccountSendingAttributes, on the same sending state as v1's
GetSendQuota, GetAccountSendingEnabled and UpdateAccountSendingEnabled; the attributes only v2
has (details, VDM, dedicated IP auto warm-up) in a document of their own per Region
(`ATTRIBUTES`), recorded and reported by GetAccount.

Production access is `[sending] production`: PutAccountDetails with ProductionAccessEnabled
opens a review (`ReviewDetails`) that is GRANTED when the server is configured for production
and stays PENDING in the sandbox (SES's reviewers are not simulated; docs/api.md)."""

from __future__ import annotations

import secrets
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.operations.suppression import suppression_attributes

Params = dict[str, Any]
ATTRIBUTES = "sesv2.account"  # key: Region → {"Details", "VdmAttributes", "AutoWarmupEnabled"}


def _attributes(ctx: OperationContext) -> Params:
    return dict(ctx.store.document(ATTRIBUTES, ctx.region) or {})


async def _update(ctx: OperationContext, **changes: Any) -> None:
    await ctx.store.put_document(ATTRIBUTES, ctx.region, {**_attributes(ctx), **changes})


async def get_account(ctx: OperationContext, p: Params) -> Params:
    """ProductionAccessEnabled is `[sending] production`; SendQuota is what GetSendQuota
    reports; SuppressionAttributes what PutAccountSuppressionAttributes set. No dedicated IPs
    (DedicatedIpAutoWarmupEnabled false), and an account in good standing ("HEALTHY": "the
    status of your account is healthy")."""
    attributes = _attributes(ctx)
    details = attributes.get("Details")
    if details is not None and "ReviewDetails" in details:
        status = "GRANTED" if not ctx.sender.sandbox else "PENDING"
        details = {**details, "ReviewDetails": {**details["ReviewDetails"], "Status": status}}
    return {
        "DedicatedIpAutoWarmupEnabled": attributes.get("AutoWarmupEnabled", False),
        "EnforcementStatus": "HEALTHY",
        "ProductionAccessEnabled": not ctx.sender.sandbox,
        "SendQuota": ctx.sender.send_quota(ctx.region),
        "SendingEnabled": ctx.sending.account_sending_enabled(ctx.region),
        "Details": details,
        "VdmAttributes": attributes.get("VdmAttributes"),
        "SuppressionAttributes": suppression_attributes(ctx),
    }


async def put_account_sending_attributes(ctx: OperationContext, p: Params) -> None:
    """SendingEnabled: "Enables or disables your account's ability to send email." Without it
    the call changes nothing (the member is optional and has no documented default)."""
    if "SendingEnabled" in p:
        await ctx.sending.set_account_sending_enabled(ctx.region, p["SendingEnabled"])


async def put_account_details(ctx: OperationContext, p: Params) -> None:
    """The details as given; ProductionAccessEnabled true opens a review with a case id."""
    details = {k: v for k, v in p.items() if k != "ProductionAccessEnabled"}
    if p.get("ProductionAccessEnabled"):
        details["ReviewDetails"] = {"CaseId": str(secrets.randbelow(10**10)).zfill(10)}
    await _update(ctx, Details=details)


async def put_account_vdm_attributes(ctx: OperationContext, p: Params) -> None:
    """Virtual Deliverability Manager settings, recorded (there is no dashboard to feed)."""
    await _update(ctx, VdmAttributes=p["VdmAttributes"])


async def put_account_dedicated_ip_warmup_attributes(ctx: OperationContext, p: Params) -> None:
    """Recorded; the account has no dedicated IPs to warm up. Without the member nothing
    changes, as PutAccountSendingAttributes."""
    if "AutoWarmupEnabled" in p:
        await _update(ctx, AutoWarmupEnabled=p["AutoWarmupEnabled"])
