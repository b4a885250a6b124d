"""Email templates: stored, listed and test-rendered by `inbound/sending/templates.py`'s
engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.errors import (
    AlreadyExists,
    InvalidParameterValue,
    InvalidRenderingParameter,
    InvalidTemplate,
    MissingRenderingAttribute,
)
from inbound.sending import configuration as state
from inbound.sending import templates, tenants
from inbound.timestamps import now_iso

Params = dict[str, Any]


def _check_template(template: Params) -> None:
    """Names as configuration sets (alphanumerics, `_`, `-`, ≤ 64: UNCONFIRMED for templates,
    `InvalidParameterValue`); content rules in `sending_templates.check_template`; a template that
    cannot be compiled is `InvalidTemplate` ("the template that you specified could not be
    rendered. This issue may occur when a template refers to a partial that does not exist")."""
    name = template["TemplateName"]
    if not state.valid_name(name):
        raise InvalidParameterValue(
            f"Invalid template name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    try:
        templates.check_template(template)
    except templates.TemplateSyntaxError as error:
        raise InvalidTemplate(f"Template {name} is invalid: {error}", TemplateName=name) from None


def _template_body(template: Params) -> Params:
    parts = ("TemplateName", "SubjectPart", "TextPart", "HtmlPart")
    return {k: template[k] for k in parts if template.get(k) is not None}


async def create_template(ctx: OperationContext, p: Params) -> Params:
    """Up to 10,000 templates per Region (SES quotas) → `LimitExceeded`."""
    template = p["Template"]
    name = template["TemplateName"]
    _check_template(template)
    body = {"Template": _template_body(template), "CreatedTimestamp": now_iso()}
    await ctx.sending.create(
        state.TEMPLATES,
        ctx.region,
        name,
        body,
        exists=AlreadyExists(f"Template {name} already exists.", Name=name),
        limit=state.MAX_TEMPLATES,
        what="templates",
    )
    return {}


async def update_template(ctx: OperationContext, p: Params) -> Params:
    template = p["Template"]
    name = template["TemplateName"]
    async with ctx.sending.editing(state.TEMPLATES, ctx.region, name) as found:
        _check_template(template)
        found["Template"] = _template_body(template)
    return {}


async def delete_template(ctx: OperationContext, p: Params) -> Params:
    """No modeled errors: deleting a missing template succeeds."""
    held = ctx.sending.in_region(state.TENANTS, ctx.region).values()
    tenants.refuse_deleting(held, tenants.TEMPLATE, p["TemplateName"])  # SES API v2's tenants
    await ctx.sending.delete(state.TEMPLATES, ctx.region, p["TemplateName"], must_exist=False)
    return {}


async def get_template(ctx: OperationContext, p: Params) -> Params:
    return {"Template": ctx.sending.get(state.TEMPLATES, ctx.region, p["TemplateName"])["Template"]}


async def list_templates(ctx: OperationContext, p: Params) -> Params:
    """By name. MaxItems: "This value must be at least 1 and less than or equal to 100. If more
    than 100 items are requested, the page size will automatically set to 100. If you do not
    specify a value, 10 is the default page size." """
    found = ctx.sending.in_region(state.TEMPLATES, ctx.region)
    size = state.page_size(
        p.get("MaxItems"), state.LIST_TEMPLATES_DEFAULT, state.LIST_TEMPLATES_MAX, "MaxItems"
    )
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    metadata = [{"Name": n, "CreatedTimestamp": found[n]["CreatedTimestamp"]} for n in chosen]
    result: Params = {"TemplatesMetadata": metadata}
    if token:
        result["NextToken"] = token
    return result


async def test_render_template(ctx: OperationContext, p: Params) -> Params:
    """TemplateData "is a JSON object" (`InvalidRenderingParameter` "when the TemplateData
    object contains invalid JSON"); every `{{tag}}` needs a value (`MissingRenderingAttribute`,
    with the message SES puts in Rendering Failure events: "Attribute 'x' is not present in the
    rendering data.")."""
    name = p["TemplateName"]
    stored = ctx.sending.get(state.TEMPLATES, ctx.region, name)["Template"]
    try:
        data = templates.parse_template_data(p["TemplateData"])
    except ValueError as error:
        raise InvalidRenderingParameter(
            f"Invalid rendering parameter for template {name}: TemplateData must be a JSON "
            f"object ({error}).",
            TemplateName=name,
        ) from None
    parts = templates.check_template(stored)
    try:
        rendered = templates.render_mime(parts, data, state.now())
    except templates.MissingAttribute as missing:
        raise MissingRenderingAttribute(
            f"Attribute '{missing.path}' is not present in the rendering data.",
            TemplateName=name,
        ) from None
    return {"RenderedTemplate": rendered}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateTemplate": create_template,
    "UpdateTemplate": update_template,
    "DeleteTemplate": delete_template,
    "GetTemplate": get_template,
    "ListTemplates": list_templates,
    "TestRenderTemplate": test_render_template,
}
