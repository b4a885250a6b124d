"""Custom verification email templates and SendCustomVerificationEmail: v1's operations
(`api/query/operations/sending/verification_templates.py`, `send.py`) on the same templates,
with v2's differences: `Tags` kept with the template, `PageSize` for v1's MaxResults, and
Delete of a template that does not exist is `NotFoundException` (v2 lists it; v1's delete
succeeds)."""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations import send as v1_send
from inbound.api.query.operations.context import OperationContext
from inbound.api.query.operations.sending import verification_templates as v1
from inbound.sending import configuration as state

Params = dict[str, Any]


async def create_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    await v1.create_custom_verification_email_template(ctx, p)
    if p.get("Tags"):
        name = p["TemplateName"]
        async with ctx.sending.editing(state.VERIFICATION_TEMPLATES, ctx.region, name) as found:
            found["Tags"] = list(p["Tags"])


async def get_custom_verification_email_template(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"])
    return {
        **(await v1.get_custom_verification_email_template(ctx, p)),
        "Tags": found.get("Tags", []),
    }


async def list_custom_verification_email_templates(ctx: OperationContext, p: Params) -> Params:
    """PageSize as v1's MaxResults: up to 50 a page, 50 by default."""
    return await v1.list_custom_verification_email_templates(
        ctx, {"MaxResults": p.get("PageSize"), "NextToken": p.get("NextToken")}
    )


async def update_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    await v1.update_custom_verification_email_template(ctx, p)


async def delete_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    await ctx.sending.delete(
        state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"], must_exist=True
    )


async def send_custom_verification_email(ctx: OperationContext, p: Params) -> Params:
    return await v1_send.send_custom_verification_email(ctx, p)
