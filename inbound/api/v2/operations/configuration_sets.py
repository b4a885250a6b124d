"""Configuration sets: Create, Get, List and Delete on the stored sets v1's operations use, so a
set made through one API is described, listed and sent with by the other.

The stored set is v1's document (`api/query/operations/sending/configuration_sets.py`); v2's
members map onto it:
`SendingOptions.SendingEnabled` is v1's `ReputationOptions.SendingEnabled`, `TlsPolicy`
REQUIRE/OPTIONAL is v1's Require/Optional, and `TrackingOptions` is checked as v1 checks it.
v2's members v1 has no place for (Tags, SuppressionOptions, VdmOptions, ArchivingOptions,
MessageSecurityOptions, HttpsPolicy, MaxDeliverySeconds) are kept in the same document under
their v2 names and described back.
"""

from __future__ import annotations

import contextlib
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.query.operations.sending import configuration_sets as v1
from inbound.api.v2.errors import BadRequest
from inbound.api.v2.operations import dedicated
from inbound.sending import configuration as state

Params = dict[str, Any]
_TLS_TO_V1 = {"REQUIRE": "Require", "OPTIONAL": "Optional"}
_TLS_TO_V2 = {v: k for k, v in _TLS_TO_V1.items()}
KEPT = ("SuppressionOptions", "VdmOptions", "ArchivingOptions", "MessageSecurityOptions")


def _delivery(ctx: OperationContext, options: Params) -> Params:
    """DeliveryOptions as stored (v1's TlsPolicy spelling, OPTIONAL unless said). A
    `SendingPoolName` names a dedicated IP pool that exists (CreateDedicatedIpPool)."""
    pool = options.get("SendingPoolName")
    if pool is not None:
        dedicated.check_pool(ctx, pool)
    return {**options, "TlsPolicy": _TLS_TO_V1[options.get("TlsPolicy", "OPTIONAL")]}


def _message_security(options: Params) -> Params:
    """MessageSecurityOptions: its SigningScheme "is a union type, so you specify exactly one of
    its members" (DefaultScheme: no S/MIME signature; SmimeScheme with its SignatureFormat)."""
    scheme = options.get("SigningScheme") or {}
    if len([name for name, value in scheme.items() if value is not None]) != 1:
        raise BadRequest("SigningScheme must have exactly one of DefaultScheme or SmimeScheme.")
    return options


def _tracking(ctx: OperationContext, options: Params) -> Params:
    return {**options, **v1.check_tracking(ctx, options)}


async def create_configuration_set(ctx: OperationContext, p: Params) -> None:
    """Everything that can be refused is checked before the set is stored."""
    name = p["ConfigurationSetName"]
    tracking = p.get("TrackingOptions")
    if tracking is not None:
        tracking = _tracking(ctx, tracking)
    delivery = p.get("DeliveryOptions")
    if delivery is not None:
        delivery = _delivery(ctx, delivery)
    if p.get("MessageSecurityOptions") is not None:
        _message_security(p["MessageSecurityOptions"])
    await v1.create_configuration_set(ctx, {"ConfigurationSet": {"Name": name}})
    reputation = p.get("ReputationOptions") or {}
    async with ctx.sending.editing(state.CONFIGURATION_SETS, ctx.region, name) as found:
        found["TrackingOptions"] = tracking
        if delivery is not None:
            found["DeliveryOptions"] = delivery
        stored = found["ReputationOptions"]
        stored["ReputationMetricsEnabled"] = reputation.get("ReputationMetricsEnabled", False)
        if reputation.get("LastFreshStart") is not None:
            stored["LastFreshStart"] = reputation["LastFreshStart"].isoformat()
        stored["SendingEnabled"] = (p.get("SendingOptions") or {}).get("SendingEnabled", True)
        found["Tags"] = list(p.get("Tags") or ())
        for member in KEPT:
            if p.get(member) is not None:
                found[member] = p[member]


async def get_configuration_set(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])
    delivery = dict(found["DeliveryOptions"] or {"TlsPolicy": "Optional"})
    delivery["TlsPolicy"] = _TLS_TO_V2[delivery["TlsPolicy"]]
    reputation = found["ReputationOptions"]
    result: Params = {
        "ConfigurationSetName": found["Name"],
        "TrackingOptions": found["TrackingOptions"],
        "DeliveryOptions": delivery,
        "ReputationOptions": {
            "ReputationMetricsEnabled": reputation["ReputationMetricsEnabled"],
            "LastFreshStart": reputation["LastFreshStart"],
        },
        "SendingOptions": {"SendingEnabled": reputation["SendingEnabled"]},
        "Tags": found.get("Tags", []),
    }
    result.update({member: found[member] for member in KEPT if member in found})
    return result


