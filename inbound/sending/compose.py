"""What the API sends (v1's SendEmail and SendTemplatedEmail, v2's SendEmail) shares once each
API has read its request: the `Submission` from the envelope parts, the header fields, and the
`Render` that builds the message (simple, or from a stored template) and checks its size.

Each API reads its own member names (v1 `Source`/`ReturnPath`/`Tags`, v2
`FromEmailAddress`/`FeedbackForwardingEmailAddress`/`EmailTags`) and calls these with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbound.sending import attachments, checks, mime, templates
from inbound.sending import configuration as state
from inbound.sending.list_management import ListManagement
from inbound.sending.origin import Origin
from inbound.sending.sender import Render, Submission
from inbound.sending.service import SendingConfiguration


def addresses(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(checks.address(v) for v in values)


def header_fields(
    source: str, destination: Mapping[str, Any], reply_to: Sequence[str]
) -> list[tuple[str, str]]:
    fields = [("From", source)]
    for name, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destination.get(key):
            fields.append((name, ", ".join(destination[key])))
    if reply_to:
        fields.append(("Reply-To", ", ".join(reply_to)))
    return fields


def submission(
    operation: str,
    *,
    source: str,
    destination: Mapping[str, Any] | None,
    reply_to: Sequence[str],
    return_path: str | None,
    configuration_set: str | None,
    tags: Sequence[Mapping[str, str]],
    detail: dict[str, Any],
    origin: Origin,
    list_management: ListManagement | None = None,
) -> Submission:
    """No `destination`: the parts of a bulk send common to every destination. "The ReturnPath
    parameter is never overwritten. This email address must be either individually verified
    with Amazon SES, or from a domain that has been verified with Amazon SES." """
    source = checks.address(source)
    addresses(reply_to)
    checked_return_path = checks.address(return_path) if return_path else None
    recipients: tuple[str, ...] = ()
    if destination is not None:
        recipients = addresses(
            [*destination.get("ToAddresses", ()), *destination.get("CcAddresses", ()),
             *destination.get("BccAddresses", ())]
        )  # fmt: skip
        checks.recipient_count(len(recipients))
    return Submission(
        operation,
        source=source,
        senders=(source, *([checked_return_path] if checked_return_path else [])),
        recipients=recipients,
        return_path=checked_return_path or source,
        origin=origin,
        configuration_set=configuration_set,
        tags=checks.tags(tags),
        detail=detail,
        list_management=list_management,
    )


def text(content: Mapping[str, Any] | None) -> mime.Text | None:
    if content is None:
        return None
    return mime.Text(content["Data"], content.get("Charset") or "UTF-8")


def simple(
    fields: list[tuple[str, str]],
    body_text: mime.Text | None,
    body_html: mime.Text | None,
    limit: int = checks.MAX_MESSAGE_BYTES,
) -> Render:
    def render(message_id: str, when: datetime) -> bytes:
        raw = mime.simple(fields, body_text, body_html, message_id, when)
        checks.message_size(len(raw), limit)
        return raw

    return render


def attached(render: Render, files: Sequence[attachments.Attachment], limit: int) -> Render:
    """`render`'s message with `files` attached (API v2's `Attachments`), its size checked
    again with them."""
    if not files:
        return render

    def with_files(message_id: str, when: datetime) -> bytes:
        raw = attachments.attach(render(message_id, when), files)
        checks.message_size(len(raw), limit)
        return raw

    return with_files


def stored_template(
    sending: SendingConfiguration, region: str, name: str
) -> templates.TemplateParts:
    stored = sending.get(state.TEMPLATES, region, name)["Template"]
    return templates.check_template(stored)


def templated(
    parts: templates.TemplateParts,
    fields: list[tuple[str, str]],
    data: dict[str, Any],
    limit: int = checks.MAX_MESSAGE_BYTES,
) -> Render:
    """The message from the template; a missing variable raises `MissingAttribute`, which the
    sender stores as a rendering failure (SES sends nothing)."""

    def render(message_id: str, when: datetime) -> bytes:
        rendered = templates.render_mime(parts, data, when)
        raw = mime.templated(fields, rendered, message_id, when)
        checks.message_size(len(raw), limit)
        return raw

    return render
