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
from inbound.sending import checks, mime, quota, templates
from inbound.sending import configuration as state
from inbound.sending.raw import send_raw
from inbound.sending.sender import Render, Submission

Params = dict[str, Any]
MAX_BULK_DESTINATIONS = 50  # SendBulkTemplatedEmail: "up to 50 destinations in a single call"


def _base64_size(size: int) -> int:
    return 4 * math.ceil(size / 3)


def _addresses(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(checks.address(v) for v in values)


def _header_fields(
    source: str, destination: Params, reply_to: Sequence[str]
) -> list[tuple[str, str]]:
    fields = [("From", source)]
    for name, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destination.get(key):
            fields.append((name, ", ".join(destination[key])))
    if reply_to:
        fields.append(("Reply-To", ", ".join(reply_to)))
    return fields


def _submission(
    operation: str, p: Params, destination: Params | None, tags: Sequence[Params] | None
) -> Submission:
    """Source, Destination, ReplyToAddresses, ReturnPath, ConfigurationSetName and Tags of the
    SendEmail shape (the templated operations share it); no `destination`: the parts of a bulk
    send common to every destination. "The ReturnPath parameter is never overwritten. This
    email address must be either individually verified with Amazon SES, or from a domain that
    has been verified with Amazon SES." """
    source = checks.address(p["Source"])
    _addresses(p.get("ReplyToAddresses") or ())
    return_path = checks.address(p["ReturnPath"]) if p.get("ReturnPath") else None
    recipients: tuple[str, ...] = ()
    if destination is not None:
        recipients = _addresses(
            [*destination.get("ToAddresses", ()), *destination.get("CcAddresses", ()),
             *destination.get("BccAddresses", ())]
        )  # fmt: skip
        checks.recipient_count(len(recipients))
    detail = {k: p[k] for k in ("SourceArn", "ReturnPathArn", "TemplateArn") if p.get(k)}
    if p.get("Template"):
        detail["template"] = p["Template"]
    return Submission(
        operation,
        source=source,
        senders=(source, *([return_path] if return_path else [])),
        recipients=recipients,
        return_path=return_path or source,
        configuration_set=p.get("ConfigurationSetName"),
        tags=checks.tags(tags or ()),
        detail=detail,
    )


# ── SendEmail ───────────────────────────────────────────────────────────────────────────────
def _text(content: Params | None) -> mime.Text | None:
    if content is None:
        return None
    return mime.Text(content["Data"], content.get("Charset") or "UTF-8")


async def send_email(ctx: OperationContext, p: Params) -> Params:
    submission = _submission("SendEmail", p, p["Destination"], p.get("Tags"))
    message = p["Message"]
    fields = [
        *_header_fields(p["Source"], p["Destination"], p.get("ReplyToAddresses") or ()),
        ("Subject", message["Subject"]["Data"]),
    ]
    body = message["Body"]
    text, html = _text(body.get("Text")), _text(body.get("Html"))

    def render(message_id: str, when: datetime) -> bytes:
        raw = mime.simple(fields, text, html, message_id, when)
        checks.message_size(len(raw))
        return raw

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
        source=p.get("Source"),
        destinations=p.get("Destinations") or (),
        configuration_set=p.get("ConfigurationSetName"),
        tags=p.get("Tags") or (),
        detail={k: p[k] for k in ("SourceArn", "FromArn", "ReturnPathArn") if p.get(k)},
    )
    return {"MessageId": message_id}


# ── SendTemplatedEmail, SendBulkTemplatedEmail ──────────────────────────────────────────────
def _template(ctx: OperationContext, name: str) -> templates.TemplateParts:
    stored = ctx.sending.get(state.TEMPLATES, ctx.region, name)["Template"]
    return templates.check_template(stored)


def _template_data(text: str, member: str) -> dict[str, Any]:
    """A JSON object, else `InvalidParameterValue` (the text is UNCONFIRMED)."""
    try:
        return templates.parse_template_data(text)
    except ValueError as error:
        raise InvalidParameterValue(f"{member} must be a JSON object: {error}") from None


def _templated(
    parts: templates.TemplateParts, fields: list[tuple[str, str]], data: dict[str, Any]
) -> Render:
    """The message from the template; a missing variable raises `MissingAttribute`, which the
    sender stores as a rendering failure (SES sends nothing)."""

    def render(message_id: str, when: datetime) -> bytes:
        rendered = templates.render_mime(parts, data, when)
        raw = mime.templated(fields, rendered, message_id, when)
        checks.message_size(len(raw))
        return raw

    return render


async def send_templated_email(ctx: OperationContext, p: Params) -> Params:
    submission = _submission("SendTemplatedEmail", p, p["Destination"], p.get("Tags"))
    parts = _template(ctx, p["Template"])
    data = _template_data(p["TemplateData"], "TemplateData")
    fields = _header_fields(p["Source"], p["Destination"], p.get("ReplyToAddresses") or ())
    render = _templated(parts, fields, data)
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
    """Errors of the whole call (template, configuration set, paused sending, the source's
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
    parts = _template(ctx, p["Template"])
    default_data = _template_data(p["DefaultTemplateData"], "DefaultTemplateData")
    default_tags = {t["Name"]: t for t in p.get("DefaultTags") or ()}
    ctx.sender.check(ctx.region, _submission("SendBulkTemplatedEmail", p, None, None))
    statuses = []
    for destination in destinations:
        try:
            tags = default_tags | {t["Name"]: t for t in destination.get("ReplacementTags") or ()}
            submission = _submission(
                "SendBulkTemplatedEmail", p, destination["Destination"], list(tags.values())
            )
            data = default_data
            if destination.get("ReplacementTemplateData"):
                data = default_data | _template_data(
                    destination["ReplacementTemplateData"], "ReplacementTemplateData"
                )
            fields = _header_fields(
                p["Source"], destination["Destination"], p.get("ReplyToAddresses") or ()
            )
            message_id = await ctx.sender.send(
                ctx.region, submission, _templated(parts, fields, data)
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