async def list_configuration_sets(ctx: OperationContext, p: Params) -> Params:
    """PageSize as v1's MaxItems: up to 1,000 names a page."""
    listed = await v1.list_configuration_sets(
        ctx, {"MaxItems": p.get("PageSize"), "NextToken": p.get("NextToken")}
    )
    names = [entry["Name"] for entry in listed["ConfigurationSets"]]
    return {"ConfigurationSets": names, "NextToken": listed.get("NextToken")}


async def update_configuration_set(ctx: OperationContext, p: Params) -> None:
    """ "This operation performs a partial update. Only the attributes that you include in the
    request are updated; any omitted attribute is left unchanged." The model's only attribute
    is MessageSecurityOptions (recorded and described back; no message is S/MIME signed here:
    the certificates are ACM's, `certificates.py`)."""
    options = p.get("MessageSecurityOptions")
    if options is not None:
        _message_security(options)
    async with _editing(ctx, p) as found:
        if options is not None:
            found["MessageSecurityOptions"] = options


async def delete_configuration_set(ctx: OperationContext, p: Params) -> None:
    await v1.delete_configuration_set(ctx, p)


# ── options: Put* replace one group of options ───────────────────────────────────────────────
def _editing(
    ctx: OperationContext, p: Params
) -> contextlib.AbstractAsyncContextManager[dict[str, Any]]:
    return ctx.sending.editing(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])


async def put_configuration_set_delivery_options(ctx: OperationContext, p: Params) -> None:
    options = {k: v for k, v in p.items() if k != "ConfigurationSetName"}
    async with _editing(ctx, p) as found:
        found["DeliveryOptions"] = _delivery(ctx, options)


async def put_configuration_set_reputation_options(ctx: OperationContext, p: Params) -> None:
    if "ReputationMetricsEnabled" in p:
        await v1.update_configuration_set_reputation_metrics_enabled(
            ctx,
            {
                "ConfigurationSetName": p["ConfigurationSetName"],
                "Enabled": p["ReputationMetricsEnabled"],
            },
        )
    else:
        ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])


async def put_configuration_set_sending_options(ctx: OperationContext, p: Params) -> None:
    """v1's UpdateConfigurationSetSendingEnabled (re-enabling records LastFreshStart)."""
    if "SendingEnabled" in p:
        await v1.update_configuration_set_sending_enabled(
            ctx, {"ConfigurationSetName": p["ConfigurationSetName"], "Enabled": p["SendingEnabled"]}
        )
    else:
        ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])


async def put_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> None:
    """Without CustomRedirectDomain the set goes back to SES's own tracking domain."""
    options = {k: v for k, v in p.items() if k != "ConfigurationSetName"}
    async with _editing(ctx, p) as found:
        found["TrackingOptions"] = (
            _tracking(ctx, options) if options.get("CustomRedirectDomain") else None
        )


async def _replace_kept(ctx: OperationContext, p: Params, member: str, value: Any) -> None:
    """One of the recorded option groups (`KEPT`), replaced; None removes it."""
    async with _editing(ctx, p) as found:
        if value:
            found[member] = value
        else:
            found.pop(member, None)


async def put_configuration_set_archiving_options(ctx: OperationContext, p: Params) -> None:
    """Recorded (no Mail Manager archive here); without ArchiveArn archiving is off."""
    archive = {"ArchiveArn": p["ArchiveArn"]} if p.get("ArchiveArn") else None
    await _replace_kept(ctx, p, "ArchivingOptions", archive)


async def put_configuration_set_vdm_options(ctx: OperationContext, p: Params) -> None:
    await _replace_kept(ctx, p, "VdmOptions", p.get("VdmOptions"))


async def put_configuration_set_suppression_options(ctx: OperationContext, p: Params) -> None:
    """The set's override of the account's suppression reasons (sending/suppression.py): with
    SuppressedReasons (an empty list too) it overrides, without it the set uses the account's."""
    options = {k: v for k, v in p.items() if k != "ConfigurationSetName"}
    await _replace_kept(ctx, p, "SuppressionOptions", options)
