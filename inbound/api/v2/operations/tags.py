"""TagResource, UntagResource and ListTagsForResource on the resources that keep tags: email
identities (on the identity record), configuration sets, email templates, custom
verification email templates, dedicated IP pools, contact lists, tenants and multi-region
endpoints (in their stored documents, as their Create operations keep them).

A resource is named by its ARN, `arn:aws:ses:<region>:<account>:<type>/<name>` (type
`identity`, `configuration-set`, `template`, `custom-verification-email-template`,
`dedicated-ip-pool`, `contact-list` or `multi-region-endpoint`); the Region of the ARN is the
one looked in. A tenant's is `tenant/<name>/<id>`, and AWS finds the tenant by the id alone
(floci's probe, github.com/floci-io/floci/pull/2832). "A resource can have no more than 50
tags"; a key tagged again takes the new value.
"""

from __future__ import annotations

import re
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest, NotFound
from inbound.sending import configuration as state
from inbound.sending.contact_lists import CONTACT_LISTS

Params = dict[str, Any]
MAX_TAGS = 50
_ARN = re.compile(r"arn:aws[a-z-]*:ses:([a-z0-9-]+):\d*:([a-z-]+)/(.+)")
_DOCUMENTS = {
    "configuration-set": state.CONFIGURATION_SETS,
    "template": state.TEMPLATES,
    "custom-verification-email-template": state.VERIFICATION_TEMPLATES,
    "dedicated-ip-pool": state.DEDICATED_IP_POOLS,
    "contact-list": CONTACT_LISTS,
    "tenant": state.TENANTS,
    "multi-region-endpoint": state.MULTI_REGION_ENDPOINTS,
}


def _parse(ctx: OperationContext, arn: str) -> tuple[str, str, str]:
    """(Region, resource type, name) of a taggable resource's ARN; a tenant's name is the one
    of the tenant with the ARN's id."""
    match = _ARN.fullmatch(arn)
    if match is None or match.group(2) not in (*_DOCUMENTS, "identity"):
        raise BadRequest(f"Invalid resource ARN: {arn}")
    region, kind, name = match.groups()
    if kind == "tenant":
        name = _tenant_name(ctx, region, name)
    return region, kind, name


def _missing(arn: str) -> NotFound:
    return NotFound(f"Resource not found: {arn}")


def _tenant_name(ctx: OperationContext, region: str, path: str) -> str:
    """The name of the tenant whose id ends `path` (`<name>/<id>`); AWS's text, its missing
    space included, when there is none."""
    name, _, tenant_id = path.rpartition("/")
    for found in ctx.sending.in_region(state.TENANTS, region).values():
        if found["TenantId"] == tenant_id:
            return str(found["TenantName"])
    raise NotFound(f"No Tenant present with name: {name or None}with tenantId: {tenant_id}")


def _current(ctx: OperationContext, arn: str) -> dict[str, str]:
    region, kind, name = _parse(ctx, arn)
    if kind == "identity":
        identity = ctx.identities.get(name)
        if identity is None:
            raise _missing(arn)
        return dict(identity.tags)
    found = ctx.sending.in_region(_DOCUMENTS[kind], region).get(name)
    if found is None:
        raise _missing(arn)
    return {t["Key"]: t["Value"] for t in found.get("Tags", ())}


async def _store(ctx: OperationContext, arn: str, tags: dict[str, str]) -> None:
    if len(tags) > MAX_TAGS:
        raise BadRequest(f"A resource can have no more than {MAX_TAGS} tags.")
    region, kind, name = _parse(ctx, arn)
    if kind == "identity":
        await ctx.identities.edit(name, lambda identity: identity.replace(tags=tags))
        return
    async with ctx.sending.editing(_DOCUMENTS[kind], region, name) as found:
        found["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]


async def tag_resource(ctx: OperationContext, p: Params) -> None:
    tags = _current(ctx, p["ResourceArn"])
    tags.update({t["Key"]: t["Value"] for t in p["Tags"]})
    await _store(ctx, p["ResourceArn"], tags)


async def untag_resource(ctx: OperationContext, p: Params) -> None:
    tags = _current(ctx, p["ResourceArn"])
    await _store(ctx, p["ResourceArn"], {k: v for k, v in tags.items() if k not in p["TagKeys"]})


async def list_tags_for_resource(ctx: OperationContext, p: Params) -> Params:
    tags = _current(ctx, p["ResourceArn"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
