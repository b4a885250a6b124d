"""A raw message sent as SendRawEmail sends it: the one path of the SendRawEmail operation and
the SMTP interface (`submission.py`), which SES runs as SendRawEmail too (its SMTP credentials
are allowed `ses:SendRawEmail`; DG, "Obtaining Amazon SES SMTP credentials").

What the caller gives besides the bytes are SendRawEmail's parameters: through SMTP the envelope
is `Source` (MAIL FROM) and `Destinations` (RCPT TO). The size limit is the caller's: 10 MB
after base64 for the API, 40 MB for SMTP (DG, "Service quotas in Amazon SES").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from inbound.errors import MessageRejected
from inbound.sending import checks, mime
from inbound.sending.list_management import ListManagement, from_header
from inbound.sending.origin import Origin
from inbound.sending.sender import Sender, Submission

SEND_RAW_EMAIL = "SendRawEmail"


async def send_raw(
    sender: Sender,
    region: str,
    raw: bytes,
    origin: Origin,
    *,
    source: str | None = None,
    destinations: Sequence[str] = (),
    configuration_set: str | None = None,
    tags: Sequence[Mapping[str, str]] = (),
    detail: Mapping[str, str] | None = None,
    operation: str = SEND_RAW_EMAIL,
    list_management: ListManagement | None = None,
) -> str:
    """Check, build and store `raw`; its MessageId once it is durable.

    Source: "If you specify the Source parameter and have feedback forwarding enabled, then
    bounces and complaints are sent to this email address. This takes precedence over any
    Return-Path header that you might include in the raw text of the message." Destinations
    replace the header recipients. ConfigurationSetName and Tags win over the X-SES headers:
    "If you specify message tags using both headers and API parameters, Amazon SES uses only
    the message tags provided by the API parameters." `operation` is the one traced (v2's
    SendEmail sends Raw content this way too).

    SendRawEmail, and so the SMTP interface, has no parameters for the contact list and the
    tenant: X-SES-LIST-MANAGEMENT-OPTIONS and X-SES-TENANT name them, with the effect of v2's
    ListManagementOptions and TenantName. v2's SendEmail has those parameters and reads only
    them ("The SES v2 SendEmail API does not read that header from raw MIME", AWS's Rails
    mailer, github.com/aws/aws-actionmailer-ses-ruby/pull/16). Both headers are removed from
    the message either way, as every X-SES-* header is."""
    found = mime.read_raw(raw)
    checks.single_headers(found.names)
    header_senders = tuple(map(checks.address, found.senders))
    header_recipients = tuple(map(checks.address, found.recipients))
    given = bool(source)
    if source:
        source = checks.address(source)
    elif header_senders:
        source = header_senders[0]
    else:
        raise MessageRejected("Missing required header 'From'.")  # UNCONFIRMED text
    recipients = tuple(map(checks.address, destinations)) if destinations else header_recipients
    checks.recipient_count(len(recipients))
    chosen = checks.tags(tags) if tags else checks.header_tags(found.tags or "")
    configuration_set = configuration_set or found.configuration_set
    detail = dict(detail or {})
    if operation == SEND_RAW_EMAIL:
        if found.list_management is not None:
            list_management = from_header(found.list_management)
        if found.tenant is not None:
            detail |= sender.tenant(
                region, found.tenant, source=source, configuration_set=configuration_set
            )
    submission = Submission(
        operation,
        source=source,
        senders=tuple(dict.fromkeys((source, *header_senders))),
        recipients=recipients,
        return_path=source if given else found.return_path or source,
        origin=origin,
        configuration_set=configuration_set,
        tags=chosen,
        detail=detail,
        list_management=list_management,
    )

    def render(message_id: str, when: datetime) -> bytes:
        return mime.prepare_raw(raw, message_id, when)

    return await sender.send(region, submission, render)
