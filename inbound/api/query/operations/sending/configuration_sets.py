"""Configuration sets and their options: create, delete, describe and list; tracking, delivery
and reputation options, and whether a set may send. Validation and paging are in
`inbound/sending/configuration.py`; the state and its lock are the server's
`SendingConfiguration` (`inbound/sending/service.py`)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.errors import (
    ConfigurationSetAlreadyExists,
    InvalidConfigurationSet,
    InvalidTrackingOptions,
    TrackingOptionsAlreadyExists,
    TrackingOptionsDoesNotExist,
)
from inbound.rules.validate import is_verified
from inbound.sending import configuration as state
from inbound.sending import tenants
from inbound.timestamps import now_iso

Params = dict[str, Any]


def editing_configuration_set(
    ctx: OperationContext, name: str
) -> contextlib.AbstractAsyncContextManager[dict[str, Any]]:
    """The stored set, edited under the sending configuration's lock (its options here, its
    event destinations in event_destinations.py)."""
    return ctx.sending.editing(state.CONFIGURATION_SETS, ctx.region, name)


async def create_configuration_set(ctx: OperationContext, p: Params) -> Params:
    """ConfigurationSet.Name: "Contain only letters (a-z, A-Z), numbers (0-9), underscores (_),
    or dashes (-). Contain 64 characters or fewer." → `InvalidConfigurationSet` ("Indicates
    that the configuration set is invalid"). Limit: 10,000 per account and Region (SES quotas)."""
    name = p["ConfigurationSet"]["Name"]
    if not state.valid_name(name):
        raise InvalidConfigurationSet(
            f"Configuration set <{name}> is invalid: the name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    body = {
        "Name": name,
        "CreatedTimestamp": now_iso(),
        "EventDestinations": [],
        "TrackingOptions": None,
        "DeliveryOptions": None,
        "ReputationOptions": {
            "SendingEnabled": True,  # "The default value is true."
            "ReputationMetricsEnabled": False,  # "The default value is false."
            "LastFreshStart": None,
        },
    }
    await ctx.sending.create(
        state.CONFIGURATION_SETS,
        ctx.region,
        name,
        body,
        exists=ConfigurationSetAlreadyExists(
            f"Configuration set <{name}> already exists.", ConfigurationSetName=name
        ),
        limit=state.MAX_CONFIGURATION_SETS,
        what="configuration sets",
    )
    return {}


async def delete_configuration_set(ctx: OperationContext, p: Params) -> Params:
    name = p["ConfigurationSetName"]
    held = ctx.sending.in_region(state.TENANTS, ctx.region).values()
    tenants.refuse_deleting(held, tenants.CONFIGURATION_SET, name)  # SES API v2's tenants
    await ctx.sending.delete(state.CONFIGURATION_SETS, ctx.region, name, must_exist=True)
    return {}


async def describe_configuration_set(ctx: OperationContext, p: Params) -> Params:
    """Only the attributes named in ConfigurationSetAttributeNames ("A list of configuration set
    attributes to return"). Never-set delivery options are described as SES's default
    (`TlsPolicy: Optional`, UNCONFIRMED); absent tracking options are omitted."""
    found = ctx.sending.get(state.CONFIGURATION_SETS, ctx.region, p["ConfigurationSetName"])
    wanted = set(p.get("ConfigurationSetAttributeNames") or ())
    result: Params = {"ConfigurationSet": {"Name": found["Name"]}}
    if "eventDestinations" in wanted:
        result["EventDestinations"] = found["EventDestinations"]
    if "trackingOptions" in wanted and found["TrackingOptions"] is not None:
        result["TrackingOptions"] = found["TrackingOptions"]
    if "deliveryOptions" in wanted:
        result["DeliveryOptions"] = found["DeliveryOptions"] or {"TlsPolicy": "Optional"}
    if "reputationOptions" in wanted:
        reputation = found["ReputationOptions"]
        result["ReputationOptions"] = {k: v for k, v in reputation.items() if v is not None}
    return result


