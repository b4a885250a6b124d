"""Multi-region endpoints (SES's Global endpoints): CreateMultiRegionEndpoint,
GetMultiRegionEndpoint, ListMultiRegionEndpoints and DeleteMultiRegionEndpoint, stored per
primary Region (`sending.multi-region-endpoints` documents).

On SES an endpoint "distribute[s] your SES outbound workloads across two AWS Regions": the
primary one it is created in and one secondary region ("Must contain exactly one route
configuration"); "SES automatically splits your sending traffic between the selected primary
and secondary regions" once "its Endpoint ID is specified in the SendEmail API call"
(Developer Guide, "Using Global endpoints in Amazon SES"). This engine keeps state per Region
in one process, so there is no provisioning to wait for and no impairment to route around:
CreateMultiRegionEndpoint answers CREATING, as SES does, and the endpoint is READY from then
on; DeleteMultiRegionEndpoint answers DELETING and the endpoint is gone. A send naming the
endpoint's id goes out of the Region it is made in (decisions in docs/behaviour.md).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.api.v2.operations.tags import MAX_TAGS
from inbound.errors import AlreadyExists
from inbound.sending import configuration as state
from inbound.timestamps import now_iso

Params = dict[str, Any]
# EndpointName: "min: 1, max: 64, pattern: ^[\w\-_]+$" (the model); the codec checks the length.
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
MAX_ENDPOINTS = 100  # per Region: the quotas page names none (DECIDED, docs/behaviour.md)
PAGE_DEFAULT, PAGE_MAX = 100, 1000  # PageSize: "min: 1, max: 1000"


def _check(ctx: OperationContext, p: Params) -> str:
    """The secondary Region of a new endpoint, which must be another Region than this one."""
    if _NAME.fullmatch(p["EndpointName"]) is None:
        raise BadRequest(
            f"Invalid endpoint name <{p['EndpointName']}>: only alphanumeric ASCII characters, "
            "'_' and '-' are allowed."
        )
    routes = p["Details"]["RoutesDetails"]
    if len(routes) != 1:
        raise BadRequest("RoutesDetails must contain exactly one route configuration.")
    region = routes[0]["Region"]
    if _REGION.fullmatch(region) is None:
        raise BadRequest(f"Invalid region <{region}>.")
    if region == ctx.region:
        raise BadRequest(
            f"The secondary region <{region}> must be different from the primary region."
        )
    if len(p.get("Tags") or ()) > MAX_TAGS:
        raise BadRequest(f"A resource can have no more than {MAX_TAGS} tags.")
    return str(region)


async def create_multi_region_endpoint(ctx: OperationContext, p: Params) -> Params:
    secondary = _check(ctx, p)
    name = p["EndpointName"]
    created = now_iso()
    endpoint = {
        "EndpointName": name,
        "EndpointId": f"{secrets.token_hex(4)}.{secrets.token_hex(2)}",
        "Regions": [ctx.region, secondary],
        "CreatedTimestamp": created,
        "LastUpdatedTimestamp": created,
        "Tags": list(p.get("Tags") or ()),
    }
    await ctx.sending.create(
        state.MULTI_REGION_ENDPOINTS,
        ctx.region,
        name,
        endpoint,
        exists=AlreadyExists(f"Multi-region endpoint <{name}> already exists."),
        limit=MAX_ENDPOINTS,
        what="multi-region endpoints",
    )
    return {"Status": "CREATING", "EndpointId": endpoint["EndpointId"]}


async def get_multi_region_endpoint(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.MULTI_REGION_ENDPOINTS, ctx.region, p["EndpointName"])
    shown = {k: found[k] for k in ("EndpointName", "EndpointId")}
    shown |= {"Routes": [{"Region": r} for r in found["Regions"]], "Status": "READY"}
    return shown | {k: found[k] for k in ("CreatedTimestamp", "LastUpdatedTimestamp")}


async def list_multi_region_endpoints(ctx: OperationContext, p: Params) -> Params:
    """By name, those whose primary Region is this one."""
    found = ctx.sending.in_region(state.MULTI_REGION_ENDPOINTS, ctx.region)
    size = state.page_size(p.get("PageSize"), PAGE_DEFAULT, PAGE_MAX, "PageSize")
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    listed = [
        {k: found[n][k] for k in ("EndpointName", "EndpointId", "Regions")}
        | {"Status": "READY"}
        | {k: found[n][k] for k in ("CreatedTimestamp", "LastUpdatedTimestamp")}
        for n in chosen
    ]
    return {"MultiRegionEndpoints": listed, "NextToken": token}


async def delete_multi_region_endpoint(ctx: OperationContext, p: Params) -> Params:
    name = p["EndpointName"]
    await ctx.sending.delete(state.MULTI_REGION_ENDPOINTS, ctx.region, name, must_exist=True)
    return {"Status": "DELETING"}


def check_endpoint_id(ctx: OperationContext, endpoint_id: str | None) -> None:
    """SendEmail and SendBulkEmail's EndpointId names an endpoint of the Region the send is
    made in."""
    if endpoint_id is None:
        return
    endpoints = ctx.sending.in_region(state.MULTI_REGION_ENDPOINTS, ctx.region).values()
    if all(e["EndpointId"] != endpoint_id for e in endpoints):
        raise NotFound(f"Multi-region endpoint with id <{endpoint_id}> does not exist.")


OPERATIONS = {
    "CreateMultiRegionEndpoint": create_multi_region_endpoint,
    "GetMultiRegionEndpoint": get_multi_region_endpoint,
    "ListMultiRegionEndpoints": list_multi_region_endpoints,
    "DeleteMultiRegionEndpoint": delete_multi_region_endpoint,
}
