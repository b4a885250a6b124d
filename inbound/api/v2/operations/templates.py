"""Email templates: the v1 template operations (`api/query/operations/sending/templates.py`) with
v2's
shapes, on the same stored templates, so a template made through one API is used by the other.

v2's `TemplateContent` {Subject, Text, Html} is v1's `Template` {SubjectPart, TextPart,
HtmlPart}; names, content checks, limits and rendering are v1's.
"""

from __future__ import annotations

from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.api.query.operations.sending import templates as v1
from inbound.sending import configuration as state

Params = dict[str, Any]
_PARTS = (("Subject", "SubjectPart"), ("Text", "TextPart"), ("Html", "HtmlPart"))


def as_v1(content: Params) -> Params:
    """v2's TemplateContent as the parts of v1's Template (SendEmail's inline content too)."""
    return {v1_name: content[name] for name, v1_name in _PARTS if content.get(name) is not None}


async def create_email_template(ctx: OperationContext, p: Params) -> None:
    """Tags are kept with the template (v1's has none)."""
    await v1.create_template(
        ctx, {"Template": {"TemplateName": p["TemplateName"], **as_v1(p["TemplateContent"])}}
    )
    if p.get("Tags"):
        name = p["TemplateName"]
        async with ctx.sending.editing(state.TEMPLATES, ctx.region, name) as found:
            found["Tags"] = list(p["Tags"])


async def update_email_template(ctx: OperationContext, p: Params) -> None:
    await v1.update_template(
        ctx, {"Template": {"TemplateName": p["TemplateName"], **as_v1(p["TemplateContent"])}}
    )


async def delete_email_template(ctx: OperationContext, p: Params) -> None:
    """Unlike v1's DeleteTemplate, v2 lists NotFoundException for this operation: deleting a
    template that does not exist is an error."""
    await ctx.sending.delete(state.TEMPLATES, ctx.region, p["TemplateName"], must_exist=True)


async def get_email_template(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.TEMPLATES, ctx.region, p["TemplateName"])
    template = found["Template"]
    content = {name: template[v1_name] for name, v1_name in _PARTS if v1_name in template}
    return {
        "TemplateName": template["TemplateName"],
        "TemplateContent": content,
        "Tags": found.get("Tags", []),
    }


async def list_email_templates(ctx: OperationContext, p: Params) -> Params:
    """PageSize as v1's MaxItems: 10 by default, at most 100 ("The value you specify has to be
    at least 1, and can be no more than 100.")."""
    listed = await v1.list_templates(
        ctx, {"MaxItems": p.get("PageSize"), "NextToken": p.get("NextToken")}
    )
    metadata = [
        {"TemplateName": t["Name"], "CreatedTimestamp": t["CreatedTimestamp"]}
        for t in listed["TemplatesMetadata"]
    ]
    return {"TemplatesMetadata": metadata, "NextToken": listed.get("NextToken")}


async def test_render_email_template(ctx: OperationContext, p: Params) -> Params:
    return await v1.test_render_template(ctx, p)