async def list_configuration_sets(ctx: OperationContext, p: Params) -> Params:
    """By name. "This operation returns up to 1,000 configuration sets each time it is run";
    MaxItems ("The number of configuration sets to return") narrows that."""
    names = sorted(ctx.sending.in_region(state.CONFIGURATION_SETS, ctx.region))
    size = state.page_size(
        p.get("MaxItems"),
        state.LIST_CONFIGURATION_SETS_PAGE,
        state.LIST_CONFIGURATION_SETS_PAGE,
        "MaxItems",
    )
    chosen, token = state.page(names, p.get("NextToken"), size)
    result: Params = {"ConfigurationSets": [{"Name": n} for n in chosen]}
    if token:
        result["NextToken"] = token
    return result


def check_tracking(ctx: OperationContext, options: Params) -> Params:
    """InvalidTrackingOptions "appears most often in the following situations: When the
    tracking domain you specified is not verified in Amazon SES. When the tracking domain you
    specified is not a valid domain or subdomain." Verified means the domain or a parent
    domain is a verified identity."""
    domain = options.get("CustomRedirectDomain")
    if domain is not None:
        if state.DOMAIN.fullmatch(domain) is None:
            raise InvalidTrackingOptions(f"Invalid custom redirect domain: {domain}")
        if not is_verified(domain, ctx.keeper.current.verified):
            raise InvalidTrackingOptions(
                f"Custom redirect domain <{domain}> is not verified in Amazon SES."
            )
    return dict(options)


async def create_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is not None:
            raise TrackingOptionsAlreadyExists(
                f"Tracking options already exist for configuration set <{set_name}>.",
                ConfigurationSetName=set_name,
            )
        found["TrackingOptions"] = check_tracking(ctx, p["TrackingOptions"])
    return {}


def _tracking_missing(set_name: str) -> TrackingOptionsDoesNotExist:
    return TrackingOptionsDoesNotExist(
        f"Tracking options do not exist for configuration set <{set_name}>.",
        ConfigurationSetName=set_name,
    )


async def update_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is None:
            raise _tracking_missing(set_name)
        found["TrackingOptions"] = check_tracking(ctx, p["TrackingOptions"])
    return {}


async def delete_configuration_set_tracking_options(ctx: OperationContext, p: Params) -> Params:
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        if found["TrackingOptions"] is None:
            raise _tracking_missing(set_name)
        found["TrackingOptions"] = None
    return {}


async def put_configuration_set_delivery_options(ctx: OperationContext, p: Params) -> Params:
    """ "Adds or updates the delivery options": TlsPolicy Require/Optional (the enum is checked
    by the codec as a ValidationError, so `InvalidDeliveryOptions` has nothing left to catch
    in the v1 shape). Omitted DeliveryOptions or TlsPolicy mean Optional."""
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        policy = (p.get("DeliveryOptions") or {}).get("TlsPolicy", "Optional")
        found["DeliveryOptions"] = {"TlsPolicy": policy}
    return {}


async def update_configuration_set_reputation_metrics_enabled(
    ctx: OperationContext, p: Params
) -> None:
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        found["ReputationOptions"]["ReputationMetricsEnabled"] = p["Enabled"]


async def update_configuration_set_sending_enabled(ctx: OperationContext, p: Params) -> None:
    """ReputationOptions.LastFreshStart: "When you disable email sending for a configuration
    set using UpdateConfigurationSetSendingEnabled and later re-enable it, the reputation
    metrics for the configuration set … are reset." That moment is recorded."""
    set_name = p["ConfigurationSetName"]
    async with editing_configuration_set(ctx, set_name) as found:
        reputation = found["ReputationOptions"]
        if p["Enabled"] and not reputation["SendingEnabled"]:
            reputation["LastFreshStart"] = now_iso()
        reputation["SendingEnabled"] = p["Enabled"]


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateConfigurationSet": create_configuration_set,
    "DeleteConfigurationSet": delete_configuration_set,
    "DescribeConfigurationSet": describe_configuration_set,
    "ListConfigurationSets": list_configuration_sets,
    "CreateConfigurationSetTrackingOptions": create_configuration_set_tracking_options,
    "UpdateConfigurationSetTrackingOptions": update_configuration_set_tracking_options,
    "DeleteConfigurationSetTrackingOptions": delete_configuration_set_tracking_options,
    "PutConfigurationSetDeliveryOptions": put_configuration_set_delivery_options,
    "UpdateConfigurationSetReputationMetricsEnabled": (
        update_configuration_set_reputation_metrics_enabled
    ),
    "UpdateConfigurationSetSendingEnabled": update_configuration_set_sending_enabled,
}
