"""The account: GetAccount and PutAccountSendingAttributes, on the same sending state as v1's
GetSendQuota, GetAccountSendingEnabled and UpdateAccountSendingEnabled; the attributes only v2
has (details, VDM, dedicated IP auto warm-up) in a document of their own per Region
(`ATTRIBUTES`), recorded and reported by GetAccount.

Production access is `[sending] production`: PutAccountDetails with ProductionAccessEnabled
opens a review (`ReviewDetails`) that is GRANTED when the server is configured for production
and stays PENDING in the sandbox (SES's reviewers are not simulated; docs/api.md)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.operations.suppression import suppression_attributes
from inbound.timestamps import from_wire, now_iso

Params = dict[str, Any]
ATTRIBUTES = "sesv2.account"  # key: Region → {"Details", "VdmAttributes", "VdmEnabledSince",
# "AutoWarmupEnabled"}


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
        "PricingAttributes": pricing(attributes.get("Pricing"), datetime.now(UTC)),
        "DeliveryAttributes": attributes.get("DeliveryAttributes", _REGIONAL_DELIVERY),
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


def next_month(moment: datetime) -> datetime:
    """The start of the monthly cycle after `moment` (calendar months, UTC)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def pricing(stored: Params | None, moment: datetime) -> Params:
    """GetAccount's PricingAttributes at `moment`: CurrentPlan "currently active" (NONE until a
    plan was chosen), NextPlan "will become active at the start of the next monthly cycle, if a
    scheduled change has been requested", which it is from then on."""
    stored = stored or {}
    current = stored.get("CurrentPlan", "NONE")
    if stored.get("NextPlan") is None:
        return {"CurrentPlan": current}
    if moment >= datetime.fromisoformat(stored["From"]):
        return {"CurrentPlan": stored["NextPlan"]}
    return {"CurrentPlan": current, "NextPlan": stored["NextPlan"]}


async def put_account_pricing_attributes(ctx: OperationContext, p: Params) -> None:
    """ "Set the pricing plan for your Amazon SES account": a change scheduled for the start of
    the next monthly cycle (GetAccount reports it as NextPlan until then); choosing the current
    plan again cancels a scheduled change."""
    now = datetime.now(UTC)
    current = pricing(_attributes(ctx).get("Pricing"), now)["CurrentPlan"]
    plan = p["Plan"]
    scheduled: Params = {"CurrentPlan": current}
    if plan != current:
        scheduled |= {"NextPlan": plan, "From": next_month(now).isoformat()}
    await _update(ctx, Pricing=scheduled)


# Before PutAccountDeliveryAttributes: SES's long-standing delivery from the sending Region's
# own shared IPs (UNCONFIRMED: the API reference names no default).
_REGIONAL_DELIVERY = {"SharedPoolDeliveryMode": "REGIONAL"}


async def put_account_delivery_attributes(ctx: OperationContext, p: Params) -> None:
    """The shared pool delivery mode (GLOBAL or REGIONAL, the model's enum), recorded per
    Region and reported by GetAccount; mail here is delivered locally either way."""
    await _update(ctx, DeliveryAttributes={"SharedPoolDeliveryMode": p["SharedPoolDeliveryMode"]})


async def put_account_vdm_attributes(ctx: OperationContext, p: Params) -> None:
    """Virtual Deliverability Manager settings, recorded with when VDM was turned on: it tracks
    what is sent from then on (`vdm_since`; operations/insights.py)."""
    attributes = p["VdmAttributes"]
    since = None
    if attributes.get("VdmEnabled") == "ENABLED":
        since = _attributes(ctx).get("VdmEnabledSince") if vdm_since(ctx) else now_iso()
    await _update(ctx, VdmAttributes=attributes, VdmEnabledSince=since)


def vdm_since(ctx: OperationContext) -> datetime | None:
    """When VDM was turned on, while it is on; None while it is off."""
    attributes = _attributes(ctx)
    enabled = (attributes.get("VdmAttributes") or {}).get("VdmEnabled") == "ENABLED"
    since = attributes.get("VdmEnabledSince")
    return from_wire(since) if enabled and since else None


async def put_account_dedicated_ip_warmup_attributes(ctx: OperationContext, p: Params) -> None:
    """Recorded; the account has no dedicated IPs to warm up. Without the member nothing
    changes, as PutAccountSendingAttributes."""
    if "AutoWarmupEnabled" in p:
        await _update(ctx, AutoWarmupEnabled=p["AutoWarmupEnabled"])
