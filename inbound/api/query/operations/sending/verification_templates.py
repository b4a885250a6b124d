"""Custom verification email templates: stored, checked (sender verified, content size)
and listed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.errors import (
    CustomVerificationEmailInvalidContent,
    CustomVerificationEmailTemplateAlreadyExists,
    FromEmailAddressNotVerified,
    InvalidParameterValue,
)
from inbound.rules.validate import is_verified
from inbound.sending import configuration as state

Params = dict[str, Any]


VERIFICATION_FIELDS = (
    "TemplateName",
    "FromEmailAddress",
    "TemplateSubject",
    "TemplateContent",
    "SuccessRedirectionURL",
    "FailureRedirectionURL",
)


def _check_verification(ctx: OperationContext, p: Params) -> None:
    """FromEmailAddressNotVerified: "the sender address specified for a custom verification
    email is not verified" (the address or its domain is a verified identity).
    TemplateContent: "The total size of the email must be less than 10 MB" →
    `CustomVerificationEmailInvalidContent` ("provided content is invalid"), as is empty
    content (UNCONFIRMED)."""
    sender = p.get("FromEmailAddress")
    if sender is not None and not (
        "@" in sender and is_verified(sender, ctx.keeper.current.verified)
    ):
        raise FromEmailAddressNotVerified(
            f"From email address <{sender}> is not verified.", FromEmailAddress=sender
        )
    content = p.get("TemplateContent")
    if content is not None:
        if not content.strip():
            raise CustomVerificationEmailInvalidContent("The template content is empty.")
        if len(content.encode()) >= state.MAX_VERIFICATION_CONTENT:
            raise CustomVerificationEmailInvalidContent(
                "The total size of the custom verification email must be less than 10 MB."
            )


async def create_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """Up to 50 custom verification email templates per account (SES quotas)."""
    name = p["TemplateName"]
    if not state.valid_name(name):
        raise InvalidParameterValue(
            f"Invalid template name: {name}. The name must contain only ASCII letters, "
            "numbers, underscores, or dashes, and 64 characters or fewer."
        )
    await ctx.sending.create(
        state.VERIFICATION_TEMPLATES,
        ctx.region,
        name,
        {k: p[k] for k in VERIFICATION_FIELDS},
        exists=CustomVerificationEmailTemplateAlreadyExists(
            f"Custom verification email template <{name}> already exists.",
            CustomVerificationEmailTemplateName=name,
        ),
        check=lambda: _check_verification(ctx, p),
        limit=state.MAX_VERIFICATION_TEMPLATES,
        what="custom verification email templates",
    )


async def update_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """Only the members given change."""
    name = p["TemplateName"]
    async with ctx.sending.editing(state.VERIFICATION_TEMPLATES, ctx.region, name) as found:
        _check_verification(ctx, p)
        found |= {k: p[k] for k in VERIFICATION_FIELDS if p.get(k) is not None}


async def delete_custom_verification_email_template(ctx: OperationContext, p: Params) -> None:
    """No modeled errors: deleting a missing template succeeds."""
    await ctx.sending.delete(
        state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"], must_exist=False
    )


async def get_custom_verification_email_template(ctx: OperationContext, p: Params) -> Params:
    found = ctx.sending.get(state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"])
    return {k: found[k] for k in VERIFICATION_FIELDS}


async def list_custom_verification_email_templates(ctx: OperationContext, p: Params) -> Params:
    """By name, without TemplateContent. MaxResults: "If you do not specify a value … the
    operation returns up to 50 results" (1 to 50 is enforced by the codec from the model)."""
    found = ctx.sending.in_region(state.VERIFICATION_TEMPLATES, ctx.region)
    size = state.page_size(
        p.get("MaxResults"),
        state.LIST_VERIFICATION_TEMPLATES_MAX,
        state.LIST_VERIFICATION_TEMPLATES_MAX,
        "MaxResults",
    )
    chosen, token = state.page(sorted(found), p.get("NextToken"), size)
    listed = [
        {k: found[n][k] for k in VERIFICATION_FIELDS if k != "TemplateContent"} for n in chosen
    ]
    result: Params = {"CustomVerificationEmailTemplates": listed}
    if token:
        result["NextToken"] = token
    return result


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "CreateCustomVerificationEmailTemplate": create_custom_verification_email_template,
    "UpdateCustomVerificationEmailTemplate": update_custom_verification_email_template,
    "DeleteCustomVerificationEmailTemplate": delete_custom_verification_email_template,
    "GetCustomVerificationEmailTemplate": get_custom_verification_email_template,
    "ListCustomVerificationEmailTemplates": list_custom_verification_email_templates,
}
