"""SendEmail (v2): Simple, Raw or Template content, through the server's `Sender`, the path of
v1's SendEmail, SendRawEmail and SendTemplatedEmail (`sending/compose.py`, `sending/raw.py`):
the same checks, quotas, configuration sets, storage and delivery.

v2's members are v1's under other names: FromEmailAddress is Source,
FeedbackForwardingEmailAddress is ReturnPath ("The address that you want bounce and complaint
notifications to be sent to"), EmailTags are Tags. The message may be 40 MB after base64
("The maximum message size, including attachments, is 40 MB"), v1's is 10 MB.
"""

from __future__ import annotations

import math
from typing import Any

from inbound.api.query.operations import send as v1
from inbound.api.query.operations.context import OperationContext
from inbound.api.v2.errors import BadRequest
from inbound.api.v2.operations import endpoints, tenants
from inbound.api.v2.operations import templates as email_templates
from inbound.sending import attachments, checks, compose, easy_dkim, templates
from inbound.sending.list_management import ListManagement
from inbound.sending.raw import send_raw
from inbound.sending.sender import Render

Params = dict[str, Any]
CONTENT = ("Simple", "Raw", "Template")


async def send_email(ctx: OperationContext, p: Params) -> Params:
    """Exactly one kind of content ("Simple", "Raw" or "Template"); `ListManagementOptions` for
    any (sending/list_management.py). Simple and Template content may have `Attachments`
    (`sending/attachments.py` builds the MIME around the body); Raw content carries its own."""
    content = p["Content"]
    given = [kind for kind in CONTENT if content.get(kind) is not None]
    if len(given) != 1:
        raise BadRequest("Exactly one of Simple, Raw or Template content must be specified.")
    if given == ["Raw"]:
        return {"MessageId": await _send_raw(ctx, p, content["Raw"]["Data"])}
    kind = given[0]
    part = content[kind]
    files = _attachments(part)
    if not p.get("FromEmailAddress"):
        raise BadRequest(f"FromEmailAddress is required for {kind} content.")
    stored = (
        _template_name(part) if kind == "Template" and not part.get("TemplateContent") else None
    )
    tenant = _tenant(ctx, p, p["FromEmailAddress"], stored)
    destination = p.get("Destination") or {}
    submission = compose.submission(
        "SendEmail",
        source=p["FromEmailAddress"],
        destination=destination,
        reply_to=p.get("ReplyToAddresses") or (),
        return_path=p.get("FeedbackForwardingEmailAddress"),
        configuration_set=p.get("ConfigurationSetName"),
        tags=p.get("EmailTags") or (),
        detail={
            "api": "v2",
            **({"template": _template_name(part)} if kind == "Template" else {}),
            **tenant,
        },
        origin=ctx.origin,
        list_management=_list_management(p),
    )
    fields = compose.header_fields(
        p["FromEmailAddress"], destination, p.get("ReplyToAddresses") or ()
    )
    extra = [(h["Name"], h["Value"]) for h in part.get("Headers") or ()]
    render: Render
    if kind == "Simple":
        fields = [*fields, ("Subject", part["Subject"]["Data"]), *extra]
        body = part["Body"]
        render = compose.simple(
            fields,
            compose.text(body.get("Text")),
            compose.text(body.get("Html")),
            checks.MAX_V2_MESSAGE_BYTES,
        )
    else:
        render = compose.templated(
            _template(ctx, part),
            [*fields, *extra],
            _template_data(part.get("TemplateData") or "{}"),
            checks.MAX_V2_MESSAGE_BYTES,
        )
    render = compose.attached(render, files, checks.MAX_V2_MESSAGE_BYTES)
    return {"MessageId": await ctx.sender.send(ctx.region, submission, render)}


# Attachment: FileName "Maximum length of 255", ContentDescription 1000, ContentId and
# ContentType 1 to 78 (API v2 reference, Attachment).
_ATTACHMENT_LENGTHS = (
    ("FileName", 1, 255),
    ("ContentDescription", 0, 1000),
    ("ContentId", 1, 78),
    ("ContentType", 1, 78),
)


def _attachments(part: Params) -> list[attachments.Attachment]:
    """The content's `Attachments`, checked (lengths, SES's unsupported file types)."""
    found = []
    for given in part.get("Attachments") or ():
        for member, least, most in _ATTACHMENT_LENGTHS:
            value = given.get(member)
            if value is not None and not least <= len(value) <= most:
                raise BadRequest(
                    f"Attachment {member} must have {least} to {most} characters: {value!r}."
                )
        attachment = attachments.Attachment(
            content=given["RawContent"],
            file_name=given["FileName"],
            content_type=given.get("ContentType"),
            inline=given.get("ContentDisposition") == "INLINE",
            description=given.get("ContentDescription"),
            content_id=given.get("ContentId"),
            transfer_encoding=given.get("ContentTransferEncoding") or "SEVEN_BIT",
        )
        attachments.check(attachment)
        found.append(attachment)
    return found


async def _send_raw(ctx: OperationContext, p: Params, raw: bytes) -> str:
    """Raw content as SendRawEmail: FromEmailAddress is its Source, the Destination's addresses
    its Destinations (else the message's headers say where it goes)."""
    checks.message_size(4 * math.ceil(len(raw) / 3), checks.MAX_V2_MESSAGE_BYTES)
    tenant = _tenant(ctx, p, p.get("FromEmailAddress") or easy_dkim.from_address(raw), None)
    destination = p.get("Destination") or {}
    recipients = [
        *destination.get("ToAddresses", ()),
        *destination.get("CcAddresses", ()),
        *destination.get("BccAddresses", ()),
    ]
    return await send_raw(
        ctx.sender,
        ctx.region,
        raw,
        ctx.origin,
        source=p.get("FromEmailAddress"),
        destinations=recipients,
        configuration_set=p.get("ConfigurationSetName"),
        tags=p.get("EmailTags") or (),
        detail={"api": "v2", **tenant},
        operation="SendEmail",
        list_management=_list_management(p),
    )


