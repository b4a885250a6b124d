"""Tenants: CreateTenant, GetTenant, ListTenants, DeleteTenant, their resource associations
(CreateTenantResourceAssociation, DeleteTenantResourceAssociation, ListTenantResources,
ListResourceTenants) and PutTenantSuppressionAttributes, on tenant documents kept by the
sending configuration (rules and sources: `sending/tenants.py`).

Every tenant operation but CreateTenant says "TenantName cannot be empty" for an empty name;
CreateTenant checks the name's length and characters too. A named tenant that does not exist
is `NotFoundException: The requested tenant <name> does not exist.`
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.operations.identities import existing
from inbound.api.v2.operations.tags import MAX_TAGS
from inbound.errors import AlreadyExists, InvalidParameterValue
from inbound.sending import configuration as state
from inbound.sending import tenants

Params = dict[str, Any]
# Page sizes of the tenant listings: the model gives no bounds (UNCONFIRMED, docs/behaviour.md).
PAGE_DEFAULT, PAGE_MAX = 100, 1000


def _named(p: Params) -> str:
    name = str(p.get("TenantName") or "")
    if not name.strip():
        raise InvalidParameterValue("TenantName cannot be empty")
    return name


def _tenant(ctx: OperationContext, p: Params) -> dict[str, Any]:
    return ctx.sending.get(state.TENANTS, ctx.region, _named(p))


def _in_region(ctx: OperationContext) -> dict[str, Any]:
    return ctx.sending.in_region(state.TENANTS, ctx.region)


def described(tenant: Mapping[str, Any]) -> Params:
    """The Tenant shape (GetTenant, and CreateTenant's response)."""
    shown = {k: tenant[k] for k in ("TenantName", "TenantId", "TenantArn", "CreatedTimestamp")}
    shown |= {"Tags": tenant["Tags"], "SendingStatus": tenants.sending_status(tenant)}
    if "SuppressionAttributes" in tenant:
        shown["SuppressionAttributes"] = tenant["SuppressionAttributes"]
    return shown


def _page(p: Params, keys: list[str]) -> tuple[list[str], str | None]:
    size = state.page_size(p.get("PageSize"), PAGE_DEFAULT, PAGE_MAX, "PageSize")
    return state.page(keys, p.get("NextToken"), size)


# ── tenants ─────────────────────────────────────────────────────────────────────────────────
async def create_tenant(ctx: OperationContext, p: Params) -> Params:
    name = str(p["TenantName"])
    tenants.check_name(name)
    tags = p.get("Tags") or []
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValue(f"A resource can have no more than {MAX_TAGS} tags.")
    given = p.get("SuppressionAttributes") or {}
    suppression = tenants.check_suppression(
        given.get("SuppressedReasons"), given.get("SuppressionScope")
    )
    tenant = tenants.new_tenant(
        name, region=ctx.region, account_id=ctx.account_id, tags=tags, suppression=suppression
    )
    await ctx.sending.create(
        state.TENANTS,
        ctx.region,
        name,
        tenant,
        exists=AlreadyExists(f"Tenant with name {name} already exists in account {ctx.account_id}"),
        limit=tenants.MAX_TENANTS,
        what="tenants",
    )
    return described(tenant)


async def get_tenant(ctx: OperationContext, p: Params) -> Params:
    return {"Tenant": described(_tenant(ctx, p))}


async def list_tenants(ctx: OperationContext, p: Params) -> Params:
    """By name. Filter: TENANT_NAME_CONTAINS ("a substring of the tenant name") and
    SENDING_STATUS."""
    wanted = p.get("Filter") or {}
    contains, status = wanted.get("TENANT_NAME_CONTAINS"), wanted.get("SENDING_STATUS")
    if status is not None and status not in tenants.SENDING_STATUSES:
        raise InvalidParameterValue(f"Invalid sending status {status} specified.")
    found = {
        name: tenant
        for name, tenant in _in_region(ctx).items()
        if (contains is None or contains in name)
        and (status is None or tenants.sending_status(tenant) == status)
    }
    chosen, token = _page(p, sorted(found))
    info = [
        {k: found[n][k] for k in ("TenantName", "TenantId", "TenantArn", "CreatedTimestamp")}
        | {"SendingStatus": tenants.sending_status(found[n])}
        for n in chosen
    ]
    return {"Tenants": info, "NextToken": token}


async def delete_tenant(ctx: OperationContext, p: Params) -> None:
    """Its associations go with it; the resources stay."""
    await ctx.sending.delete(state.TENANTS, ctx.region, _named(p), must_exist=True)


async def put_tenant_suppression_attributes(ctx: OperationContext, p: Params) -> None:
    """Neither member: back to the account's list (the attributes are cleared). The request is
    checked before the tenant is looked up, as AWS does."""
    name = _named(p)
    suppression = tenants.check_suppression(p.get("SuppressedReasons"), p.get("SuppressionScope"))
    async with ctx.sending.editing(state.TENANTS, ctx.region, name) as tenant:
        tenant.pop("SuppressionAttributes", None)
        if suppression is not None:
            tenant["SuppressionAttributes"] = suppression


# ── resource associations ───────────────────────────────────────────────────────────────────
def _resource(ctx: OperationContext, arn: str) -> tenants.Resource:
    """The resource an ARN names, which must exist (its own NotFoundException otherwise); an
    identity under its stored name."""
    resource = tenants.parse_resource(arn, region=ctx.region, account_id=ctx.account_id)
    if resource.kind == tenants.IDENTITY:
        return dataclasses.replace(resource, name=existing(ctx, resource.name).name)
    ctx.sending.get(tenants.DOCUMENT_KINDS[resource.kind], ctx.region, resource.name)
    return resource


async def create_tenant_resource_association(ctx: OperationContext, p: Params) -> None:
    """ "A single resource can be associated with multiple tenants"; once with each."""
    name = _named(p)
    resource = _resource(ctx, p["ResourceArn"])
    async with ctx.sending.editing(state.TENANTS, ctx.region, name) as tenant:
        if tenants.association(tenant, resource) is not None:
            raise AlreadyExists(
                f"Resources {resource.arn} has already been associated with tenant {name}"
            )
        tenants.associate(tenant, resource)


async def delete_tenant_resource_association(ctx: OperationContext, p: Params) -> None:
    """Removing an association that is not there succeeds (as AWS answers, floci pull/2710)."""
    name = _named(p)
    resource = tenants.parse_resource(
        p["ResourceArn"], region=ctx.region, account_id=ctx.account_id
    )
    async with ctx.sending.editing(state.TENANTS, ctx.region, name) as tenant:
        tenant["Resources"] = [r for r in tenant["Resources"] if r["ResourceArn"] != resource.arn]


async def list_tenant_resources(ctx: OperationContext, p: Params) -> Params:
    """By ARN; the RESOURCE_TYPE filter takes AWS's spelling (`identity`,
    `configuration-set`, `template`)."""
    kind = (p.get("Filter") or {}).get("RESOURCE_TYPE")
    tenants.check_resource_type(kind)
    tenant = _tenant(ctx, p)
    held = tenant["Resources"]
    found = {r["ResourceArn"]: r for r in held if kind is None or r["ResourceType"] == kind}
    chosen, token = _page(p, sorted(found))
    listed = [{k: found[a][k] for k in ("ResourceType", "ResourceArn")} for a in chosen]
    return {"TenantResources": listed, "NextToken": token}


async def list_resource_tenants(ctx: OperationContext, p: Params) -> Params:
    """Oldest association first."""
    resource = _resource(ctx, p["ResourceArn"])
    found = {
        f"{entry['AssociatedTimestamp']}/{tenant['TenantName']}": {
            "TenantName": tenant["TenantName"],
            "TenantId": tenant["TenantId"],
            "ResourceArn": entry["ResourceArn"],
            "AssociatedTimestamp": entry["AssociatedTimestamp"],
        }
        for tenant, entry in tenants.tenants_of(
            _in_region(ctx).values(), resource.kind, resource.name
        )
    }
    chosen, token = _page(p, sorted(found))
    return {"ResourceTenants": [found[k] for k in chosen], "NextToken": token}


OPERATIONS = {
    "CreateTenant": create_tenant,
    "GetTenant": get_tenant,
    "ListTenants": list_tenants,
    "DeleteTenant": delete_tenant,
    "PutTenantSuppressionAttributes": put_tenant_suppression_attributes,
    "CreateTenantResourceAssociation": create_tenant_resource_association,
    "DeleteTenantResourceAssociation": delete_tenant_resource_association,
    "ListTenantResources": list_tenant_resources,
    "ListResourceTenants": list_resource_tenants,
}


# ── sending through a tenant ────────────────────────────────────────────────────────────────
def gate(
    ctx: OperationContext,
    name: str,
    *,
    source: str | None,
    configuration_set: str | None,
    template: str | None,
) -> dict[str, str]:
    """SendEmail and SendBulkEmail with a TenantName: the sending side's check
    (`sending/tenants.gate`, which the X-SES-TENANT header of a raw message goes through too);
    what the send records of the tenant."""
    return ctx.sender.tenant(
        ctx.region, name, source=source, configuration_set=configuration_set, template=template
    )
