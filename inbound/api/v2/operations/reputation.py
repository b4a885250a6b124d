"""Reputation entities: GetReputationEntity, ListReputationEntities,
UpdateReputationEntityCustomerManagedStatus and UpdateReputationEntityPolicy.

"Reputation entities represent resources in your Amazon SES account that have reputation
tracking and management capabilities"; the resources SES tracks that way are its tenants (the
Developer Guide's "Tenants" sets a tenant's policy and pauses it through these operations, by
the tenant's ARN), so each tenant is one entity of type RESOURCE whose reference is its ARN,
kept in the tenant's document (`sending/tenants.py`). A tenant is found by the id its ARN ends
with, as the tag operations find it.

Nothing here computes reputation findings (there is no reputation to judge), so the Amazon
SES-managed status stays ENABLED, no entity has a `ReputationImpact`, and the customer-managed
status and the policy are what the account sets. The aggregate is the tenant's SendingStatus,
which its sends obey.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.api.v2.operations import tenants as tenant_operations
from inbound.errors import SesClientError
from inbound.sending import configuration as state
from inbound.sending import tenants
from inbound.timestamps import now_iso

Params = dict[str, Any]
RESOURCE = "RESOURCE"
FILTERS = ("ENTITY_TYPE", "REPUTATION_IMPACT", "SENDING_STATUS", "ENTITY_REFERENCE_PREFIX")


def _entity(tenant: Mapping[str, Any]) -> Params:
    reputation = tenant["Reputation"]
    return {
        "ReputationEntityReference": tenant["TenantArn"],
        "ReputationEntityType": RESOURCE,
        "ReputationManagementPolicy": reputation["Policy"],
        "CustomerManagedStatus": reputation["CustomerManagedStatus"],
        "AwsSesManagedStatus": reputation["AwsSesManagedStatus"],
        "SendingStatusAggregate": tenants.sending_status(tenant),
    }


def _tenant_name(ctx: OperationContext, p: Params, missing: type[SesClientError]) -> str:
    """The name of the tenant the entity is: the one with the id the reference ends with."""
    reference = p["ReputationEntityReference"]
    tenant_id = reference.rpartition("/")[2]
    for name, tenant in ctx.sending.in_region(state.TENANTS, ctx.region).items():
        if tenant["TenantId"] == tenant_id and p["ReputationEntityType"] == RESOURCE:
            return name
    raise missing(f"Reputation entity <{reference}> does not exist.")


async def get_reputation_entity(ctx: OperationContext, p: Params) -> Params:
    name = _tenant_name(ctx, p, NotFound)
    return {"ReputationEntity": _entity(ctx.sending.get(state.TENANTS, ctx.region, name))}


async def list_reputation_entities(ctx: OperationContext, p: Params) -> Params:
    """By reference. Filters: ENTITY_TYPE, REPUTATION_IMPACT (no entity has one here),
    SENDING_STATUS (the aggregate) and ENTITY_REFERENCE_PREFIX."""
    wanted = p.get("Filter") or {}
    unknown = sorted(set(wanted) - set(FILTERS))
    if unknown:
        raise BadRequest(f"Invalid filter key {unknown[0]} specified.")
    status = wanted.get("SENDING_STATUS")
    if status is not None and status not in tenants.SENDING_STATUSES:
        raise BadRequest(f"Invalid sending status {status} specified.")
    prefix = wanted.get("ENTITY_REFERENCE_PREFIX", "")
    found = {
        entity["ReputationEntityReference"]: entity
        for entity in map(_entity, ctx.sending.in_region(state.TENANTS, ctx.region).values())
        if wanted.get("ENTITY_TYPE", RESOURCE) == RESOURCE
        and "REPUTATION_IMPACT" not in wanted
        and (status is None or entity["SendingStatusAggregate"] == status)
        and entity["ReputationEntityReference"].startswith(prefix)
    }
    size = state.page_size(
        p.get("PageSize"), tenant_operations.PAGE_DEFAULT, tenant_operations.PAGE_MAX, "PageSize"
    )
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    return {"ReputationEntities": [found[r] for r in chosen], "NextToken": token}


async def update_reputation_entity_customer_managed_status(
    ctx: OperationContext, p: Params
) -> None:
    """ENABLED, DISABLED (the tenant's sends are refused) or REINSTATED, with the cause AWS
    records for a change made through the API."""
    name = _tenant_name(ctx, p, BadRequest)
    async with ctx.sending.editing(state.TENANTS, ctx.region, name) as tenant:
        tenant["Reputation"]["CustomerManagedStatus"] = {
            "Status": p["SendingStatus"],
            "Cause": tenants.MANUAL_CAUSE,
            "LastUpdatedTimestamp": now_iso(),
        }


async def update_reputation_entity_policy(ctx: OperationContext, p: Params) -> None:
    """One of SES's predefined policies, `arn:aws:ses:<region>:aws:reputation-policy/` none,
    standard or strict."""
    tenants.check_policy(p["ReputationEntityPolicy"])
    name = _tenant_name(ctx, p, BadRequest)
    async with ctx.sending.editing(state.TENANTS, ctx.region, name) as tenant:
        tenant["Reputation"]["Policy"] = p["ReputationEntityPolicy"]


OPERATIONS = {
    "GetReputationEntity": get_reputation_entity,
    "ListReputationEntities": list_reputation_entities,
    "UpdateReputationEntityCustomerManagedStatus": (
        update_reputation_entity_customer_managed_status
    ),
    "UpdateReputationEntityPolicy": update_reputation_entity_policy,
}
