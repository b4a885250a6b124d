"""The five Send* operations: read the request (SES wire names), check its syntax, and hand one
`Submission` per message to the server's `Sender` (`inbound/sending/sender.py`), which runs the
account checks and quotas and stores the message. Building is `inbound/sending/mime.py`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from inbound.api.query.operations.context import OperationContext
from inbound.errors import (
    FromEmailAddressNotVerified,
    InvalidParameterValue,
    MailFromDomainNotVerified,
    MessageRejected,
    ProductionAccessNotGranted,
    SesError,
    Throttling,
)
from inbound.rules.validate import is_verified
from inbound.sending import attachments, checks, compose, mime, quota, templates
from inbound.sending import configuration as state
from inbound.sending.raw import send_raw
from inbound.sending.sender import Submission

Params = dict[str, Any]
MAX_BULK_DESTINATIONS = 50  # SendBulkTemplatedEmail: "up to 50 destinations in a single call"


def _base64_size(size: int) -> int:
    return 4 * math.ceil(size / 3)


def _submission(
    ctx: OperationContext,
    operation: str,
    p: Params,
    destination: Params | None,
    tags: Sequence[Params] | None,
) -> Submission:
    """Source, Destination, ReplyToAddresses, ReturnPath, ConfigurationSetName and Tags of the
    SendEmail shape (the templated operations share it); v2's SendBulkEmail adds the
    TenantName it sends through."""
    kept = ("SourceArn", "ReturnPathArn", "TemplateArn", "TenantName")
    detail = {k: p[k] for k in kept if p.get(k)}
    if p.get("Template"):
        detail["template"] = p["Template"]
    return compose.submission(
        operation,
        source=p["Source"],
        destination=destination,
        reply_to=p.get("ReplyToAddresses") or (),
        return_path=p.get("ReturnPath"),
        configuration_set=p.get("ConfigurationSetName"),
        tags=tags or (),
        detail=detail,
        origin=ctx.origin,
    )


# ── SendEmail ───────────────────────────────────────────────────────────────────────────────
async def send_email(ctx: OperationContext, p: Params) -> Params:
    submission = _submission(ctx, "SendEmail", p, p["Destination"], p.get("Tags"))
    message = p["Message"]
    fields = [
        *compose.header_fields(p["Source"], p["Destination"], p.get("ReplyToAddresses") or ()),
        ("Subject", message["Subject"]["Data"]),
    ]
    body = message["Body"]
    render = compose.simple(fields, compose.text(body.get("Text")), compose.text(body.get("Html")))
    return {"MessageId": await ctx.sender.send(ctx.region, submission, render)}


# ── SendRawEmail ────────────────────────────────────────────────────────────────────────────
async def send_raw_email(ctx: OperationContext, p: Params) -> Params:
    """The raw message's path is `sending/raw.py`'s, shared with the SMTP interface."""
    raw: bytes = p["RawMessage"]["Data"]
    checks.message_size(_base64_size(len(raw)))
    message_id = await send_raw(
        ctx.sender,
        ctx.region,
        raw,
        ctx.origin,
        source=p.get("Source"),
        destinations=p.get("Destinations") or (),
        configuration_set=p.get("ConfigurationSetName"),
        tags=p.get("Tags") or (),
        detail={k: p[k] for k in ("SourceArn", "FromArn", "ReturnPathArn") if p.get(k)},
    )
    return {"MessageId": message_id}


# ── SendTemplatedEmail, SendBulkTemplatedEmail ──────────────────────────────────────────────
def _template_data(text: str, member: str) -> dict[str, Any]:
    """A JSON object, else `InvalidParameterValue` (the text is UNCONFIRMED)."""
    try:
        return templates.parse_template_data(text)
    except ValueError as error:
        raise InvalidParameterValue(f"{member} must be a JSON object: {error}") from None


async def send_templated_email(ctx: OperationContext, p: Params) -> Params:
    submission = _submission(ctx, "SendTemplatedEmail", p, p["Destination"], p.get("Tags"))
    parts = compose.stored_template(ctx.sending, ctx.region, p["Template"])
    data = _template_data(p["TemplateData"], "TemplateData")
    fields = compose.header_fields(p["Source"], p["Destination"], p.get("ReplyToAddresses") or ())
    render = compose.templated(parts, fields, data)
    return {"MessageId": await ctx.sender.send(ctx.region, submission, render)}


def _bulk_status(error: SesError) -> str:
    """BulkEmailDestinationStatus.Status for an error of one destination."""
    if isinstance(error, Throttling):
        return (
            "AccountThrottled"
            if error.message == quota.RATE_EXCEEDED
            else ("AccountDailyQuotaExceeded")
        )
    if isinstance(error, MailFromDomainNotVerified):
        return "MailFromDomainNotVerified"
    if isinstance(error, MessageRejected | InvalidParameterValue):
        return error.code
    return "Failed"


async def send_bulk_templated_email(ctx: OperationContext, p: Params) -> Params:
    return await send_bulk(
        ctx, p, lambda: compose.stored_template(ctx.sending, ctx.region, p["Template"])
    )


async def send_bulk(
    ctx: OperationContext,
    p: Params,
    template: Callable[[], templates.TemplateParts],
    *,
    limit: int = checks.MAX_MESSAGE_BYTES,
    files: Sequence[attachments.Attachment] = (),
) -> Params:
    """SendBulkTemplatedEmail, and v2's SendBulkEmail through it: `template` gives the parts
    once the destinations are counted (v1: the stored template; v2: stored or inline
    content), `limit` is the API's message size, `files` v2's attachments.

    Errors of the whole call (template, configuration set, paused sending, the source's
    verification and MAIL FROM) are raised; those of one destination (its addresses and
    recipient count, sandbox recipients, quotas) are its status, as the model's
    `BulkEmailStatus` lists them. A destination's ReplacementTemplateData is laid over
    DefaultTemplateData ("These values act as a default or fallback option when no other data is
    available"), its ReplacementTags over DefaultTags, name by name."""
    destinations = p["Destinations"]
    if len(destinations) > MAX_BULK_DESTINATIONS:
        raise InvalidParameterValue(
            f"The number of destinations exceeds {MAX_BULK_DESTINATIONS}."
        )  # UNCONFIRMED text
    parts = template()
    default_data = _template_data(p["DefaultTemplateData"], "DefaultTemplateData")
    default_tags = {t["Name"]: t for t in p.get("DefaultTags") or ()}
    ctx.sender.check(ctx.region, _submission(ctx, "SendBulkTemplatedEmail", p, None, None))
    statuses = []
    for destination in destinations:
        try:
            tags = default_tags | {t["Name"]: t for t in destination.get("ReplacementTags") or ()}
            submission = _submission(
                ctx, "SendBulkTemplatedEmail", p, destination["Destination"], list(tags.values())
            )
            data = default_data
            if destination.get("ReplacementTemplateData"):
                data = default_data | _template_data(
                    destination["ReplacementTemplateData"], "ReplacementTemplateData"
                )
            fields = compose.header_fields(
                p["Source"], destination["Destination"], p.get("ReplyToAddresses") or ()
            )
            render = compose.templated(parts, fields, data, limit)
            message_id = await ctx.sender.send(
                ctx.region, submission, compose.attached(render, files, limit)
            )
        except SesError as error:
            statuses.append({"Status": _bulk_status(error), "Error": error.message})
        else:
            statuses.append({"Status": "Success", "MessageId": message_id})
    return {"Status": statuses}


# ── SendCustomVerificationEmail ─────────────────────────────────────────────────────────────
async def send_custom_verification_email(ctx: OperationContext, p: Params) -> Params:
    """ "Adds an email address to the list of identities for your Amazon SES account in the
    current AWS Region and attempts to verify it. As a result of executing this operation, a
    customized verification email is sent to the specified address."

    In the sandbox it is `ProductionAccessNotGranted` (the model's error of this operation
    alone: "Indicates that the account has not been granted production access"); the sender
    must be verified (`FromEmailAddressNotVerified`). The email is the template's subject and
    HTML content followed by the verification link: this engine's confirm route
    (`POST /api/identities/<address>/confirm`, docs/identities.md).
    """
    address = checks.address(p["EmailAddress"])
    template = ctx.sending.get(state.VERIFICATION_TEMPLATES, ctx.region, p["TemplateName"])
    if ctx.sender.sandbox:
        raise ProductionAccessNotGranted(
            "Production access has not been granted for this account: custom verification "
            "emails can be sent only outside the sandbox."
        )  # UNCONFIRMED text
    sender = template["FromEmailAddress"]
    if not is_verified(sender, ctx.keeper.current.verified):
        raise FromEmailAddressNotVerified(
            f"From email address <{sender}> is not verified.", FromEmailAddress=sender
        )
    submission = Submission(
        "SendCustomVerificationEmail",
        source=checks.address(sender),
        senders=(checks.address(sender),),
        recipients=(address,),
        return_path=checks.address(sender),
        origin=ctx.origin,
        configuration_set=p.get("ConfigurationSetName"),
        detail={"template": p["TemplateName"]},
    )
    link = f"{ctx.sender.http_url}/api/identities/{address}/confirm"
    html = mime.Text(f'{template["TemplateContent"]}\n<p><a href="{link}">{link}</a></p>\n')
    fields = [("From", sender), ("To", address), ("Subject", template["TemplateSubject"])]

    def render(message_id: str, when: datetime) -> bytes:
        return mime.simple(fields, None, html, message_id, when)

    message_id = await ctx.sender.send(ctx.region, submission, render)
    await ctx.identities.verify(address)
    return {"MessageId": message_id}


OPERATIONS: dict[str, Callable[[OperationContext, Params], Awaitable[Params | None]]] = {
    "SendEmail": send_email,
    "SendRawEmail": send_raw_email,
    "SendTemplatedEmail": send_templated_email,
    "SendBulkTemplatedEmail": send_bulk_templated_email,
    "SendCustomVerificationEmail": send_custom_verification_email,
}