def _list_management(p: Params) -> ListManagement | None:
    options = p.get("ListManagementOptions")
    if options is None:
        return None
    return ListManagement(options["ContactListName"], options.get("TopicName"))


def _tenant(
    ctx: OperationContext, p: Params, source: str | None, template: str | None
) -> dict[str, str]:
    """TenantName: the tenant must hold what the send uses (`tenants.gate`); what the send then
    records of it. (And EndpointId, a multi-region endpoint's, must name one.)"""
    endpoints.check_endpoint_id(ctx, p.get("EndpointId"))
    name = p.get("TenantName")
    if name is None:
        return {}
    configuration_set = p.get("ConfigurationSetName")
    return tenants.gate(
        ctx, name, source=source, configuration_set=configuration_set, template=template
    )


def _template_name(part: Params) -> str | None:
    """TemplateName, else the name in TemplateArn (`arn:aws:ses:<region>:<id>:template/<name>`)."""
    if part.get("TemplateName"):
        return str(part["TemplateName"])
    arn = part.get("TemplateArn")
    return arn.rpartition("template/")[2] if arn else None


def _template(ctx: OperationContext, part: Params) -> templates.TemplateParts:
    """A stored template by name or ARN, or inline `TemplateContent`."""
    inline = part.get("TemplateContent")
    if inline is not None:
        try:
            return templates.check_template(email_templates.as_v1(inline))
        except templates.TemplateSyntaxError as error:
            raise BadRequest(f"The template content is invalid: {error}") from None
    name = _template_name(part)
    if name is None:
        raise BadRequest("Template content needs TemplateName, TemplateArn or TemplateContent.")
    return compose.stored_template(ctx.sending, ctx.region, name)


def _template_data(text: str) -> dict[str, Any]:
    try:
        return templates.parse_template_data(text)
    except ValueError as error:
        raise BadRequest(f"TemplateData must be a JSON object: {error}") from None


# ── SendBulkEmail ───────────────────────────────────────────────────────────────────────────
# v1's BulkEmailStatus → v2's BulkEmailStatus (the same outcomes, other spellings).
_BULK_STATUS = {
    "Success": "SUCCESS",
    "MessageRejected": "MESSAGE_REJECTED",
    "MailFromDomainNotVerified": "MAIL_FROM_DOMAIN_NOT_VERIFIED",
    "AccountThrottled": "ACCOUNT_THROTTLED",
    "AccountDailyQuotaExceeded": "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    "InvalidParameterValue": "INVALID_PARAMETER",
    "Failed": "FAILED",
}


async def send_bulk_email(ctx: OperationContext, p: Params) -> Params:
    """v1's SendBulkTemplatedEmail (`api/query/operations/send.py`): errors of the whole call
    are raised, those of one entry are its status. The template is a stored one, by name or
    ARN, or inline `TemplateContent`, rendered per entry with its data; `Attachments` go on
    every message. `Headers` are refused by name (no send path adds them yet)."""
    template = p["DefaultContent"].get("Template")
    if template is None:
        raise BadRequest("DefaultContent must have a Template.")
    if template.get("Headers"):
        raise BadRequest("inbound does not support Headers in SendBulkEmail yet.")
    if template.get("TemplateContent") is None and _template_name(template) is None:
        raise BadRequest("The template needs a TemplateName, a TemplateArn or TemplateContent.")
    files = _attachments(template)
    if not p.get("FromEmailAddress"):
        raise BadRequest("FromEmailAddress is required.")
    stored = None if template.get("TemplateContent") else _template_name(template)
    tenant = _tenant(ctx, p, p["FromEmailAddress"], stored)
    destinations = []
    for entry in p["BulkEmailEntries"]:
        if entry.get("ReplacementHeaders"):
            raise BadRequest("inbound does not support ReplacementHeaders in SendBulkEmail yet.")
        replacement = (entry.get("ReplacementEmailContent") or {}).get("ReplacementTemplate")
        destinations.append(
            {
                "Destination": entry["Destination"],
                "ReplacementTags": entry.get("ReplacementTags") or [],
                "ReplacementTemplateData": (replacement or {}).get("ReplacementTemplateData"),
            }
        )
    found = await v1.send_bulk(
        ctx,
        {
            "Source": p["FromEmailAddress"],
            "ReplyToAddresses": p.get("ReplyToAddresses") or [],
            "ReturnPath": p.get("FeedbackForwardingEmailAddress"),
            "ConfigurationSetName": p.get("ConfigurationSetName"),
            "DefaultTags": p.get("DefaultEmailTags") or [],
            "Template": _template_name(template),
            "DefaultTemplateData": template.get("TemplateData") or "{}",
            "Destinations": destinations,
            **tenant,
        },
        lambda: _template(ctx, template),
        limit=checks.MAX_V2_MESSAGE_BYTES,
        files=files,
    )
    return {
        "BulkEmailEntryResults": [
            {**status, "Status": _BULK_STATUS[status["Status"]]} for status in found["Status"]
        ]
    }
